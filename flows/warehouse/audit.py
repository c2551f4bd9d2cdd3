"""The audit tables the pipeline writes from its own records (not from dbt): the run
history (``audit.runs``) and the gate's results (``audit.quality_results``).

``audit.load_manifest`` and ``audit.quarantine`` are written by ingestion (flows/ingest);
``audit.data_freshness`` is a dbt model.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from flows.db import quote_ident

RUNS_COLUMNS = {
    "run_id": "VARCHAR",
    "as_of_date": "DATE",
    "started_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ",
    "published_at": "TIMESTAMPTZ",
    "outcome": "VARCHAR",
    "reason": "VARCHAR",
    "full_refresh": "BOOLEAN",
    "exports_dir": "VARCHAR",
    "step_seconds": "JSON",
    "files": "JSON",
    "rows_published": "JSON",
    "checks_failed": "VARCHAR[]",
    "checks_warned": "VARCHAR[]",
    "prefect_flow_run_id": "VARCHAR",
    "thresholds": "JSON",
}

QUALITY_COLUMNS = {
    "run_id": "VARCHAR",
    "suite": "VARCHAR",
    "check": "VARCHAR",
    "table_name": "VARCHAR",
    "severity": "VARCHAR",
    "success": "BOOLEAN",
    "observed": "VARCHAR",
    "details": "VARCHAR",
}


def write_records(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], records: list[dict]
) -> None:
    """(Re)create ``table`` with ``columns`` and the given records (one row per record)."""
    cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")
    if not records:
        return
    import pyarrow as pa  # small: one row per run or check

    data = {c: [_cell(r.get(c), t) for r in records] for c, t in columns.items()}
    arrow = pa.table({c: pa.array(v, type=_arrow_type(columns[c])) for c, v in data.items()})
    con.register("_records", arrow)
    try:
        casts = ", ".join(f"CAST({quote_ident(c)} AS {t})" for c, t in columns.items())
        con.execute(f"INSERT INTO {table} SELECT {casts} FROM _records")
    finally:
        con.unregister("_records")


def _arrow_type(sql_type: str):
    import pyarrow as pa

    if sql_type == "BOOLEAN":
        return pa.bool_()
    if sql_type.endswith("[]"):
        return pa.list_(pa.string())
    return pa.string()


def _cell(value: Any, sql_type: str):
    if value is None:
        return None
    if sql_type == "JSON":
        return json.dumps(value, default=str, sort_keys=True)
    if sql_type == "BOOLEAN":
        return bool(value)
    if sql_type.endswith("[]"):
        return [str(v) for v in value]
    return str(value)
