-- Service-level KPIs per site and day (kpis.md, kpi_daily), dates <= as_of: response and
-- resolution levels by the date they were judged (fct_service_tickets: only tickets with
-- a level that are not cancelled are ever judged), resolution time by resolved date.
with tickets as (
    select * from {{ ref('fct_service_tickets') }}
)

select 'sla_response_rate' as kpi, site_id, response_judged_date as date,
       sum(case when response_met then 1 else 0 end) as numerator,
       count(*) as denominator
from tickets
where response_judged_date <= {{ as_of() }}
group by site_id, response_judged_date

union all
select 'sla_resolution_rate', site_id, resolution_judged_date,
       sum(case when resolution_met then 1 else 0 end), count(*)
from tickets
where resolution_judged_date <= {{ as_of() }}
group by site_id, resolution_judged_date

union all
select 'avg_resolution_hours', site_id, resolved_date,
       {{ exact_sum('resolution_hours') }}, count(*)
from tickets
where status <> 'cancelled' and resolved_date <= {{ as_of() }} and resolution_hours is not null
group by site_id, resolved_date
