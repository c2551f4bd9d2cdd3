{#-
  The contributions of the members of one dimension add up to the change of their cell:
  per (kpi, site_id, period, dimension) with a change (a value in both periods), every
  member has a contribution and Σ contribution = value − previous_value, to 1e-9 of the
  larger of 1 and the values (double arithmetic); without a change, no member has one.
  Fails with the cells whose drivers do not add up.
-#}
{% test contributions_add_up(model, period_column) %}
with cells as (
    select
        kpi,
        site_id,
        {{ period_column }} as period,
        dimension,
        max(change) as change,
        max(value) as value,
        max(previous_value) as previous_value,
        sum(contribution) as contributions,
        count(*) as members,
        count(contribution) as members_with_contribution
    from {{ model }}
    group by 1, 2, 3, 4
)

select * from cells
where (change is null and members_with_contribution > 0)
   or (change is not null and members_with_contribution < members)
   or abs(contributions - change)
      > 1e-9 * greatest(1, abs(value), abs(previous_value))
{% endtest %}
