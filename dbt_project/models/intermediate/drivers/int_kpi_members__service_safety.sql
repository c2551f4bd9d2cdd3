-- Service-level and safety KPIs per site, day and member of each driver dimension
-- (docs/drivers.md): the records and sides of int_kpi_daily__service and __safety.
-- Tickets split by priority, category and customer. The incident rates pair incidents
-- with hours worked, so only their numerator splits (by severity, 'split'); the hours
-- are one member.
with tickets as (
    select * from {{ ref('fct_service_tickets') }}
),

responses_judged as (
    select * from tickets where response_judged_date <= {{ as_of() }}
),

resolutions_judged as (
    select * from tickets where resolution_judged_date <= {{ as_of() }}
),

resolved as (
    select * from tickets
    where status <> 'cancelled' and resolved_date <= {{ as_of() }} and resolution_hours is not null
),

incidents as (
    select * from {{ ref('fct_safety_incidents') }}
    where occurred_date <= {{ as_of() }}
),

recordable as (
    select * from incidents where is_recordable
),

lost_time as (
    select * from incidents where is_lost_time
),

worked as (
    select * from {{ ref('fct_labor') }}
    where work_date <= {{ as_of() }}
),

{%- set ticket_dimensions = {'priority': 'priority', 'category': 'category', 'customer': 'customer_id'} %}
{%- set base = var('incident_rate_hours_base') %}

members as (
    {{ kpi_members('sla_response_rate', 'responses_judged', 'response_judged_date',
                   'sum(case when response_met then 1 else 0 end)', 'count(*)', ticket_dimensions) }}
    union all
    {{ kpi_members('sla_resolution_rate', 'resolutions_judged', 'resolution_judged_date',
                   'sum(case when resolution_met then 1 else 0 end)', 'count(*)', ticket_dimensions) }}
    union all
    {{ kpi_members('avg_resolution_hours', 'resolved', 'resolved_date',
                   exact_sum('resolution_hours'), 'count(*)', ticket_dimensions) }}
    union all
    {{ kpi_members('recordable_incident_rate', 'recordable', 'occurred_date',
                   'count(*) * ' ~ base, '0',
                   {'component': "'incidents'", 'severity': 'severity'}, 'split') }}
    union all
    {{ kpi_members('recordable_incident_rate', 'worked', 'work_date', '0', exact_sum('hours_worked'),
                   {'component': "'hours worked'", 'severity': "'hours worked'"}, 'split') }}
    union all
    {{ kpi_members('lost_time_incident_rate', 'lost_time', 'occurred_date',
                   'count(*) * ' ~ base, '0', {'component': "'incidents'"}, 'split') }}
    union all
    {{ kpi_members('lost_time_incident_rate', 'worked', 'work_date', '0', exact_sum('hours_worked'),
                   {'component': "'hours worked'"}, 'split') }}
)

select * from members
