{{ config(materialized='incremental', unique_key=['order_id', 'line_number'],
          incremental_strategy='delete+insert', on_schema_change='fail') }}
{%- set incremental = opskpi_incremental() %}
-- depends_on: {{ ref('fct_deliveries') }}
-- depends_on: {{ ref('int_returns__localized') }}

-- One row per order line (surviving version), with its fulfilment as of as_of.
-- Incremental: the lines recomputed are those that changed, those any changed shipment
-- points (or pointed) at, and those with a shipment delivered between the previous and
-- this as-of date; for is_perfect_order also those any changed return points (or pointed)
-- at and those with a return requested between the previous and this as-of date.
with
{% if incremental %}
affected as (
    {{ opskpi_delta('order_lines', ['order_id', 'line_number']) }}
    union
    {{ opskpi_delta_versions('shipments', ['shipment_id'], ['order_id', 'line_number']) }}
    union
    select order_id, line_number from {{ ref('fct_deliveries') }}
    where {{ opskpi_in_as_of_window('delivered_date') }}
    union
    {{ opskpi_delta_versions('returns', ['return_id'], ['order_id', 'line_number']) }}
    union
    select order_id, line_number from {{ ref('int_returns__localized') }}
    where {{ opskpi_in_as_of_window('requested_date') }}
),
{% endif %}

sites as (
    select site_id, timezone from {{ ref('stg_ref__sites') }}
),

fulfilment as (
    select * from {{ ref('int_order_lines__fulfilment') }}
)

select
    order_lines.order_id,
    order_lines.line_number,
    order_lines.site_id,
    order_lines.customer_id,
    order_lines.sku,
    order_lines.priority,
    order_lines.order_placed_at,
    {{ local_date('order_lines.order_placed_at', "coalesce(sites.timezone, 'UTC')") }} as order_placed_date,
    order_lines.ordered_qty,
    order_lines.requested_delivery_date as due_date,
    order_lines.status,
    coalesce(fulfilment.qty_delivered_on_time, 0) as qty_delivered_on_time,
    coalesce(fulfilment.qty_delivered, 0) as qty_delivered,
    coalesce(fulfilment.qty_delivered_on_time, 0) >= order_lines.ordered_qty as is_otif,
    coalesce(fulfilment.qty_delivered, 0) >= order_lines.ordered_qty as is_in_full,
    -- perfect: OTIF, no delivered shipment with damage, no quality return requested by as_of
    coalesce(fulfilment.qty_delivered_on_time, 0) >= order_lines.ordered_qty
        and coalesce(perfect.damaged_deliveries, 0) = 0
        and coalesce(perfect.quality_returns, 0) = 0 as is_perfect_order,
    order_lines.updated_at,
    order_lines.source_file,
    order_lines.source_row,
    '{{ invocation_id }}' as dbt_invocation_id
from {{ ref('stg_erp__order_lines') }} as order_lines
left join sites on sites.site_id = order_lines.site_id
left join fulfilment
    on fulfilment.order_id = order_lines.order_id
    and fulfilment.line_number = order_lines.line_number
left join {{ ref('int_order_lines__perfect_order') }} as perfect
    on perfect.order_id = order_lines.order_id
    and perfect.line_number = order_lines.line_number
{% if incremental %}
where (order_lines.order_id, order_lines.line_number) in (select order_id, line_number from affected)
{% endif %}
