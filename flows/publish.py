"""Private build → published file, atomically.

The published DuckDB file is only ever *replaced*, never written in place: a new file
is written next to it with the ``core``, ``kpi`` and ``audit`` schemas, flushed to
disk, and renamed over the old one (``os.replace``). An analyst process that has the
old file open keeps reading the old data; a new process sees the new file; nobody
ever sees half a publish, and nobody holds a lock the refresh needs.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from flows.db import connect, quote_ident, quote_literal
from flows.state import StatePaths, read_quality_results, read_runs

PUBLISHED_SCHEMAS = ("core", "kpi", "audit")

RUNS_COLUMNS = {
    "run_id": "VARCHAR",
    "as_of_date": "DATE",
    "started_at": "TIMESTAMPTZ",
    "finished_at": "TIMESTAMPTZ",
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


def published_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    """(schema, table) of every table or view of the published schemas in ``catalog``."""
    schemas = ", ".join(quote_literal(s) for s in PUBLISHED_SCHEMAS)
    return [
        (s, t)
        for s, t in con.execute(
            f"""
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_catalog = {quote_literal(catalog)} AND table_schema IN ({schemas})
              AND table_name NOT LIKE 'dbt_%'
            ORDER BY 1, 2
            """
        ).fetchall()
    ]


def write_published_copy(
    build_db: Path, target: Path, paths: StatePaths, current_run: dict | None
) -> dict[str, int]:
    """Write ``core``, ``kpi`` and ``audit`` of ``build_db`` (plus run history) to ``target``.

    Returns rows per published table (recorded in ``audit.runs``).
    """
    target.unlink(missing_ok=True)
    con = connect(target)
    try:
        con.execute(f"ATTACH {quote_literal(str(build_db))} AS build (READ_ONLY)")
        rows: dict[str, int] = {}
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for schema, table in published_tables(con, "build"):
            name = f"{schema}.{quote_ident(table)}"
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM build.{name}")
            rows[f"{schema}.{table}"] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        con.execute("DETACH build")
        runs = read_runs(paths)
        if current_run:
            # the publishing run's own record, with the row counts it is publishing
            runs.append({**current_run, "rows_published": dict(rows)})
        _write_records(con, "audit.runs", RUNS_COLUMNS, runs)
        _write_records(con, "audit.quality_results", QUALITY_COLUMNS, read_quality_results(paths))
        rows["audit.runs"] = len(runs)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return rows


def _write_records(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], records: list[dict]
) -> None:
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


def _cell(value, sql_type: str):
    import json

    if value is None:
        return None
    if sql_type == "JSON":
        return json.dumps(value, default=str, sort_keys=True)
    if sql_type == "BOOLEAN":
        return bool(value)
    if sql_type.endswith("[]"):
        return [str(v) for v in value]
    return str(value)


def replace_published(tmp: Path, warehouse: Path) -> None:
    """Atomically put ``tmp`` in place of ``warehouse`` (fsync file, rename, fsync dir)."""
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    # A stale WAL beside the published name would not match the new file.
    warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, warehouse)
    fd = os.open(warehouse.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
