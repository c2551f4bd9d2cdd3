{{ config(materialized='table') }}

-- Sites (warehouses, DCs) and their IANA time zone. One row per site_id: the surviving version.
with surviving as (
    {{ surviving_version('sites') }}
)

select
    site_id,
    site_name,
    region,
    country,
    timezone,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
