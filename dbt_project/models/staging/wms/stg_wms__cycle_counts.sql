{{ config(materialized='incremental', unique_key=['count_id'], incremental_strategy='delete+insert') }}

-- Counts of one SKU at one site. One row per count_id: the surviving version (greatest
-- updated_at, nulls oldest, then file path, then row number).
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version(
        source('raw', 'cycle_counts'), ['count_id'], has_updated_at=true,
        where=opskpi_key_in_delta('cycle_counts', ['count_id']) if opskpi_can_reuse_previous_build() else none) }}
)

select
    count_id,
    site_id,
    sku,
    counted_at,
    system_qty,
    counted_qty,
    unit_cost,
    currency,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
