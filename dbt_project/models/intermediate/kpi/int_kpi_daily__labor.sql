-- Daily labor KPIs per site (kpis.md, kpi_daily), by work_date <= as_of.
with labor as (
    select * from {{ ref('fct_labor') }}
    where work_date <= {{ as_of() }}
)

select 'labor_hours' as kpi, site_id, work_date as date,
       {{ exact_sum('hours_worked') }} as numerator, {{ kpi_number('null') }} as denominator
from labor
group by site_id, work_date

union all
select 'overtime_rate', site_id, work_date,
       {{ exact_sum('overtime_hours') }}, {{ exact_sum('hours_worked') }}
from labor
group by site_id, work_date

union all
-- entries without a pay rate or fx rate drop out
select 'labor_cost_usd', site_id, work_date,
       {{ exact_sum('labor_cost_usd') }}, null
from labor
where labor_cost_usd is not null
group by site_id, work_date
