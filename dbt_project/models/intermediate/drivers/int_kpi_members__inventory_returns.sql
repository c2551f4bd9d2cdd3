-- Inventory, returns and perfect-order KPIs per site, day and member of each driver
-- dimension (docs/drivers.md): the records and sides of int_kpi_daily__inventory and
-- int_kpi_daily__returns (perfect orders are split with the order lines, in
-- int_kpi_members__deliveries). Cycle counts split by SKU; returns by reason and SKU;
-- return_rate pairs returns with deliveries, so by reason only its numerator splits
-- ('split': the units delivered are one member), while both sides have a SKU ('share').
with inventory as (
    select * from {{ ref('fct_inventory_daily') }}
    where date <= {{ as_of() }} and inventory_value_usd is not null
),

cost_of_goods as (
    select * from {{ ref('fct_deliveries') }}
    where status <> 'cancelled' and shipped_date <= {{ as_of() }} and cogs_usd is not null
),

counts as (
    select * from {{ ref('fct_cycle_counts') }}
    where count_date <= {{ as_of() }}
),

counts_valued as (
    select * from counts where system_value_usd is not null
),

counted_returns as (
    select * from {{ ref('fct_returns') }}
    where is_counted
),

returns_requested as (
    select * from counted_returns where requested_date <= {{ as_of() }}
),

returns_refunded as (
    select * from counted_returns where refunded_date <= {{ as_of() }}
),

delivered as (
    select * from {{ ref('fct_deliveries') }}
    where is_delivered
),

members as (
    {{ kpi_members('days_inventory_on_hand', 'inventory', 'date', 'sum(inventory_value_usd)', '0',
                   {'component': "'inventory value'"}, 'split') }}
    union all
    {{ kpi_members('days_inventory_on_hand', 'cost_of_goods', 'shipped_date', '0', 'sum(cogs_usd)',
                   {'component': "'cost of goods shipped'"}, 'split') }}
    union all
    {{ kpi_members('inventory_record_accuracy', 'counts', 'count_date',
                   'sum(case when is_accurate then 1 else 0 end)', 'count(*)', {'sku': 'sku'}) }}
    union all
    {{ kpi_members('shrinkage_rate', 'counts_valued', 'count_date',
                   'sum(shrinkage_usd)', 'sum(system_value_usd)', {'sku': 'sku'}) }}
    union all
    {{ kpi_members('return_rate', 'returns_requested', 'requested_date', 'sum(returned_qty)', '0',
                   {'component': "'units returned'", 'reason': 'reason'}, 'split') }}
    union all
    {{ kpi_members('return_rate', 'delivered', 'delivered_date', '0', 'sum(shipped_qty - damaged_qty)',
                   {'component': "'units delivered'", 'reason': "'units delivered'"}, 'split') }}
    union all
    {{ kpi_members('return_rate', 'returns_requested', 'requested_date', 'sum(returned_qty)', '0',
                   {'sku': 'sku'}) }}
    union all
    {{ kpi_members('return_rate', 'delivered', 'delivered_date', '0', 'sum(shipped_qty - damaged_qty)',
                   {'sku': 'sku'}) }}
    union all
    {{ kpi_members('refund_cycle_days', 'returns_refunded', 'refunded_date',
                   exact_sum('refund_cycle_days'), 'count(*)', {'reason': 'reason', 'sku': 'sku'}) }}
)

select * from members
