{{ config(materialized='table') }}

-- Shipments (WMS/TMS); an order line may ship in several shipments. One row per shipment_id: the surviving version.
with surviving as (
    {{ surviving_version(source('raw', 'shipments'), ['shipment_id'], has_updated_at=true) }}
)

select
    shipment_id,
    order_id,
    line_number,
    site_id,
    carrier_id,
    shipped_qty,
    shipped_at,
    delivered_at,
    damaged_qty,
    freight_cost,
    currency,
    status,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
