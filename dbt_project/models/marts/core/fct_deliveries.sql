{{ config(materialized='incremental', unique_key='shipment_id', incremental_strategy='delete+insert',
          on_schema_change='fail') }}
{%- set incremental = opskpi_incremental() %}
-- depends_on: {{ ref('stg_wms__shipments') }}
-- depends_on: {{ ref('int_shipments__localized') }}

-- One row per shipment (surviving version), with the as-of flags of kpis.md.
-- Incremental: see macros/incremental.sql; the rows recomputed are those of the shipments
-- that changed, whose order line changed, whose currency got new fx rates, or that were
-- delivered between the previous and this as-of date, and - for the cost of goods - those
-- with a new or restated snapshot row of their site and sku dated on or before their
-- shipped date, or whose cost currency got new fx rates.
{% if incremental %}
with affected as (
    {{ opskpi_delta('shipments', ['shipment_id']) }}
    union
    select shipment_id from {{ ref('stg_wms__shipments') }}
    where (order_id, line_number) in ({{ opskpi_delta('order_lines', ['order_id', 'line_number']) }})
    union
    select previous.shipment_id from {{ this }} as previous
    join ({{ opskpi_fx_delta() }}) as fx
        on fx.currency = previous.currency and previous.shipped_date >= fx.changed_from
    union
    select shipment_id from {{ this }} where {{ opskpi_in_as_of_window('delivered_date') }}
    union
    select shipments.shipment_id from {{ ref('int_shipments__localized') }} as shipments
    join ({{ opskpi_delta('inventory_snapshots', ['site_id', 'sku', 'snapshot_date']) }}) as snapshots
        on snapshots.site_id = shipments.site_id and snapshots.sku = shipments.sku
        and shipments.shipped_date >= snapshots.snapshot_date
    union
    select cogs.shipment_id from {{ ref('int_shipments__cost_of_goods') }} as cogs
    join ({{ opskpi_fx_delta() }}) as fx
        on fx.currency = cogs.cost_currency and cogs.shipped_date >= fx.changed_from
)
{% endif %}

select
    shipment_id,
    order_id,
    line_number,
    site_id,
    carrier_id,
    status,
    shipped_qty,
    damaged_qty,
    delivered_qty,
    shipped_at,
    delivered_at,
    shipped_date,
    delivered_date,
    due_date,
    order_placed_at,
    has_known_order_line,
    -- delivered as of as_of: status delivered and delivered date <= as_of
    (status = 'delivered' and delivered_date <= {{ as_of() }}) as is_delivered,
    case
        when status = 'delivered' and delivered_date <= {{ as_of() }} and due_date is not null
            then delivered_date <= due_date
    end as is_on_time,
    lead_time_days,
    freight_cost,
    currency,
    freight_cost_usd,
    shipments.sku,
    cogs.cogs_usd,
    updated_at,
    source_file,
    source_row,
    '{{ invocation_id }}' as dbt_invocation_id
from {{ ref('int_shipments__localized') }} as shipments
left join (select shipment_id, cogs_usd from {{ ref('int_shipments__cost_of_goods') }}) as cogs
    using (shipment_id)
{% if incremental %}
where shipment_id in (select shipment_id from affected)
{% endif %}
