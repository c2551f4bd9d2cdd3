{#-
  The members of every driver dimension add up to their KPI cell: per (kpi, site_id,
  period, dimension), Σ of the members' numerators and denominators equals the cell's
  numerator and denominator in `to` (kpi_daily, kpi_weekly, kpi_monthly), and every cell
  of a KPI that has the dimension has members of it. Exact for the decimal sides of
  int_kpi_members; to 1e-9 relative for the double sides of the drivers marts. Fails with
  the cells that do not add up.
-#}
{% test members_add_up(model, to, period_column, numerator='numerator', denominator='denominator') %}
with members as (
    select
        kpi,
        site_id,
        {{ period_column }} as period,
        dimension,
        sum({{ numerator }}) as numerator,
        sum({{ denominator }}) as denominator
    from {{ model }}
    group by 1, 2, 3, 4
),

dimensions as (
    select distinct kpi, site_id = 'ALL' as is_all, dimension from members
),

cells as (
    select kpi, site_id, {{ period_column }} as period, numerator, denominator from {{ to }}
),

expected as (
    select cells.*, dimensions.dimension
    from cells
    inner join dimensions
        on dimensions.kpi = cells.kpi and dimensions.is_all = (cells.site_id = 'ALL')
),

compared as (
    select
        coalesce(expected.kpi, members.kpi) as kpi,
        coalesce(expected.site_id, members.site_id) as site_id,
        coalesce(expected.period, members.period) as period,
        coalesce(expected.dimension, members.dimension) as dimension,
        cast(expected.numerator as double) as cell_numerator,
        cast(members.numerator as double) as members_numerator,
        cast(expected.denominator as double) as cell_denominator,
        cast(members.denominator as double) as members_denominator
    from expected
    full outer join members
        on members.kpi = expected.kpi
        and members.site_id = expected.site_id
        and members.period = expected.period
        and members.dimension = expected.dimension
)

select * from compared
where (cell_numerator is null) <> (members_numerator is null)
   or (cell_denominator is null) <> (members_denominator is null)
   or abs(cell_numerator - members_numerator) > 1e-9 * greatest(1, abs(cell_numerator))
   or abs(cell_denominator - members_denominator) > 1e-9 * greatest(1, abs(cell_denominator))
{% endtest %}
