{#-
  After a complete, error-free build, remember what it was built from: the as-of date,
  the business-rule vars and the newest raw row it saw. Incremental models read this to
  know what changed since (see macros/incremental.sql).
-#}
{% macro opskpi_record_build(results) %}
    {% if execute and flags.WHICH in ('build', 'run') and not invocation_args_dict.get('select') %}
        {% set broken = results | selectattr('status', 'in', ['error', 'skipped', 'runtime error']) | list %}
        {% if broken | length == 0 %}
            create schema if not exists meta;
            create table if not exists meta.build_log (
                built_at timestamp with time zone,
                invocation_id varchar,
                as_of date,
                params varchar,
                watermark timestamp with time zone,
                fingerprint varchar
            );
            alter table meta.build_log add column if not exists fingerprint varchar;
            insert into meta.build_log (built_at, invocation_id, as_of, params, fingerprint, watermark)
            select
                current_timestamp,
                '{{ invocation_id }}',
                {{ as_of() }},
                '{{ opskpi_params() }}',
                '{{ var("opskpi_fingerprint", "manual") }}',
                (select max(_loaded_at) from (
                    {% for entity in opskpi_entities() %}
                    select max(_loaded_at) as _loaded_at from {{ source('raw', entity) }}
                    {% if not loop.last %}union all{% endif %}
                    {% endfor %}
                ) as loads);
        {% endif %}
    {% endif %}
{% endmacro %}

{#- The business-rule vars: a build with other values cannot reuse earlier results. -#}
{% macro opskpi_params() -%}
    {{- 'overtime_weekly_threshold_hours=' ~ var('overtime_weekly_threshold_hours')
        ~ ';overtime_multiplier=' ~ var('overtime_multiplier')
        ~ ';price_match_tolerance=' ~ var('price_match_tolerance')
        ~ ';cycle_count_tolerance=' ~ var('cycle_count_tolerance')
        ~ ';incident_rate_hours_base=' ~ var('incident_rate_hours_base') -}}
{%- endmacro %}

{% macro opskpi_entities() -%}
    {{ return(['sites', 'carriers', 'vendors', 'employees', 'pay_rates', 'fx_rates', 'budgets',
               'order_lines', 'shipments', 'purchase_order_lines', 'goods_receipts',
               'invoice_lines', 'timesheets', 'inventory_snapshots', 'cycle_counts', 'returns',
               'service_tickets', 'safety_incidents']) }}
{%- endmacro %}
