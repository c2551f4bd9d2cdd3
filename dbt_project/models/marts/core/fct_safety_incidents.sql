-- One row per safety incident (surviving version) with its site-local date and the OSHA
-- classes the incident rates count: recordable (severity recordable or lost_time) and
-- lost time.
select
    incidents.incident_id,
    incidents.site_id,
    incidents.employee_id,
    incidents.occurred_at,
    {{ local_date('incidents.occurred_at', "coalesce(sites.timezone, 'UTC')") }} as occurred_date,
    incidents.severity,
    incidents.days_lost,
    incidents.severity in ('recordable', 'lost_time') as is_recordable,
    incidents.severity = 'lost_time' as is_lost_time,
    incidents.updated_at,
    incidents.source_file,
    incidents.source_row
from {{ ref('stg_ehs__safety_incidents') }} as incidents
left join {{ ref('stg_ref__sites') }} as sites on sites.site_id = incidents.site_id
