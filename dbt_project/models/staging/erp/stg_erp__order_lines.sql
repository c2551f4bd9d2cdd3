{{ config(materialized='incremental', unique_key=['order_id', 'line_number'], incremental_strategy='delete+insert') }}

-- Customer order lines (ERP/OMS). One row per order_id, line_number: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('order_lines', only_changed_keys=true) }}
)

select
    order_id,
    line_number,
    site_id,
    customer_id,
    sku,
    ordered_qty,
    order_placed_at,
    requested_delivery_date,
    priority,
    status,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
