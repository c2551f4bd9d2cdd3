-- Cost of goods shipped per shipment (kpis.md, fct_deliveries.cogs_usd): shipped_qty ×
-- unit_cost of the latest inventory_snapshots row of (the shipment's site, the order
-- line's sku) with snapshot_date ≤ the shipped date - that SKU's own latest row, even
-- when a later snapshot of the site no longer lists it, and whatever the as-of date -
-- converted at the shipped date. Shipments without a sku or without such a row have no
-- row here; without an fx rate, cogs_usd is null.
with shipments as (
    select shipment_id, site_id, sku, shipped_qty, shipped_date
    from {{ ref('int_shipments__localized') }}
    where sku is not null
),

-- each (site, sku) cost is valid from its snapshot_date until the next snapshot of that
-- same sku at that site (exclusive; open-ended for the latest)
cost_ranges as (
    select
        site_id,
        sku,
        snapshot_date as valid_from,
        lead(snapshot_date) over (partition by site_id, sku order by snapshot_date) as valid_to,
        unit_cost,
        currency
    from {{ ref('stg_wms__inventory_snapshots') }}
),

costed as (
    select
        shipments.shipment_id,
        shipments.shipped_qty,
        shipments.shipped_date,
        cost_ranges.valid_from as cost_snapshot_date,
        cost_ranges.unit_cost,
        cost_ranges.currency
    from shipments
    join cost_ranges
        on cost_ranges.site_id = shipments.site_id
        and cost_ranges.sku = shipments.sku
        and shipments.shipped_date >= cost_ranges.valid_from
        and (shipments.shipped_date < cost_ranges.valid_to or cost_ranges.valid_to is null)
)

select
    costed.shipment_id,
    costed.shipped_date,
    costed.cost_snapshot_date,
    costed.unit_cost,
    costed.currency as cost_currency,
    cast(cast(costed.shipped_qty * costed.unit_cost as decimal(38, 10))
         * {{ usd_rate('fx', 'costed.currency') }} as decimal(38, 10)) as cogs_usd
from costed
left join {{ ref('int_fx_rates__ranges') }} as fx
    on {{ fx_join_condition('fx', 'costed.currency', 'costed.shipped_date') }}
