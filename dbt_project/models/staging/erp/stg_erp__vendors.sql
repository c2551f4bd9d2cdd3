{{ config(materialized='table') }}

-- Suppliers. One row per vendor_id: the surviving version.
with surviving as (
    {{ surviving_version('vendors') }}
)

select
    vendor_id,
    vendor_name,
    category,
    country,
    payment_terms_days,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
