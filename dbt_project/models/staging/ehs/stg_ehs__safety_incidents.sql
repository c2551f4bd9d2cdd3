{{ config(materialized='incremental', unique_key=['incident_id'], incremental_strategy='delete+insert') }}

-- Safety incidents. One row per incident_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version('safety_incidents', only_changed_keys=true) }}
)

select
    incident_id,
    site_id,
    occurred_at,
    severity,
    days_lost,
    employee_id,
    updated_at,
    _file as source_file,
    _row as source_row,
    _run_id as load_run_id
from surviving
