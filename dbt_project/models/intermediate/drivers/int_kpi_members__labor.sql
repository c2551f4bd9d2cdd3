-- Labor KPIs per site, day and member of each driver dimension (docs/drivers.md): the
-- records and sides of int_kpi_daily__labor, __productivity and __fulfillment_cost.
-- Timesheet KPIs split by activity and employee. The cross-domain ratios pair two kinds
-- of records, so only one side splits by member ('split'): the other side is one member
-- of its own, named after it ('units shipped', 'orders shipped'); the dimension
-- `component` has one member per side (and per cost: labor, freight).
with labor as (
    select * from {{ ref('fct_labor') }}
    where work_date <= {{ as_of() }}
),

labor_costed as (
    select * from labor where labor_cost_usd is not null
),

shipments as (
    select * from {{ ref('fct_deliveries') }}
    where status <> 'cancelled'
),

shipped as (
    select * from shipments where shipped_date <= {{ as_of() }}
),

shipped_with_freight as (
    select * from shipped where freight_cost_usd is not null
),

-- an order counts once, at its first non-cancelled shipment (int_kpi_daily__fulfillment_cost)
first_shipments as (
    select
        shipments.*,
        row_number() over (partition by order_id order by shipped_at, shipment_id) as shipment_rank
    from shipments
),

orders_first_shipped as (
    select * from first_shipments
    where shipment_rank = 1 and shipped_date <= {{ as_of() }}
),

{%- set people = {'activity': 'activity', 'employee': 'employee_id'} %}

members as (
    {{ kpi_members('labor_hours', 'labor', 'work_date',
                   exact_sum('hours_worked'), 'null', people, 'total') }}
    union all
    {{ kpi_members('overtime_rate', 'labor', 'work_date',
                   exact_sum('overtime_hours'), exact_sum('hours_worked'), people) }}
    union all
    {{ kpi_members('labor_cost_usd', 'labor_costed', 'work_date',
                   exact_sum('labor_cost_usd'), 'null', people, 'total') }}
    union all
    -- units per labor hour: units shipped over the hours of each activity
    {{ kpi_members('units_per_labor_hour', 'shipped', 'shipped_date', 'sum(shipped_qty)', '0',
                   {'component': "'units shipped'", 'activity': "'units shipped'"}, 'split') }}
    union all
    {{ kpi_members('units_per_labor_hour', 'labor', 'work_date', '0', exact_sum('hours_worked'),
                   {'component': "'hours worked'", 'activity': 'activity'}, 'split') }}
    union all
    -- labor cost per unit: the cost of each activity over the units shipped
    {{ kpi_members('labor_cost_per_unit', 'labor_costed', 'work_date', exact_sum('labor_cost_usd'), '0',
                   {'component': "'labor cost'", 'activity': 'activity'}, 'split') }}
    union all
    {{ kpi_members('labor_cost_per_unit', 'shipped', 'shipped_date', '0', 'sum(shipped_qty)',
                   {'component': "'units shipped'", 'activity': "'units shipped'"}, 'split') }}
    union all
    -- fulfillment cost per order: labor cost, freight cost, orders
    {{ kpi_members('fulfillment_cost_per_order', 'labor_costed', 'work_date', exact_sum('labor_cost_usd'), '0',
                   {'component': "'labor cost'"}, 'split') }}
    union all
    {{ kpi_members('fulfillment_cost_per_order', 'shipped_with_freight', 'shipped_date',
                   'sum(freight_cost_usd)', '0', {'component': "'freight cost'"}, 'split') }}
    union all
    {{ kpi_members('fulfillment_cost_per_order', 'orders_first_shipped', 'shipped_date', '0', 'count(*)',
                   {'component': "'orders shipped'"}, 'split') }}
)

select * from members
