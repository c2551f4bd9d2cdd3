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
)

select
    site_id,
    week_start,
    kpi,
    value,
    target,
    direction,
    case
        when direction = 'higher_is_better' and value >= target then 'green'
        when direction = 'lower_is_better' and value <= target then 'green'
        when direction = 'higher_is_better' and value >= target - 0.05 * abs(target) then 'amber'
        when direction = 'lower_is_better' and value <= target + 0.05 * abs(target) then 'amber'
        else 'red'
    end as status
from matched
where target is not null
