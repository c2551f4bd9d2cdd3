-- One row per timesheet entry (surviving version): hours, overtime split and cost.
select
    entry_id,
    employee_id,
    site_id,
    work_date,
    week_start,
    activity,
    clock_in,
    clock_out,
    break_minutes,
    hours_worked,
    regular_hours,
    overtime_hours,
    hourly_rate,
    rate_currency,
    labor_cost_usd,
    updated_at,
    source_file,
    source_row
from {{ ref('int_timesheets__costed') }}
