{{ config(materialized='incremental', unique_key=['ticket_id'], incremental_strategy='delete+insert') }}

-- Customer-service and operations tickets. One row per ticket_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('service_tickets', only_changed_keys=true) }}
)

select
    ticket_id,
    site_id,
    customer_id,
    category,
    priority,
    opened_at,
    first_response_at,
    resolved_at,
    status,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
