-- Budget vs actual per site, spend category and month, for months up to as_of.
-- budget_usd: budget converted at month_start (null without a rate: the row stays);
-- actual_usd: spend in USD by invoice month and spend category (0 without spend).
with budgets as (
    select
        budgets.site_id,
        budgets.category,
        budgets.month_start,
        {{ exact_product('budgets.budget_amount', usd_rate('fx', 'budgets.currency')) }} as budget_usd
    from {{ ref('stg_fin__budgets') }} as budgets
    left join {{ ref('int_fx_rates__ranges') }} as fx
        on {{ fx_join_condition('fx', 'budgets.currency', 'budgets.month_start') }}
    where budgets.month_start <= {{ as_of() }}
),

actuals as (
    select
        site_id,
        category,
        {{ month_start('invoice_date') }} as month_start,
        sum(amount_usd) as actual_usd
    from {{ ref('fct_spend') }}
    where invoice_date <= {{ as_of() }} and amount_usd is not null
    group by site_id, category, {{ month_start('invoice_date') }}
),

joined as (
    select
        coalesce(budgets.site_id, actuals.site_id) as site_id,
        coalesce(budgets.category, actuals.category) as category,
        coalesce(budgets.month_start, actuals.month_start) as month_start,
        budgets.site_id is not null as has_budget,
        budgets.budget_usd,
        coalesce(actuals.actual_usd, 0) as actual_usd
    from budgets
    full outer join actuals
        on actuals.site_id = budgets.site_id
        and actuals.category = budgets.category
        and actuals.month_start = budgets.month_start
)

select
    site_id,
    category,
    month_start,
    cast(budget_usd as double) as budget_usd,
    cast(actual_usd as double) as actual_usd,
    cast(actual_usd - budget_usd as double) as variance_usd,
    case when budget_usd <> 0 then cast((actual_usd - budget_usd) / budget_usd as double) end
        as variance_pct
from joined
