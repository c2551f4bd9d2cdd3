{{ config(materialized='table') }}

-- Goods receipts against PO lines; accepted qty = received − rejected. One row per receipt_id: the surviving version.
with surviving as (
    {{ surviving_version(source('raw', 'goods_receipts'), ['receipt_id'], has_updated_at=true) }}
)

select
    receipt_id,
    po_id,
    po_line,
    site_id,
    received_qty,
    rejected_qty,
    received_at,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
