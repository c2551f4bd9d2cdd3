{{ config(materialized='incremental', unique_key='ticket_id', incremental_strategy='delete+insert',
          on_schema_change='fail') }}
{%- set incremental = opskpi_incremental() %}
-- depends_on: {{ ref('int_service_tickets__levels') }}

-- One row per service ticket (surviving version), with its service levels judged as of
-- as_of (kpis.md, "Judging a service level"). For a ticket that is not cancelled and has
-- a service level: an event whose site-local date is after as_of has not happened; the
-- level is met when the event happened at or before the due instant (judged at the
-- event), missed when the due instant passed without it (judged at the due instant); it
-- is judged only when that judged date is on or before as_of.
-- Incremental: see macros/incremental.sql; the rows recomputed are those of the tickets
-- that changed and those with a response, resolution or due date between the previous
-- and this as-of date (the only dates at which their as-of columns can change).
{% if incremental %}
with affected as (
    {{ opskpi_delta('service_tickets', ['ticket_id']) }}
    union
    select ticket_id from {{ ref('int_service_tickets__levels') }}
    where {{ opskpi_in_as_of_window('first_response_date') }}
       or {{ opskpi_in_as_of_window('resolved_date') }}
       or {{ opskpi_in_as_of_window('response_due_date') }}
       or {{ opskpi_in_as_of_window('resolution_due_date') }}
),
{% else %}
with
{% endif %}

tickets as (
    select * from {{ ref('int_service_tickets__levels') }}
    {% if incremental %}
    where ticket_id in (select ticket_id from affected)
    {% endif %}
),

-- what has happened as of as_of; only tickets with a level that are not cancelled are judged
happened as (
    select
        tickets.*,
        status <> 'cancelled' and has_service_level as is_judgeable,
        case when first_response_date <= {{ as_of() }} then first_response_at end as responded_at,
        case when resolved_date <= {{ as_of() }} then resolved_at end as resolved_as_of
    from tickets
),

judged as (
    select
        happened.*,
        case
            when not is_judgeable then null
            when responded_at <= response_due_at then first_response_date
            when response_due_date <= {{ as_of() }} then response_due_date
        end as response_judged_date,
        case
            when not is_judgeable then null
            when resolved_as_of <= resolution_due_at then resolved_date
            when resolution_due_date <= {{ as_of() }} then resolution_due_date
        end as resolution_judged_date
    from happened
)

select
    ticket_id,
    site_id,
    customer_id,
    category,
    priority,
    status,
    opened_at,
    opened_date,
    first_response_at,
    resolved_at,
    resolved_date,
    response_due_at,
    resolution_due_at,
    case when resolved_as_of is not null then hours_to_resolve end as resolution_hours,
    case when response_judged_date is not null then coalesce(responded_at <= response_due_at, false) end
        as response_met,
    response_judged_date,
    case when resolution_judged_date is not null then coalesce(resolved_as_of <= resolution_due_at, false) end
        as resolution_met,
    resolution_judged_date,
    has_service_level,
    updated_at,
    source_file,
    source_row,
    '{{ invocation_id }}' as dbt_invocation_id
from judged
