{#-
  USD conversion as of a document date: the rate of the greatest rate_date <= the date
  (USD is always 1). Used as:  left join ... fx on {{ fx_join_condition('fx', 'x.currency', 'x.doc_date') }}
  and {{ usd_rate('fx', 'x.currency') }} as the multiplier (null when no rate).
-#}
{% macro fx_join_condition(fx, currency, doc_date) -%}
    {{ fx }}.currency = {{ currency }}
    and {{ doc_date }} >= {{ fx }}.valid_from
    and ({{ doc_date }} < {{ fx }}.valid_to or {{ fx }}.valid_to is null)
{%- endmacro %}

{% macro usd_rate(fx, currency) -%}
    case when {{ currency }} = 'USD' then 1 else {{ fx }}.usd_per_unit end
{%- endmacro %}
