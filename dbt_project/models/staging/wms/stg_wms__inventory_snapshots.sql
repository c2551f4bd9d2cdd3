{{ config(materialized='incremental', unique_key=['site_id', 'sku', 'snapshot_date'], incremental_strategy='delete+insert') }}

-- WMS end-of-day balances. One row per site_id, sku, snapshot_date: the surviving version
-- (no updated_at: the greatest file path, then row number).
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('inventory_snapshots', only_changed_keys=true) }}
)

select
    site_id,
    sku,
    snapshot_date,
    on_hand_qty,
    unit_cost,
    currency,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
