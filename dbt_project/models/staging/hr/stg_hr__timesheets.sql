{{ config(materialized='incremental', unique_key=['entry_id'], incremental_strategy='delete+insert') }}

-- Timesheet entries: one row per worked shift or segment. One row per entry_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('timesheets', only_changed_keys=true) }}
)

select
    entry_id,
    employee_id,
    site_id,
    clock_in,
    clock_out,
    break_minutes,
    activity,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
