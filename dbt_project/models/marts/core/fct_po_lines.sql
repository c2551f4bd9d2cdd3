-- One row per PO line (surviving version): accepted quantities as of as_of and supplier OTIF.
select
    po.po_id,
    po.po_line,
    po.vendor_id,
    po.site_id,
    po.category,
    po.ordered_qty,
    po.unit_price,
    po.currency,
    po.ordered_at,
    po.expected_date,
    po.status,
    coalesce(receipts.qty_accepted_by_expected, 0) as qty_accepted_by_expected,
    coalesce(receipts.qty_accepted, 0) as qty_accepted,
    coalesce(receipts.qty_accepted_by_expected, 0) >= po.ordered_qty as is_otif,
    po.updated_at,
    po.source_file,
    po.source_row
from {{ ref('stg_erp__purchase_order_lines') }} as po
left join {{ ref('int_po_lines__receipts') }} as receipts
    on receipts.po_id = po.po_id and receipts.po_line = po.po_line
