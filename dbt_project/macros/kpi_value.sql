{#- value = numerator / denominator (null when 0); total KPIs (no denominator): the numerator. -#}
{% macro kpi_value(numerator, denominator, kpi) -%}
    case
        when {{ kpi }} in {{ total_kpis() }} then cast({{ numerator }} as double)
        when {{ denominator }} = 0 then null
        else cast({{ numerator }} as double) / cast({{ denominator }} as double)
    end
{%- endmacro %}

{#- KPIs that are totals (no denominator) rather than rates. -#}
{% macro total_kpis() -%}
    ('spend_usd', 'price_variance_usd', 'labor_hours', 'labor_cost_usd')
{%- endmacro %}
