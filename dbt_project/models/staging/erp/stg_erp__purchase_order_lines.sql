{{ config(materialized='incremental', unique_key=['po_id', 'po_line'], incremental_strategy='delete+insert') }}

-- Purchase order lines. One row per po_id, po_line: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('purchase_order_lines', only_changed_keys=true) }}
)

select
    po_id,
    po_line,
    vendor_id,
    site_id,
    category,
    ordered_qty,
    unit_price,
    currency,
    ordered_at,
    expected_date,
    status,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
