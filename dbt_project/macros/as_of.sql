{#-
  The business date of the run. Passed by the refresh flow as the dbt var `as_of`;
  default: the run's start date in UTC. No model reads the clock any other way.
-#}
{% macro as_of() -%}
    cast('{{ var("as_of", run_started_at.strftime("%Y-%m-%d")) }}' as date)
{%- endmacro %}
