{#-
  The surviving version of each business key of raw `entity` (exports.md, "Loading is
  idempotent"). The key and the order of versions are the contract's (flows/contract.py,
  Entity.version_order), read from the generated source's meta (models/staging/_sources.yml):
  greatest updated_at (nulls oldest), then greatest file path, then greatest row number,
  then the latest load. With `only_changed_keys` (incremental staging models), only the keys
  with a version loaded since the previous build are ranked again (macros/incremental.sql).
-#}
{% macro surviving_version(entity, only_changed_keys=false) -%}
{%- set meta = raw_source_meta(entity) -%}
{%- set where = opskpi_key_in_delta(entity, meta['keys'])
        if only_changed_keys and opskpi_can_reuse_previous_build() else none -%}
select * from (
    select
        *,
        row_number() over (
            partition by {{ meta['keys'] | join(', ') }}
            order by {{ meta['version_order'] }}
        ) as _version_rank
    from {{ source('raw', entity) }}
    {% if where %}where {{ where }}{% endif %}
) as versions
where _version_rank = 1
{%- endmacro %}


{#- meta of the raw source table `entity`: keys (list) and version_order (SQL). -#}
{% macro raw_source_meta(entity) %}
    {% if not execute %}{{ return({'keys': ['1'], 'version_order': '1'}) }}{% endif %}
    {% set node = graph.sources.get('source.' ~ project_name ~ '.raw.' ~ entity) %}
    {% if node is none %}
        {{ exceptions.raise_compiler_error("no raw source '" ~ entity ~ "' (regenerate _sources.yml)") }}
    {% endif %}
    {{ return(node.meta) }}
{% endmacro %}


{#- The business key columns of raw `entity`. -#}
{% macro raw_keys(entity) %}
    {{ return(raw_source_meta(entity)['keys']) }}
{% endmacro %}
