{{ config(materialized='incremental', unique_key=['count_id'], incremental_strategy='delete+insert') }}

-- Counts of one SKU at one site. One row per count_id: the surviving version (greatest
-- updated_at, nulls oldest, then file path, then row number).
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('cycle_counts', only_changed_keys=true) }}
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
