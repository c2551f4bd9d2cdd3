{#-
  The drivers of every KPI cell's change against the previous period (docs/drivers.md),
  for `period` = week_start (ISO weeks) or month_start: per (kpi, site, period, dimension,
  member) the member's numerator and denominator in the period and the one before, and its
  contribution to the change in the cell's value, in the KPI's own units.

  For each (kpi, site, period, dimension), with R = N / D the cell's value (kpi_weekly /
  kpi_monthly), N_i, D_i the member's sides, 1 = this period, 0 = the previous one:
  - share (both sides split by member): w_i = D_i / D, s_i = N_i / D, r_i = N_i / D_i;
        contribution_i = (s1_i − s0_i) − R0 · (w1_i − w0_i)
    which is rate effect w1_i · (r1_i − r0_i) + mix effect (w1_i − w0_i) · (r0_i − R0) for a
    member present in both periods; a member new this period is all mix, w1_i · (r1_i − R0);
    a member gone this period is all mix, −w0_i · (r0_i − R0).
  - split (one side split by member, the other side one member of its own):
        contribution_i = ((N1_i − N0_i) − R0 · (D1_i − D0_i)) / D1
  - total (no denominator): contribution_i = N1_i − N0_i.
  Over the members of one dimension the contributions add up to R1 − R0 (Σ s = R, Σ w = 1).
  The contribution is null when the cell has no value in one of the two periods.

  The `ALL` site has the same dimensions summed over every site, and one more, `site`:
  each site's numerator and denominator (from the rollup mart), as a 'share' (or 'total').
-#}
{% macro kpi_drivers(period) -%}
{%- set grain = 'week' if period == 'week_start' else 'month' -%}
{%- set rollup = 'kpi_weekly' if period == 'week_start' else 'kpi_monthly' -%}
{%- set period_expr = week_start('date') if period == 'week_start' else month_start('date') -%}
{%- set previous = 'previous_' ~ period -%}
with members_daily as (
    select * from {{ ref('int_kpi_members') }}
),

cells as (
    select kpi, site_id, {{ period }}, numerator, denominator, value from {{ ref(rollup) }}
),

catalogue as (
    select kpi, kind, direction from {{ ref('dim_kpi') }}
),

per_site as (
    select kpi, site_id, {{ period_expr }} as {{ period }}, dimension, member, method,
           sum(numerator) as numerator, sum(denominator) as denominator
    from members_daily
    group by 1, 2, 3, 4, 5, 6
),

all_sites as (
    select kpi, 'ALL' as site_id, {{ period_expr }} as {{ period }}, dimension, member, method,
           sum(numerator) as numerator, sum(denominator) as denominator
    from members_daily
    group by 1, 2, 3, 4, 5, 6
),

-- the all-sites value split by site
sites_of_all as (
    select
        cells.kpi,
        'ALL' as site_id,
        cells.{{ period }},
        'site' as dimension,
        cells.site_id as member,
        case when catalogue.kind = 'total' then 'total' else 'share' end as method,
        cells.numerator,
        cells.denominator
    from cells
    inner join catalogue on catalogue.kpi = cells.kpi
    where cells.site_id <> 'ALL'
),

members as (
    select * from per_site
    union all
    select * from all_sites
    union all
    select * from sites_of_all
),

-- each member's period is the current period of its own row and the previous period of
-- the next one
shifted as (
    select kpi, site_id, {{ period }}, dimension, member, method,
           numerator as current_numerator, denominator as current_denominator,
           {{ kpi_number('0') }} as previous_numerator, {{ kpi_number('0') }} as previous_denominator
    from members
    union all
    select kpi, site_id, cast({{ dbt.dateadd(grain, 1, period) }} as date), dimension, member, method,
           {{ kpi_number('0') }}, {{ kpi_number('0') }}, numerator, denominator
    from members
),

paired as (
    select kpi, site_id, {{ period }}, dimension, member, method,
           sum(current_numerator) as current_numerator,
           sum(current_denominator) as current_denominator,
           sum(previous_numerator) as previous_numerator,
           sum(previous_denominator) as previous_denominator
    from shifted
    group by 1, 2, 3, 4, 5, 6
),

-- a member row for every cell of the rollup mart (the current period must have a cell)
with_cells as (
    select
        paired.*,
        catalogue.kind,
        catalogue.direction,
        cast({{ dbt.dateadd(grain, -1, 'paired.' ~ period) }} as date) as {{ previous }},
        current_cell.value,
        previous_cell.value as previous_value,
        cast(current_cell.denominator as double) as d1,
        cast(previous_cell.denominator as double) as d0,
        cast(paired.current_numerator as double) as n1_i,
        cast(paired.current_denominator as double) as d1_i,
        cast(paired.previous_numerator as double) as n0_i,
        cast(paired.previous_denominator as double) as d0_i
    from paired
    inner join cells as current_cell
        on current_cell.kpi = paired.kpi
        and current_cell.site_id = paired.site_id
        and current_cell.{{ period }} = paired.{{ period }}
    left join cells as previous_cell
        on previous_cell.kpi = paired.kpi
        and previous_cell.site_id = paired.site_id
        and previous_cell.{{ period }} = cast({{ dbt.dateadd(grain, -1, 'paired.' ~ period) }} as date)
    left join catalogue on catalogue.kpi = paired.kpi
),

contributions as (
    select
        with_cells.*,
        value - previous_value as change,
        case
            when value is null or previous_value is null then null
            when method = 'total' then n1_i - n0_i
            when method = 'share' then (n1_i / d1 - n0_i / d0) - previous_value * (d1_i / d1 - d0_i / d0)
            when method = 'split' then ((n1_i - n0_i) - previous_value * (d1_i - d0_i)) / d1
        end as contribution,
        case
            when value is null or previous_value is null or method <> 'share' then null
            when d0_i <> 0 then (d1_i / d1 - d0_i / d0) * (n0_i / d0_i - previous_value)
            when d1_i <> 0 then (d1_i / d1) * (n1_i / d1_i - previous_value)
            else 0
        end as mix_effect
    from with_cells
),

ranked as (
    select
        contributions.*,
        row_number() over (
            partition by kpi, site_id, {{ period }}, dimension
            order by
                case
                    when change < 0 then contribution
                    when change > 0 then -contribution
                    else -abs(contribution)
                end nulls last,
                abs(contribution) desc nulls last,
                current_denominator desc nulls last,
                current_numerator desc nulls last,
                member
        ) as driver_rank
    from contributions
)

select
    kpi,
    site_id,
    {{ period }},
    {{ previous }},
    dimension,
    member,
    method,
    cast(current_numerator as double) as current_numerator,
    cast(case when kind = 'total' then null else current_denominator end as double) as current_denominator,
    cast(previous_numerator as double) as previous_numerator,
    cast(case when kind = 'total' then null else previous_denominator end as double) as previous_denominator,
    case when kind = 'total' then n1_i when d1_i <> 0 then n1_i / d1_i end as member_value,
    case when kind = 'total' then n0_i when d0_i <> 0 then n0_i / d0_i end as previous_member_value,
    value,
    previous_value,
    -- (+ 0.0 turns a negative zero into 0)
    change + 0.0 as change,
    contribution + 0.0 as contribution,
    contribution - mix_effect + 0.0 as rate_effect,
    mix_effect + 0.0 as mix_effect,
    driver_rank
from ranked
{%- endmacro %}
