{#-
  Every row of a KPI mart (kpi_daily, kpi_weekly, kpi_monthly) agrees with the KPI
  catalogue (core.dim_kpi): its KPI has a catalogue row; a total has no denominator and a
  rate, ratio or average has both sides; the value lies within the catalogue's
  [value_min, value_max] (the range it can take by construction: a value outside is a
  bug); and the period starts on or before the as-of date. Fails with the offending rows.
-#}
{% test kpi_rows_follow_catalogue(model, period_column) %}
with rows_ as (
    select * from {{ model }}
),

catalogue as (
    select * from {{ ref('dim_kpi') }}
),

judged as (
    select
        rows_.kpi,
        rows_.site_id,
        rows_.{{ period_column }},
        rows_.numerator,
        rows_.denominator,
        rows_.value,
        case
            when catalogue.kpi is null then 'KPI not in the catalogue (seeds/kpi_catalogue.csv)'
            when rows_.{{ period_column }} > {{ as_of() }} then 'dated after as_of'
            when rows_.numerator is null then 'numerator is null'
            when (rows_.denominator is null) <> (catalogue.kind = 'total')
                then 'denominator must be null exactly for a total KPI'
            when rows_.value < catalogue.value_min then 'value below the catalogue value_min'
            when rows_.value > catalogue.value_max then 'value above the catalogue value_max'
        end as problem
    from rows_
    left join catalogue on catalogue.kpi = rows_.kpi
)

select * from judged where problem is not null
{% endtest %}
