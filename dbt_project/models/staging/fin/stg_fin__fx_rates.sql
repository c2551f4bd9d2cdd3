{{ config(materialized='table') }}

-- USD per unit of a currency on a date (USD is always 1 and needs no rows). One row per rate_date, currency: the surviving version.
with surviving as (
    {{ surviving_version('fx_rates') }}
)

select
    rate_date,
    currency,
    usd_per_unit,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
