{#-
  The few operations dbt's cross-database macros don't cover, dispatched per adapter so
  the same models run on DuckDB and on Spark (dbt-spark).
-#}

{#- Site-local calendar date of an instant, in IANA zone `tz`. -#}
{% macro local_date(ts, tz) -%}
    {{ return(adapter.dispatch('local_date', 'opskpi')(ts, tz)) }}
{%- endmacro %}
{% macro default__local_date(ts, tz) -%}
    cast(timezone({{ tz }}, {{ ts }}) as date)
{%- endmacro %}
{% macro spark__local_date(ts, tz) -%}
    to_date(from_utc_timestamp({{ ts }}, {{ tz }}))
{%- endmacro %}

{#- Seconds since the epoch of an instant (durations between instants are DST-proof). -#}
{% macro epoch_seconds(ts) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'opskpi')(ts)) }}
{%- endmacro %}
{% macro default__epoch_seconds(ts) -%}
    epoch({{ ts }})
{%- endmacro %}
{% macro spark__epoch_seconds(ts) -%}
    cast(unix_micros({{ ts }}) as double) / 1000000
{%- endmacro %}

{#- Monday of the ISO week / first day of the month of a date, as a date. -#}
{% macro week_start(d) -%}
    cast({{ dbt.date_trunc('week', d) }} as date)
{%- endmacro %}
{% macro month_start(d) -%}
    cast({{ dbt.date_trunc('month', d) }} as date)
{%- endmacro %}
