-- Delivery and order-line KPIs per site, day and member of each driver dimension
-- (docs/drivers.md): the records and sides of int_kpi_daily__deliveries (and the perfect
-- orders of int_kpi_daily__returns), split by carrier, customer, SKU and priority.
-- A shipment takes the customer and priority of its order line ('(none)' when unknown).
with deliveries as (
    select * from {{ ref('fct_deliveries') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

shipments as (
    select
        deliveries.*,
        order_lines.customer_id,
        order_lines.priority
    from deliveries
    left join order_lines
        on order_lines.order_id = deliveries.order_id
        and order_lines.line_number = deliveries.line_number
),

delivered_with_due_date as (
    select * from shipments where is_delivered and due_date is not null
),

delivered_with_order_line as (
    select * from shipments where is_delivered and has_known_order_line
),

delivered as (
    select * from shipments where is_delivered
),

shipped_with_freight as (
    select * from shipments
    where status <> 'cancelled' and shipped_date <= {{ as_of() }} and freight_cost_usd is not null
),

lines_due as (
    select * from order_lines where status <> 'cancelled' and due_date <= {{ as_of() }}
),

{%- set shipment_dimensions = {'carrier': 'carrier_id', 'customer': 'customer_id', 'sku': 'sku', 'priority': 'priority'} %}
{%- set line_dimensions = {'customer': 'customer_id', 'sku': 'sku', 'priority': 'priority'} %}

members as (
    {{ kpi_members('on_time_delivery_rate', 'delivered_with_due_date', 'delivered_date',
                   'sum(case when is_on_time then 1 else 0 end)', 'count(*)', shipment_dimensions) }}
    union all
    {{ kpi_members('avg_lead_time_days', 'delivered_with_order_line', 'delivered_date',
                   exact_sum('lead_time_days'), 'count(*)', shipment_dimensions) }}
    union all
    {{ kpi_members('damage_rate', 'delivered', 'delivered_date',
                   'sum(damaged_qty)', 'sum(shipped_qty)', shipment_dimensions) }}
    union all
    {{ kpi_members('freight_cost_per_unit', 'shipped_with_freight', 'shipped_date',
                   'sum(freight_cost_usd)', 'sum(shipped_qty)', shipment_dimensions) }}
    union all
    {{ kpi_members('otif_rate', 'lines_due', 'due_date',
                   'sum(case when is_otif then 1 else 0 end)', 'count(*)', line_dimensions) }}
    union all
    {{ kpi_members('in_full_rate', 'lines_due', 'due_date',
                   'sum(case when is_in_full then 1 else 0 end)', 'count(*)', line_dimensions) }}
    union all
    {{ kpi_members('perfect_order_rate', 'lines_due', 'due_date',
                   'sum(case when is_perfect_order then 1 else 0 end)', 'count(*)', line_dimensions) }}
)

select * from members
