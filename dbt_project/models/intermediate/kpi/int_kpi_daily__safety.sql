-- The incident rates (kpis.md, kpi_daily), pairing incidents and timesheets by site and
-- date (occurred date = work date, <= as_of) like units_per_labor_hour: incidents ×
-- incident_rate_hours_base (default 200,000: OSHA's 100 workers × 2,000 hours) over the
-- hours worked. A day with only one of them still has a row (the other side 0); an
-- incident that the rate does not count (a near miss, a first aid case) contributes to
-- neither side, so it makes no row.
with incidents as (
    select * from {{ ref('fct_safety_incidents') }}
    where occurred_date <= {{ as_of() }}
),

recordable as (
    select site_id, occurred_date as date, count(*) as incidents
    from incidents
    where is_recordable
    group by site_id, occurred_date
),

lost_time as (
    select site_id, occurred_date as date, count(*) as incidents
    from incidents
    where is_lost_time
    group by site_id, occurred_date
),

worked as (
    select site_id, work_date as date, {{ exact_sum('hours_worked') }} as hours
    from {{ ref('fct_labor') }}
    where work_date <= {{ as_of() }}
    group by site_id, work_date
)

select 'recordable_incident_rate' as kpi,
       coalesce(recordable.site_id, worked.site_id) as site_id,
       coalesce(recordable.date, worked.date) as date,
       {{ kpi_number('coalesce(recordable.incidents, 0)') }} * {{ var('incident_rate_hours_base') }}
           as numerator,
       coalesce(worked.hours, 0) as denominator
from recordable
full outer join worked on worked.site_id = recordable.site_id and worked.date = recordable.date

union all
select 'lost_time_incident_rate',
       coalesce(lost_time.site_id, worked.site_id),
       coalesce(lost_time.date, worked.date),
       {{ kpi_number('coalesce(lost_time.incidents, 0)') }} * {{ var('incident_rate_hours_base') }},
       coalesce(worked.hours, 0)
from lost_time
full outer join worked on worked.site_id = lost_time.site_id and worked.date = lost_time.date
