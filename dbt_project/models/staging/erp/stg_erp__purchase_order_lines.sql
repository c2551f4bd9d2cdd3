{{ config(materialized='table') }}

-- Purchase order lines. One row per po_id, po_line: the surviving version.
with surviving as (
    {{ surviving_version(source('raw', 'purchase_order_lines'), ['po_id', 'po_line'], has_updated_at=true) }}
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
