{{ config(materialized='incremental', unique_key=['shipment_id'], incremental_strategy='delete+insert') }}

-- Shipments (WMS/TMS); an order line may ship in several shipments. One row per shipment_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version(
        source('raw', 'shipments'), ['shipment_id'], has_updated_at=true,
        where=opskpi_key_in_delta('shipments', ['shipment_id']) if opskpi_can_reuse_previous_build() else none) }}
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
