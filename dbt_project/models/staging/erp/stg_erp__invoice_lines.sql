{{ config(materialized='incremental', unique_key=['invoice_id', 'invoice_line'], incremental_strategy='delete+insert') }}

-- Vendor invoice lines (credit notes have a negative quantity). One row per invoice_id, invoice_line: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('invoice_lines', only_changed_keys=true) }}
)

select
    invoice_id,
    invoice_line,
    vendor_id,
    site_id,
    po_id,
    po_line,
    category,
    quantity,
    unit_price,
    amount,
    currency,
    invoice_date,
    due_date,
    paid_date,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
