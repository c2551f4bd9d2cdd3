-- Daily delivery KPIs per site (kpis.md, kpi_daily): numerator and denominator of each.
-- Only records dated <= as_of count; a (kpi, site, date) row exists when a record
-- contributes to its numerator or denominator.
with deliveries as (
    select * from {{ ref('fct_deliveries') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
)

select 'on_time_delivery_rate' as kpi, site_id, delivered_date as date,
       sum(case when is_on_time then 1 else 0 end) as numerator,
       count(*) as denominator
from deliveries
where is_delivered and due_date is not null
group by site_id, delivered_date

union all
select 'avg_lead_time_days', site_id, delivered_date,
       {{ exact_sum('lead_time_days') }}, count(*)
from deliveries
where is_delivered and has_known_order_line
group by site_id, delivered_date

union all
select 'damage_rate', site_id, delivered_date,
       sum(damaged_qty), sum(shipped_qty)
from deliveries
where is_delivered
group by site_id, delivered_date

union all
-- shipments with no fx rate drop out of both sides
select 'freight_cost_per_unit', site_id, shipped_date,
       sum(freight_cost_usd), sum(shipped_qty)
from deliveries
where status <> 'cancelled' and shipped_date <= {{ as_of() }} and freight_cost_usd is not null
group by site_id, shipped_date

union all
select 'otif_rate', site_id, due_date,
       sum(case when is_otif then 1 else 0 end), count(*)
from order_lines
where status <> 'cancelled' and due_date <= {{ as_of() }}
group by site_id, due_date

union all
select 'in_full_rate', site_id, due_date,
       sum(case when is_in_full then 1 else 0 end), count(*)
from order_lines
where status <> 'cancelled' and due_date <= {{ as_of() }}
group by site_id, due_date
