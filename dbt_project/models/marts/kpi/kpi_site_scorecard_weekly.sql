-- Site scorecard per ISO week: each KPI that has a target (seed kpi_targets; a
-- site-specific target beats '*'), with green (target met), amber (missed by at most
-- 5 % of the target) or red. Weeks where the KPI has no value (denominator 0) are left out.
with weekly as (
    select * from {{ ref('kpi_weekly') }}
    where value is not null
),

targets as (
    select kpi, site_id, target, direction from {{ ref('kpi_targets') }}
),

matched as (
    select
        weekly.site_id,
        weekly.week_start,
        weekly.kpi,
        weekly.value,
        coalesce(site_target.target, any_target.target) as target,
        coalesce(site_target.direction, any_target.direction) as direction
    from weekly
    left join targets as site_target
        on site_target.kpi = weekly.kpi and site_target.site_id = weekly.site_id
    left join targets as any_target
        on any_target.kpi = weekly.kpi and any_target.site_id = '*'
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
    week_start,
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
    -- the week containing the as-of date is scored on the days so far
    {{ dbt.dateadd('day', 6, 'week_start') }} <= {{ as_of() }} as is_complete_week
from decimals
