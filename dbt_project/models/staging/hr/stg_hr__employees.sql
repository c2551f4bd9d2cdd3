{{ config(materialized='table') }}

-- Employees (home_site_id does not set the time zone of their timestamps). One row per employee_id: the surviving version.
with surviving as (
    {{ surviving_version('employees') }}
)

select
    employee_id,
    home_site_id,
    role,
    employment_type,
    hire_date,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
