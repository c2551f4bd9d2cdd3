-- Per order line, what stands between OTIF and a perfect order as of the as-of date: its
-- delivered shipments (status delivered, delivered date ≤ as_of) with damaged units, and
-- its quality returns (counted, reason damaged / defective / wrong_item) requested on or
-- before as_of. Lines with neither have no row.
with damaged as (
    select order_id, line_number, count(*) as damaged_deliveries
    from {{ ref('int_shipments__localized') }}
    where status = 'delivered'
      and delivered_date <= {{ as_of() }}
      and damaged_qty > 0
    group by order_id, line_number
),

quality_returns as (
    select order_id, line_number, count(*) as quality_returns
    from {{ ref('int_returns__localized') }}
    where is_quality_return
      and requested_date <= {{ as_of() }}
    group by order_id, line_number
)

select
    coalesce(damaged.order_id, quality_returns.order_id) as order_id,
    coalesce(damaged.line_number, quality_returns.line_number) as line_number,
    coalesce(damaged.damaged_deliveries, 0) as damaged_deliveries,
    coalesce(quality_returns.quality_returns, 0) as quality_returns
from damaged
full outer join quality_returns
    on quality_returns.order_id = damaged.order_id
    and quality_returns.line_number = damaged.line_number
