{#-
  The columns together are a key: no part of it is null and each combination occurs at
  most once (dbt's `unique` + `not_null` for a composite key, without dbt_utils).
  Fails with one row per offending combination.

      data_tests:
        - unique_combination:
            arguments:
              combination_of_columns: [order_id, line_number]
-#}
{% test unique_combination(model, combination_of_columns) %}
{%- set columns = combination_of_columns | join(', ') %}
select {{ columns }}, count(*) as n_records
from {{ model }}
group by {{ columns }}
having count(*) > 1
{%- for column in combination_of_columns %}
    or {{ column }} is null
{%- endfor %}
{% endtest %}
