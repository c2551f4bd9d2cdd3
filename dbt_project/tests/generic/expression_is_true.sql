{#-
  A row-level invariant: every row of the model satisfies `expression` (a null result
  counts as a failure). Fails with the offending rows.
-#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where ({{ expression }}) is not true
{% endtest %}
