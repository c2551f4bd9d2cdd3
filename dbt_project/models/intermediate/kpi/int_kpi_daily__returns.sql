-- Returns and perfect-order KPIs per site and day (kpis.md, kpi_daily), dates <= as_of.
-- return_rate pairs counted returns (by requested date, at the return's site) with
-- delivered shipments (by delivered date, at the shipment's site), so a day with only one
-- of them still has a row (the other side 0).
with returns as (
    select * from {{ ref('fct_returns') }}
    where is_counted
),

returned as (
    select site_id, requested_date as date, sum(returned_qty) as returned_qty
    from returns
    where requested_date <= {{ as_of() }}
    group by site_id, requested_date
),

delivered as (
    select site_id, delivered_date as date, sum(shipped_qty - damaged_qty) as delivered_qty
    from {{ ref('fct_deliveries') }}
    where is_delivered
    group by site_id, delivered_date
)

select 'return_rate' as kpi,
       coalesce(returned.site_id, delivered.site_id) as site_id,
       coalesce(returned.date, delivered.date) as date,
       coalesce(returned.returned_qty, 0) as numerator,
       coalesce(delivered.delivered_qty, 0) as denominator
from returned
full outer join delivered on delivered.site_id = returned.site_id and delivered.date = returned.date

union all
select 'refund_cycle_days', site_id, refunded_date,
       {{ exact_sum('refund_cycle_days') }}, count(*)
from returns
where refunded_date <= {{ as_of() }}
group by site_id, refunded_date

union all
select 'perfect_order_rate', site_id, due_date,
       sum(case when is_perfect_order then 1 else 0 end), count(*)
from {{ ref('fct_order_lines') }}
where status <> 'cancelled' and due_date <= {{ as_of() }}
group by site_id, due_date
