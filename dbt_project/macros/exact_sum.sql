{#-
  Sum of a measure in exact decimal arithmetic. Summing binary floats (hours, fractional
  days) in parallel gives results that differ in the last bits from run to run; rounding
  each value to 12 decimals first makes every KPI reproducible to the bit, so an
  incremental and a full build are identical, not merely close.
-#}
{% macro exact_sum(expr) -%}
    sum(cast({{ expr }} as decimal(38, 12)))
{%- endmacro %}

{#- The type of KPI numerators and denominators. -#}
{% macro kpi_number(expr) -%}
    cast({{ expr }} as decimal(38, 12))
{%- endmacro %}
