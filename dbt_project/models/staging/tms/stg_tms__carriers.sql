{{ config(materialized='table') }}

-- Carriers with their contracted on-time target. One row per carrier_id: the surviving version.
with surviving as (
    {{ surviving_version('carriers') }}
)

select
    carrier_id,
    carrier_name,
    mode,
    on_time_target,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
