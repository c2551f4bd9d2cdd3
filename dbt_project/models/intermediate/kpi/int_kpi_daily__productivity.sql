-- The two cross-domain KPIs: shipments and timesheets paired by site and date (shipped
-- date = work date), so a day with only one of them still has a row (the missing side 0).
with shipped as (
    select site_id, shipped_date as date, sum(shipped_qty) as units
    from {{ ref('fct_deliveries') }}
    where status <> 'cancelled' and shipped_date <= {{ as_of() }}
    group by site_id, shipped_date
),

worked as (
    select site_id, work_date as date, {{ exact_sum('hours_worked') }} as hours
    from {{ ref('fct_labor') }}
    where work_date <= {{ as_of() }}
    group by site_id, work_date
),

-- labor cost: only entries with a USD cost contribute (its own side drops out)
costed as (
    select site_id, work_date as date, {{ exact_sum('labor_cost_usd') }} as cost_usd
    from {{ ref('fct_labor') }}
    where work_date <= {{ as_of() }} and labor_cost_usd is not null
    group by site_id, work_date
)

select 'units_per_labor_hour' as kpi,
       coalesce(shipped.site_id, worked.site_id) as site_id,
       coalesce(shipped.date, worked.date) as date,
       coalesce(shipped.units, 0) as numerator,
       coalesce(worked.hours, 0) as denominator
from shipped
full outer join worked on worked.site_id = shipped.site_id and worked.date = shipped.date

union all
select 'labor_cost_per_unit',
       coalesce(costed.site_id, shipped.site_id),
       coalesce(costed.date, shipped.date),
       coalesce(costed.cost_usd, 0),
       coalesce(shipped.units, 0)
from costed
full outer join shipped on shipped.site_id = costed.site_id and shipped.date = costed.date
