-- Per order line, the quantity delivered (shipped − damaged) by its delivered shipments
-- as of the as-of date, and the part of it delivered by the due date.
-- A delivered shipment: status 'delivered' and delivered date <= as_of.
with delivered as (
    select order_id, line_number, delivered_qty, delivered_date, due_date
    from {{ ref('int_shipments__localized') }}
    where status = 'delivered'
      and delivered_date <= {{ as_of() }}
)

select
    order_id,
    line_number,
    sum(delivered_qty) as qty_delivered,
    sum(case when delivered_date <= due_date then delivered_qty else 0 end) as qty_delivered_on_time
from delivered
group by order_id, line_number
