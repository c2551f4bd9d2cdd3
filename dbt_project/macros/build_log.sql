{#-
  After a complete, error-free build, remember what it was built from: the as-of date, the
  fingerprint of the project and its business-rule vars (computed by flows/build, which
  reads it back to decide between a full and an incremental build) and the newest raw row
  it saw. Incremental models read this to know what changed since (macros/incremental.sql).
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
                watermark timestamp with time zone,
                fingerprint varchar
            );
            insert into meta.build_log (built_at, invocation_id, as_of, fingerprint, watermark)
            select
                current_timestamp,
                '{{ invocation_id }}',
                {{ as_of() }},
                '{{ var("opskpi_fingerprint", "manual") }}',
                (select max(_loaded_at) from (
                    {% for entity in raw_entities() %}
                    select max(_loaded_at) as _loaded_at from {{ source('raw', entity) }}
                    {% if not loop.last %}union all{% endif %}
                    {% endfor %}
                ) as loads);
        {% endif %}
    {% endif %}
{% endmacro %}

{#- Every raw table of the contract (the generated sources). -#}
{% macro raw_entities() -%}
    {{ return(graph.sources.values() | selectattr('source_name', 'equalto', 'raw')
              | map(attribute='name') | sort | list) }}
{%- endmacro %}
