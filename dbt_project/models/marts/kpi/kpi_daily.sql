-- All 29 KPIs per site and day: numerator, denominator and value (numerator /
-- denominator, null when the denominator is 0; a total KPI has no denominator and its
-- value is the numerator).
with daily as (
    select * from {{ ref('int_kpi_daily__deliveries') }}
    union all select * from {{ ref('int_kpi_daily__spend') }}
    union all select * from {{ ref('int_kpi_daily__labor') }}
    union all select * from {{ ref('int_kpi_daily__productivity') }}
    union all select * from {{ ref('int_kpi_daily__inventory') }}
    union all select * from {{ ref('int_kpi_daily__returns') }}
    union all select * from {{ ref('int_kpi_daily__service') }}
    union all select * from {{ ref('int_kpi_daily__safety') }}
    union all select * from {{ ref('int_kpi_daily__fulfillment_cost') }}
)

select
    kpi,
    site_id,
    cast(date as date) as date,
    {{ kpi_number('numerator') }} as numerator,
    {{ kpi_number('denominator') }} as denominator,
    {{ kpi_value('numerator', 'denominator', 'kpi') }} as value
from daily
