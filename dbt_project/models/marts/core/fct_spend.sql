-- One row per invoice line (surviving version): USD amount, spend category, price
-- variance and three-way match as of as_of.
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
    source_row
from {{ ref('int_invoice_lines__three_way_match') }}
