{#- value = numerator / denominator (null when 0); a total KPI (catalogue kind 'total',
    no denominator): the numerator. `kind` is the KPI's kind from core.dim_kpi. -#}
{% macro kpi_value(numerator, denominator, kind) -%}
    case
        when {{ kind }} = 'total' then cast({{ numerator }} as double)
        when {{ denominator }} = 0 then null
        else cast({{ numerator }} as double) / cast({{ denominator }} as double)
    end
{%- endmacro %}
