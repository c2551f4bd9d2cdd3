{{ config(materialized='incremental', unique_key=['shipment_id'], incremental_strategy='delete+insert') }}

-- Shipments (WMS/TMS); an order line may ship in several shipments. One row per shipment_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('shipments', only_changed_keys=true) }}
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
