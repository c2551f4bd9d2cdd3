{{ config(materialized='table') }}

-- Hourly pay rates, effective-dated. One row per employee_id, effective_from: the surviving version.
with surviving as (
    {{ surviving_version('pay_rates') }}
)

select
    employee_id,
    effective_from,
    hourly_rate,
    currency,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
