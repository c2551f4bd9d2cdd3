-- Inventory KPIs per site and day (kpis.md, kpi_daily), dates <= as_of.
-- days_inventory_on_hand pairs two kinds of records by site and date like
-- units_per_labor_hour: the day's inventory value (fct_inventory_daily, the snapshot in
-- force) over the cost of goods of the non-cancelled shipments shipped that day; a day
-- with only one of them still has a row (the other side 0). It rolls up over days and
-- sites as Σ inventory value ÷ Σ cost of goods. A record without a USD amount (no fx
-- rate, no snapshot row for the shipment's sku) adds nothing to its side.
with inventory as (
    select site_id, date, inventory_value_usd
    from {{ ref('fct_inventory_daily') }}
    where date <= {{ as_of() }} and inventory_value_usd is not null
),

cost_of_goods as (
    select site_id, shipped_date as date, sum(cogs_usd) as cogs_usd
    from {{ ref('fct_deliveries') }}
    where status <> 'cancelled' and shipped_date <= {{ as_of() }} and cogs_usd is not null
    group by site_id, shipped_date
),

counts as (
    select * from {{ ref('fct_cycle_counts') }}
    where count_date <= {{ as_of() }}
)

select 'days_inventory_on_hand' as kpi,
       coalesce(inventory.site_id, cost_of_goods.site_id) as site_id,
       coalesce(inventory.date, cost_of_goods.date) as date,
       coalesce(inventory.inventory_value_usd, 0) as numerator,
       coalesce(cost_of_goods.cogs_usd, 0) as denominator
from inventory
full outer join cost_of_goods
    on cost_of_goods.site_id = inventory.site_id and cost_of_goods.date = inventory.date

union all
select 'inventory_record_accuracy', site_id, count_date,
       sum(case when is_accurate then 1 else 0 end), count(*)
from counts
group by site_id, count_date

union all
-- counts without an fx rate drop out of both sides (both come from the count)
select 'shrinkage_rate', site_id, count_date,
       sum(shrinkage_usd), sum(system_value_usd)
from counts
where system_value_usd is not null
group by site_id, count_date
