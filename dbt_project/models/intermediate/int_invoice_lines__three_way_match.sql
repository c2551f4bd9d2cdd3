-- Invoice lines matched to their PO line and receipts: USD amount (at invoice_date),
-- spend category, price variance and the three-way match of kpis.md (fct_spend).
with invoices as (
    select * from {{ ref('stg_erp__invoice_lines') }}
),

-- a known PO line exists among the PO lines and is not cancelled
known_po_lines as (
    select po_id, po_line, category, unit_price, currency
    from {{ ref('stg_erp__purchase_order_lines') }}
    where status <> 'cancelled'
),

-- quantity invoiced per PO line: all its invoice lines dated <= as_of, whatever their
-- currency, credit notes counting negative
invoiced as (
    select po_id, po_line, sum(quantity) as qty_invoiced
    from invoices
    where po_id is not null and invoice_date <= {{ as_of() }}
    group by po_id, po_line
),

matched as (
    select
        invoices.*,
        po.po_id is not null as has_known_po,
        po.category as po_category,
        po.unit_price as po_unit_price,
        po.currency as po_currency,
        invoiced.qty_invoiced,
        coalesce(receipts.qty_accepted, 0) as qty_accepted,
        {{ usd_rate('fx', 'invoices.currency') }} as usd_per_unit
    from invoices
    left join known_po_lines as po
        on po.po_id = invoices.po_id and po.po_line = invoices.po_line
    left join invoiced
        on invoiced.po_id = invoices.po_id and invoiced.po_line = invoices.po_line
    left join {{ ref('int_po_lines__receipts') }} as receipts
        on receipts.po_id = invoices.po_id and receipts.po_line = invoices.po_line
    left join {{ ref('int_fx_rates__ranges') }} as fx
        on {{ fx_join_condition('fx', 'invoices.currency', 'invoices.invoice_date') }}
)

select
    invoice_id,
    invoice_line,
    vendor_id,
    site_id,
    coalesce(po_category, category, 'uncategorized') as category,
    category as invoice_category,
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
    {{ exact_product('amount', 'usd_per_unit') }} as amount_usd,
    po_unit_price,
    po_currency,
    case when has_known_po and currency = po_currency
        then {{ exact_product(exact_product('unit_price - po_unit_price', 'quantity'), 'usd_per_unit') }}
    end as price_variance_usd,
    qty_invoiced,
    qty_accepted,
    case
        when po_id is null then null
        when not has_known_po then false
        when currency <> po_currency then false
        when abs(unit_price - po_unit_price)
            > cast({{ var('price_match_tolerance') }} as decimal(38, 10)) * po_unit_price then false
        when qty_invoiced > qty_accepted then false
        else true
    end as is_three_way_match,
    source_file,
    source_row,
    updated_at
from matched
