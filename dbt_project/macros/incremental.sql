{#-
  Incremental builds that give exactly the rows a full build would.

  Each incremental model recomputes, with the *same* SQL as a full build, only the keys
  whose result can differ from the previous build's:
    - keys with a raw version loaded since that build (the "delta": _loaded_at after the
      watermark recorded in meta.build_log by opskpi_record_build),
    - keys that depend on a changed record of another entity (an order line's shipments,
      a PO line's invoices and receipts, an employee's week, a currency's rates),
    - keys with an as-of-sensitive event date between the previous and this as-of date
      (a shipment delivered after yesterday's as-of becomes delivered today).
  A site's time zone changed falls back to recomputing every key of the model. Other model
  code or other business-rule vars are decided before dbt starts: the pipeline's runner
  (flows/build) passes --full-refresh when the project's fingerprint changed, so a changed
  schema never meets an old table.
-#}

{#- The last complete build recorded in meta.build_log, or none. -#}
{% macro opskpi_previous_build() %}
    {% if not execute %}{{ return(none) }}{% endif %}
    {% set log = adapter.get_relation(database=target.database, schema='meta', identifier='build_log') %}
    {% if log is none %}{{ return(none) }}{% endif %}
    {% set rows = run_query(
        "select cast(as_of as varchar), cast(watermark as varchar) "
        ~ "from meta.build_log order by built_at desc limit 1").rows %}
    {% if rows | length == 0 %}{{ return(none) }}{% endif %}
    {{ return({'as_of': rows[0][0], 'watermark': rows[0][1]}) }}
{% endmacro %}


{#- True when rows of the previous build can be kept: the model exists and the build was
    started by the pipeline's dbt runner (flows/build), which passes the project's
    fingerprint and forces --full-refresh itself whenever the model code or the business
    rules changed since the previous build. A hand-run `dbt build` without that var
    recomputes every key. -#}
{% macro opskpi_can_reuse_previous_build() %}
    {% if not is_incremental() %}{{ return(false) }}{% endif %}
    {{ return(var('opskpi_fingerprint', none) is not none and opskpi_previous_build() is not none) }}
{% endmacro %}


{#- True when a fact may be built incrementally: the previous build can be reused and no
    site's time zone changed (naive timestamps of every entity depend on it). -#}
{% macro opskpi_incremental() %}
    {% if not opskpi_can_reuse_previous_build() %}{{ return(false) }}{% endif %}
    {% set sites_changed = run_query(
        "select count(*) from " ~ source('raw', 'sites') ~ " where _loaded_at > "
        ~ opskpi_watermark_literal()).rows[0][0] %}
    {{ return(sites_changed == 0) }}
{% endmacro %}


{% macro opskpi_watermark_literal() -%}
    {%- set previous = opskpi_previous_build() -%}
    {%- if previous is none or previous['watermark'] is none -%}
        cast('-infinity' as timestamp with time zone)
    {%- else -%}
        cast('{{ previous["watermark"] }}' as timestamp with time zone)
    {%- endif -%}
{%- endmacro %}


{#- Distinct `columns` of the raw rows of `entity` loaded since the previous build. -#}
{% macro opskpi_delta(entity, columns) -%}
    select distinct {{ columns | join(', ') }}
    from {{ source('raw', entity) }}
    where _loaded_at > {{ opskpi_watermark_literal() }}
{%- endmacro %}


{#- Every raw version (old and new) of the keys loaded since the previous build:
    `columns` of those versions (e.g. the order lines a shipment used to point at). -#}
{% macro opskpi_delta_versions(entity, keys, columns) -%}
    select distinct {{ columns | join(', ') }}
    from {{ source('raw', entity) }}
    where ({{ keys | join(', ') }}) in ({{ opskpi_delta(entity, keys) }})
{%- endmacro %}


{#- Currencies with fx rates loaded since the previous build, and the earliest such
    rate_date: documents in that currency from that date on may convert differently. -#}
{% macro opskpi_fx_delta() -%}
    select currency, min(rate_date) as changed_from
    from {{ source('raw', 'fx_rates') }}
    where _loaded_at > {{ opskpi_watermark_literal() }}
    group by currency
{%- endmacro %}


{#- True for a date whose as-of evaluation differs between the previous and this as-of:
    it lies in (min(previous, current), max(previous, current)]. -#}
{% macro opskpi_in_as_of_window(date_expr) -%}
    {%- set previous = opskpi_previous_build() -%}
    {%- if previous is none -%}
        true
    {%- else -%}
        ({{ date_expr }} > least(cast('{{ previous["as_of"] }}' as date), {{ as_of() }})
         and {{ date_expr }} <= greatest(cast('{{ previous["as_of"] }}' as date), {{ as_of() }}))
    {%- endif -%}
{%- endmacro %}


{#- Predicate: the row's key has a raw version loaded since the previous build. -#}
{% macro opskpi_key_in_delta(entity, keys) -%}
    ({{ keys | join(', ') }}) in ({{ opskpi_delta(entity, keys) }})
{%- endmacro %}
