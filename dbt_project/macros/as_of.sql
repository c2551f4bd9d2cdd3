{#-
  The business date of the run (YYYY-MM-DD): the environment variable OPSKPI_AS_OF, set by
  the pipeline's dbt runner (flows/build/dbt.py) for each call; a unit test sets it as the
  var `as_of` instead; default: the run's start date in UTC. No model reads the clock any
  other way. An environment variable read in a macro, unlike a --vars value, does not make
  dbt re-parse the project when it changes (stack-notes), so nightly runs parse partially.
-#}
{% macro as_of() -%}
    cast('{{ var("as_of", env_var("OPSKPI_AS_OF", run_started_at.strftime("%Y-%m-%d"))) }}' as date)
{%- endmacro %}
