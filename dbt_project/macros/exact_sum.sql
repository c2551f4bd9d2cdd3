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

{#-
  Product of two exact decimals (money × rate, price difference × quantity) as
  DECIMAL(38, 12), without overflowing on any value the contract accepts. DuckDB types
  DECIMAL(38,10) × DECIMAL(38,10) as DECIMAL(38,20), which leaves 18 digits before the
  point (an 18-digit amount times a rate above 1 fails, and so does a sum of two such
  products). Splitting the left factor into its integer part (DECIMAL(38,0) × b keeps b's
  10 decimals, 28 digits before the point) and its fraction (|fraction × b| < |b|) keeps
  every digit of both partial products; each is then rounded to 12 decimals, exactly and
  deterministically, so incremental and full builds stay identical to the bit.
-#}
{% macro exact_product(a, b) -%}
    (cast(trunc({{ a }}) * ({{ b }}) as decimal(38, 12))
     + cast(({{ a }} - trunc({{ a }})) * ({{ b }}) as decimal(38, 12)))
{%- endmacro %}
