-- Calendar from the earliest event date of the facts to the later of the as-of date and
-- the latest event date, with ISO week and month keys used by the KPI marts.
-- depends_on: {{ ref('fct_deliveries') }}
-- depends_on: {{ ref('fct_order_lines') }}
-- depends_on: {{ ref('fct_spend') }}
-- depends_on: {{ ref('fct_po_lines') }}
-- depends_on: {{ ref('fct_labor') }}
-- depends_on: {{ ref('stg_fin__budgets') }}
-- depends_on: {{ ref('fct_inventory_daily') }}
-- depends_on: {{ ref('fct_cycle_counts') }}
-- depends_on: {{ ref('fct_returns') }}
-- depends_on: {{ ref('fct_service_tickets') }}
-- depends_on: {{ ref('fct_safety_incidents') }}
{%- set bounds = opskpi_date_bounds() %}

with spine as (
    {{ dbt.date_spine('day', "cast('" ~ bounds[0] ~ "' as date)", dbt.dateadd('day', 1, "cast('" ~ bounds[1] ~ "' as date)")) }}
)

select
    cast(date_day as date) as date_day,
    {{ week_start('date_day') }} as week_start,
    {{ month_start('date_day') }} as month_start,
    extract(isoyear from date_day) as iso_year,
    extract(week from date_day) as iso_week,
    extract(year from date_day) as year,
    extract(month from date_day) as month,
    extract(isodow from date_day) as iso_day_of_week,
    extract(isodow from date_day) >= 6 as is_weekend,
    cast(date_day as date) <= {{ as_of() }} as is_on_or_before_as_of
from spine
