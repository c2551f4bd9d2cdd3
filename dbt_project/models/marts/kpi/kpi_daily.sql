-- Every KPI per site and day: numerator, denominator and value (numerator / denominator,
-- null when the denominator is 0; a total KPI has no denominator and its value is the
-- numerator). A KPI is its SQL in one int_kpi_daily__* model plus one row of the
-- catalogue (seed kpi_catalogue, core.dim_kpi), which says whether it is a total.
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
),

catalogue as (
    select kpi, kind from {{ ref('dim_kpi') }}
),

valued as (
    select
        daily.kpi,
        daily.site_id,
        cast(daily.date as date) as date,
        {{ kpi_number('daily.numerator') }} as numerator,
        {{ kpi_number('daily.denominator') }} as denominator,
        {{ kpi_value('daily.numerator', 'daily.denominator', 'catalogue.kind') }} as value
    from daily
    left join catalogue on catalogue.kpi = daily.kpi
)

select * from valued
