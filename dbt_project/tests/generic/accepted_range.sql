{#-
  Every non-null value of the column lies within [min_value, max_value] (either bound
  optional, both inclusive). Use the test's `where` config to restrict the rows, e.g. to
  the KPIs that are rates.
-#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not (
    {%- if min_value is not none %} {{ column_name }} >= {{ min_value }}{% else %} true{% endif %}
    and {%- if max_value is not none %} {{ column_name }} <= {{ max_value }}{% else %} true{% endif %}
  )
{% endtest %}
