{{ config(materialized='incremental', unique_key=['receipt_id'], incremental_strategy='delete+insert') }}

-- Goods receipts against PO lines; accepted qty = received − rejected. One row per receipt_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('goods_receipts', only_changed_keys=true) }}
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
