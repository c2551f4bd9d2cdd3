"""The dbt sources of the raw tables, generated from the contract.

``dbt_project/models/staging/_sources.yml`` is written by this module and never edited by
hand: the columns, their documentation, the business keys and the order of versions of
every raw table come from :mod:`flows.contract`, so dbt's staging models (through the
``surviving_version`` macro, which reads ``meta``) and ingestion cannot drift apart.

Regenerate after changing the contract:  ``python -m flows.ingest.dbt_sources``
(``tests/test_contract.py`` fails while the committed file differs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from flows.contract import ENTITIES, Column, Entity
from flows.ingest.load import LINEAGE_COLUMNS
from flows.settings import get_settings

_TYPE_WORDS = {"text": "text", "int": "integer", "num": "decimal", "date": "date",
               "ts": "timestamp (instant)", "date_or_ts": "date or timestamp (instant)",
               "bool": "boolean", "month": "month (first day)"}

_LINEAGE_DOCS = {
    "_file": "export file, relative to the exports folder",
    "_row": "row number in the file (1 = first data row)",
    "_run_id": "refresh run that loaded the row",
    "_loaded_at": "when the row was loaded",
}

_HEADER = """\
# GENERATED from flows/contract.py by `python -m flows.ingest.dbt_sources`: do not edit.
# meta.keys and meta.version_order are read by macros/surviving_version.sql.
"""


def _column_doc(col: Column) -> str:
    parts = [_TYPE_WORDS[col.type]]
    if col.key:
        parts.append("key")
    elif col.required:
        parts.append("required")
    if col.required_when:
        parts.append(f"required when {col.required_when} is set")
    if col.allowed:
        parts.append("one of " + "|".join(col.allowed))
    if col.currency:
        parts.append("ISO currency code (upper-case)")
    if col.minimum is not None:
        parts.append(f"{'>' if col.minimum_exclusive else '>='} {col.minimum}")
    if col.maximum is not None:
        parts.append(f"<= {col.maximum}")
    if col.default is not None:
        parts.append(f"null = {col.default}")
    if col.doc:
        parts.append(col.doc)
    return "; ".join(parts)


def _table(entity: Entity) -> dict:
    columns = [{"name": c.name, "description": _column_doc(c)} for c in entity.columns]
    columns += [{"name": name, "description": _LINEAGE_DOCS[name]} for name in LINEAGE_COLUMNS]
    return {
        "name": entity.name,
        "description": f"{entity.doc} Key: {', '.join(entity.keys)}.",
        "meta": {"keys": entity.keys, "version_order": entity.version_order.lower(),
                 "dbt_source": entity.source},
        "columns": columns,
    }


def dbt_sources_yaml() -> str:
    """The text of ``_sources.yml`` for the contract as it is now."""
    doc = {
        "version": 2,
        "sources": [{
            "name": "raw",
            "description": (
                "Every valid version of every exported record, as loaded by `opskpi refresh` "
                "(flows/ingest). Written by the pipeline, never by dbt. Columns follow "
                "flows/contract.py, plus lineage: _file (path in the exports folder), _row "
                "(1 = first data row), _run_id, _loaded_at."),
            "schema": "raw",
            "tables": [_table(e) for e in ENTITIES],
        }],
    }
    return _HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def sources_path() -> Path:
    return get_settings().dbt_project_dir / "models" / "staging" / "_sources.yml"


def main() -> None:
    path = sources_path()
    path.write_text(dbt_sources_yaml(), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
