{#-
  The surviving version of each business key (exports.md, "Loading is idempotent"):
  greatest updated_at (nulls oldest), then greatest file path, then greatest row number,
  then - beyond the contract, for a corrected file re-delivered under the same name,
  whose rows tie on path and row - the latest load.
  `where` optionally restricts the keys considered (incremental runs).
-#}
{% macro surviving_version(relation, keys, has_updated_at=true, where=none) -%}
select * from (
    select
        *,
        row_number() over (
            partition by {{ keys | join(', ') }}
            order by {% if has_updated_at %}updated_at desc nulls last, {% endif %}_file desc, _row desc, _loaded_at desc
        ) as _version_rank
    from {{ relation }}
    {% if where %}where {{ where }}{% endif %}
) as versions
where _version_rank = 1
{%- endmacro %}
