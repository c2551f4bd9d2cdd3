-- Hours per timesheet entry and their split into regular and overtime hours.
-- Overtime is per employee per ISO week of the work date, across all sites: entries in
-- clock_in order (then entry_id); an entry's overtime = max(0, cumulative hours after it
-- − max(threshold, cumulative hours before it)). Computed in seconds, exactly.
with entries as (
    select
        timesheets.*,
        {{ local_date('timesheets.clock_in', "coalesce(sites.timezone, 'UTC')") }} as work_date,
        {{ epoch_seconds('timesheets.clock_out') }} - {{ epoch_seconds('timesheets.clock_in') }}
            - timesheets.break_minutes * 60 as worked_seconds
    from {{ ref('stg_hr__timesheets') }} as timesheets
    left join {{ ref('stg_ref__sites') }} as sites on sites.site_id = timesheets.site_id
),

cumulative as (
    select
        entries.*,
        {{ week_start('work_date') }} as week_start,
        sum(worked_seconds) over (
            partition by employee_id, {{ week_start('work_date') }}
            order by clock_in, entry_id
            rows between unbounded preceding and current row
        ) as seconds_after
    from entries
),

allocated as (
    select
        cumulative.*,
        greatest(
            0,
            seconds_after - greatest({{ var('overtime_weekly_threshold_hours') }} * 3600,
                                     seconds_after - worked_seconds)
        ) as overtime_seconds
    from cumulative
)

select
    entry_id,
    employee_id,
    site_id,
    clock_in,
    clock_out,
    break_minutes,
    activity,
    work_date,
    week_start,
    worked_seconds / 3600.0 as hours_worked,
    (worked_seconds - overtime_seconds) / 3600.0 as regular_hours,
    overtime_seconds / 3600.0 as overtime_hours,
    source_file,
    source_row,
    updated_at
from allocated
