{#-
  Site scorecard per `period` (week_start of kpi_weekly, month_start of kpi_monthly): each
  KPI that has a target (seed kpi_targets; a site-specific target beats '*'), with green
  (target met), amber (missed by at most 5 % of the target) or red. Periods where the KPI
  has no value (denominator 0) are left out. `complete_column` flags a period wholly on or
  before the as-of date.
-#}
{% macro kpi_scorecard(rollup, period, complete_column) -%}
{%- set grain = 'week' if period == 'week_start' else 'month' -%}
with rolled as (
    select * from {{ ref(rollup) }}
    where value is not null
),

targets as (
    select kpi, site_id, target, direction from {{ ref('kpi_targets') }}
),

matched as (
    select
        rolled.site_id,
        rolled.{{ period }},
        rolled.kpi,
        rolled.value,
        coalesce(site_target.target, any_target.target) as target,
        coalesce(site_target.direction, any_target.direction) as direction
    from rolled
    left join targets as site_target
        on site_target.kpi = rolled.kpi and site_target.site_id = rolled.site_id
    left join targets as any_target
        on any_target.kpi = rolled.kpi and any_target.site_id = '*'
),

-- compared in decimal arithmetic: a value missing the target by exactly 5 % is amber
decimals as (
    select
        matched.*,
        cast(value as decimal(38, 12)) as v,
        cast(target as decimal(38, 12)) as t
    from matched
    where target is not null
)

select
    site_id,
    {{ period }},
    kpi,
    value,
    target,
    direction,
    case
        when direction = 'higher_is_better' and v >= t then 'green'
        when direction = 'lower_is_better' and v <= t then 'green'
        when direction = 'higher_is_better' and v >= t - 0.05 * abs(t) then 'amber'
        when direction = 'lower_is_better' and v <= t + 0.05 * abs(t) then 'amber'
        else 'red'
    end as status,
    -- the period containing the as-of date is scored on the days so far
    {%- if grain == 'week' %}
    {{ dbt.dateadd('day', 6, period) }} <= {{ as_of() }} as {{ complete_column }}
    {%- else %}
    {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, period)) }} <= {{ as_of() }} as {{ complete_column }}
    {%- endif %}
from decimals
{%- endmacro %}
