{{ config(materialized='incremental', unique_key=['invoice_id', 'invoice_line'],
          incremental_strategy='delete+insert', on_schema_change='fail') }}
{%- set incremental = opskpi_incremental() %}
-- depends_on: {{ ref('int_goods_receipts__localized') }}
-- depends_on: {{ ref('stg_erp__invoice_lines') }}

-- One row per invoice line (surviving version): USD amount, spend category, price
-- variance and three-way match as of as_of.
-- Incremental: the lines recomputed are those that changed, those in a currency with new
-- fx rates, and every line of a PO line whose PO line, receipts or invoice lines changed
-- or had a receipt/invoice dated between the previous and this as-of date.
{% if incremental %}
with touched_po_lines as (
    {{ opskpi_delta('purchase_order_lines', ['po_id', 'po_line']) }}
    union
    {{ opskpi_delta_versions('goods_receipts', ['receipt_id'], ['po_id', 'po_line']) }}
    union
    {{ opskpi_delta_versions('invoice_lines', ['invoice_id', 'invoice_line'], ['po_id', 'po_line']) }}
    union
    select po_id, po_line from {{ ref('int_goods_receipts__localized') }}
    where {{ opskpi_in_as_of_window('received_date') }}
    union
    select po_id, po_line from {{ ref('stg_erp__invoice_lines') }}
    where po_id is not null and {{ opskpi_in_as_of_window('invoice_date') }}
),

affected as (
    {{ opskpi_delta('invoice_lines', ['invoice_id', 'invoice_line']) }}
    union
    select invoice_id, invoice_line from {{ ref('stg_erp__invoice_lines') }}
    where (po_id, po_line) in (select po_id, po_line from touched_po_lines)
    union
    select invoices.invoice_id, invoices.invoice_line from {{ ref('stg_erp__invoice_lines') }} as invoices
    join ({{ opskpi_fx_delta() }}) as fx
        on fx.currency = invoices.currency and invoices.invoice_date >= fx.changed_from
)
{% endif %}

select
    invoice_id,
    invoice_line,
    vendor_id,
    site_id,
    category,
    po_id,
    po_line,
    has_known_po,
    invoice_date,
    due_date,
    paid_date,
    quantity,
    unit_price,
    amount,
    currency,
    amount_usd,
    po_unit_price,
    price_variance_usd,
    is_three_way_match,
    qty_invoiced as po_line_qty_invoiced,
    qty_accepted as po_line_qty_accepted,
    invoice_category,
    updated_at,
    source_file,
    source_row,
    '{{ invocation_id }}' as dbt_invocation_id
from {{ ref('int_invoice_lines__three_way_match') }}
{% if incremental %}
where (invoice_id, invoice_line) in (select invoice_id, invoice_line from affected)
{% endif %}
