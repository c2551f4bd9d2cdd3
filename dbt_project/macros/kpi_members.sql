{#-
  The numerator and denominator of one KPI per member of each of its driver dimensions
  (docs/drivers.md), per site and day: one `select ... group by` per dimension, unioned.

  - `relation`: a CTE holding exactly the records of the KPI (its filters applied);
  - `numerator`, `denominator`: aggregate expressions over those records, the same as the
    KPI's int_kpi_daily__* model (a dbt test checks that the members add up to kpi_daily);
  - `dimensions`: {dimension name: member expression}; a null member is '(none)';
  - `method`: 'share' (both sides split by member: rate and mix effects), 'split' (a side
    split by member, the other side one member of its own) or 'total'.
-#}
{% macro kpi_members(kpi, relation, date, numerator, denominator, dimensions, method='share') -%}
{%- for dimension, member in dimensions.items() %}
{%- if not loop.first %}
union all
{%- endif %}
select
    '{{ kpi }}' as kpi,
    site_id,
    cast({{ date }} as date) as date,
    '{{ dimension }}' as dimension,
    coalesce(cast({{ member }} as {{ dbt.type_string() }}), '(none)') as member,
    '{{ method }}' as method,
    {{ kpi_number(numerator) }} as numerator,
    {{ kpi_number(denominator) }} as denominator
from {{ relation }}
group by 1, 2, 3, 4, 5, 6
{%- endfor %}
{%- endmacro %}
