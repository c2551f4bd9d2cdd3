{#- Roll kpi_daily up to `period` (week_start | month_start), per site and for 'ALL'. -#}
{% macro kpi_rollup(period) -%}
{%- set period_expr = week_start('date') if period == 'week_start' else month_start('date') -%}
with daily as (
    select kpi, site_id, {{ period_expr }} as {{ period }}, numerator, denominator
    from {{ ref('kpi_daily') }}
),

catalogue as (
    select kpi, kind from {{ ref('dim_kpi') }}
),

per_site as (
    select kpi, site_id, {{ period }}, {{ kpi_number('sum(numerator)') }} as numerator, {{ kpi_number('sum(denominator)') }} as denominator
    from daily
    group by kpi, site_id, {{ period }}
),

all_sites as (
    select kpi, 'ALL' as site_id, {{ period }}, {{ kpi_number('sum(numerator)') }} as numerator, {{ kpi_number('sum(denominator)') }} as denominator
    from daily
    group by kpi, {{ period }}
),

rolled as (
    select * from per_site
    union all
    select * from all_sites
)

select
    rolled.kpi,
    rolled.site_id,
    rolled.{{ period }},
    rolled.numerator,
    rolled.denominator,
    {{ kpi_value('rolled.numerator', 'rolled.denominator', 'catalogue.kind') }} as value
from rolled
left join catalogue on catalogue.kpi = rolled.kpi
{%- endmacro %}
