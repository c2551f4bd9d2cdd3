-- Per PO line, the accepted quantity received as of the as-of date, in total and by the
-- vendor's expected date.
select
    receipts.po_id,
    receipts.po_line,
    sum(receipts.accepted_qty) as qty_accepted,
    sum(case when receipts.received_date <= po.expected_date then receipts.accepted_qty else 0 end)
        as qty_accepted_by_expected
from {{ ref('int_goods_receipts__localized') }} as receipts
left join {{ ref('stg_erp__purchase_order_lines') }} as po
    on po.po_id = receipts.po_id and po.po_line = receipts.po_line
where receipts.received_date <= {{ as_of() }}
group by receipts.po_id, receipts.po_line
