{{ config(materialized='table') }}

-- Monthly budget per site and spend category. One row per site_id, category, month: the surviving version.
with surviving as (
    {{ surviving_version('budgets') }}
)

select
    site_id,
    category,
    month as month_start,
    budget_amount,
    currency,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
