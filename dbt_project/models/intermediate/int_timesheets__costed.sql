-- Labor cost per timesheet entry: the employee's pay rate with the greatest
-- effective_from <= work_date (none: rate and cost are null), overtime at the
-- multiplier, converted to USD at the work date.
with entries as (
    select * from {{ ref('int_timesheets__overtime') }}
),

rates as (
    select
        employee_id,
        effective_from,
        lead(effective_from) over (partition by employee_id order by effective_from) as effective_to,
        hourly_rate,
        currency
    from {{ ref('stg_hr__pay_rates') }}
)

select
    entries.*,
    rates.hourly_rate,
    rates.currency as rate_currency,
    (entries.regular_hours + entries.overtime_hours * {{ var('overtime_multiplier') }})
        * rates.hourly_rate * {{ usd_rate('fx', 'rates.currency') }} as labor_cost_usd
from entries
left join rates
    on rates.employee_id = entries.employee_id
    and entries.work_date >= rates.effective_from
    and (entries.work_date < rates.effective_to or rates.effective_to is null)
left join {{ ref('int_fx_rates__ranges') }} as fx
    on {{ fx_join_condition('fx', 'rates.currency', 'entries.work_date') }}
