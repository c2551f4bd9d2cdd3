-- fulfillment_cost_per_order (kpis.md, kpi_daily): the day's labor cost plus the freight
-- of its non-cancelled shipments, over the orders first shipped that day, pairing
-- timesheets and shipments by site and date (work date = shipped date, <= as_of). An
-- order's first shipment is its non-cancelled shipment with the earliest shipped_at (then
-- the smallest shipment_id); the order (by order_id, known line or not) counts once, at
-- that shipment's site and shipped date. A record without a USD cost adds nothing to the
-- cost; its order still counts.
with shipments as (
    select * from {{ ref('fct_deliveries') }}
    where status <> 'cancelled'
),

first_shipments as (
    select
        shipments.*,
        row_number() over (partition by order_id order by shipped_at, shipment_id) as shipment_rank
    from shipments
),

orders as (
    select site_id, shipped_date as date, count(*) as orders
    from first_shipments
    where shipment_rank = 1 and shipped_date <= {{ as_of() }}
    group by site_id, shipped_date
),

freight as (
    select site_id, shipped_date as date, sum(freight_cost_usd) as cost_usd
    from shipments
    where shipped_date <= {{ as_of() }} and freight_cost_usd is not null
    group by site_id, shipped_date
),

labor as (
    select site_id, work_date as date, {{ exact_sum('labor_cost_usd') }} as cost_usd
    from {{ ref('fct_labor') }}
    where work_date <= {{ as_of() }} and labor_cost_usd is not null
    group by site_id, work_date
),

site_days as (
    select site_id, date from orders
    union
    select site_id, date from freight
    union
    select site_id, date from labor
)

select 'fulfillment_cost_per_order' as kpi,
       site_days.site_id,
       site_days.date,
       {{ kpi_number('coalesce(labor.cost_usd, 0)') }} + {{ kpi_number('coalesce(freight.cost_usd, 0)') }}
           as numerator,
       coalesce(orders.orders, 0) as denominator
from site_days
left join orders on orders.site_id = site_days.site_id and orders.date = site_days.date
left join freight on freight.site_id = site_days.site_id and freight.date = site_days.date
left join labor on labor.site_id = site_days.site_id and labor.date = site_days.date
