-- The KPI catalogue (seed kpi_catalogue): one row per KPI of kpi_daily, with how it is
-- presented and judged. The rollups (kind), the range tests (value_min, value_max), the
-- scorecard (direction) and the report (label, domain, unit, definition) all read it.
with catalogue as (
    select * from {{ ref('kpi_catalogue') }}
)

select
    kpi,
    label,
    domain,
    unit,
    kind,
    direction,
    value_min,
    value_max,
    definition
from catalogue
