{{ config(materialized='incremental', unique_key=['incident_id'], incremental_strategy='delete+insert') }}

-- Safety incidents. One row per incident_id: the surviving version.
-- Incremental: only keys with a version loaded since the last build are re-ranked.
with surviving as (
    {{ surviving_version(
        source('raw', 'safety_incidents'), ['incident_id'], has_updated_at=true,
        where=opskpi_key_in_delta('safety_incidents', ['incident_id']) if opskpi_can_reuse_previous_build() else none) }}
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
