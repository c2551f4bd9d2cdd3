{#-
  Two more cross-database operations, for the inventory and service-level models;
  dispatched per adapter like macros/cross_db.sql.
-#}

{#- The instant `hours` elapsed hours after instant `ts` (fractional hours allowed):
    absolute time, whatever the clocks of any time zone do in between. -#}
{% macro add_hours(ts, hours) -%}
    {{ return(adapter.dispatch('add_hours', 'opskpi')(ts, hours)) }}
{%- endmacro %}
{% macro default__add_hours(ts, hours) -%}
    ({{ ts }} + to_microseconds(cast(round({{ hours }} * 3600000000) as bigint)))
{%- endmacro %}
{% macro spark__add_hours(ts, hours) -%}
    timestamp_micros(unix_micros({{ ts }}) + cast(round({{ hours }} * 3600000000) as bigint))
{%- endmacro %}

{#- A set-returning select expression: one row per calendar date from `start_date` to
    `end_date`, both included (callers keep end_date ≥ start_date). Use as
    `select key, {{ day_series('a', 'b') }} as date from ranges`. -#}
{% macro day_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_series', 'opskpi')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__day_series(start_date, end_date) -%}
    cast(unnest(generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 day)) as date)
{%- endmacro %}
{% macro spark__day_series(start_date, end_date) -%}
    explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day))
{%- endmacro %}
