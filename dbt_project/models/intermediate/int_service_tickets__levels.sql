-- Tickets with their site-local dates and their service level (seed sla_policies, by
-- priority): the due instants of the first response and of the resolution are opened_at
-- plus that many elapsed hours, whatever the clocks do; a priority without a policy row
-- has no service level (due instants null). Nothing here depends on the as-of date.
with tickets as (
    select * from {{ ref('stg_crm__service_tickets') }}
),

policies as (
    select priority, first_response_hours, resolution_hours from {{ ref('sla_policies') }}
),

leveled as (
    select
        tickets.*,
        coalesce(sites.timezone, 'UTC') as timezone,
        policies.priority is not null as has_service_level,
        {{ add_hours('tickets.opened_at', 'policies.first_response_hours') }} as response_due_at,
        {{ add_hours('tickets.opened_at', 'policies.resolution_hours') }} as resolution_due_at
    from tickets
    left join {{ ref('stg_ref__sites') }} as sites on sites.site_id = tickets.site_id
    left join policies on policies.priority = tickets.priority
)

select
    ticket_id,
    site_id,
    customer_id,
    category,
    priority,
    status,
    opened_at,
    first_response_at,
    resolved_at,
    {{ local_date('opened_at', 'timezone') }} as opened_date,
    {{ local_date('first_response_at', 'timezone') }} as first_response_date,
    {{ local_date('resolved_at', 'timezone') }} as resolved_date,
    has_service_level,
    response_due_at,
    resolution_due_at,
    {{ local_date('response_due_at', 'timezone') }} as response_due_date,
    {{ local_date('resolution_due_at', 'timezone') }} as resolution_due_date,
    ({{ epoch_seconds('resolved_at') }} - {{ epoch_seconds('opened_at') }}) / 3600.0 as hours_to_resolve,
    updated_at,
    source_file,
    source_row
from leveled
