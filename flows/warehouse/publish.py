"""Private build → published file: written beside it, verified, then renamed over it.

The published DuckDB file is only ever *replaced*, never written in place: a new file is
written next to it with the ``core``, ``kpi`` and ``audit`` schemas, flushed to disk,
read back (every table's row count must equal what was copied), and only then renamed
over the old one (``os.replace``). An analyst process that has the old file open keeps
reading the old data; a new process sees the new file; nobody ever sees half a publish,
and a publish that could not write completely (a full disk) fails and leaves the old
file in place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.db import connect, quote_ident, quote_literal
from flows.warehouse.audit import QUALITY_COLUMNS, RUNS_COLUMNS, write_records
from flows.warehouse.history import append_run, read_quality_results, read_runs
from flows.warehouse.paths import StatePaths
from flows.warehouse.private_build import commit_build, fsync_dir, fsync_file

PUBLISHED_SCHEMAS = ("core", "kpi", "audit")


class PublishFailed(RuntimeError):
    """The new file could not be written completely; the published file is unchanged."""


@dataclass
class PublishResult:
    warehouse: Path
    rows: dict[str, int] = field(default_factory=dict)
    size_bytes: int = 0


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


def publish(paths: StatePaths, current_run: dict) -> PublishResult:
    """Publish the private build: write, verify, swap in; then it becomes the working state."""
    try:
        rows = write_published_copy(paths.build_db, paths.publish_tmp, paths, current_run)
        size = verify_published_copy(paths.publish_tmp, rows)
    except PublishFailed:
        remove_partial(paths.publish_tmp)
        raise
    except (OSError, duckdb.Error) as exc:  # e.g. the disk filled while it was written
        remove_partial(paths.publish_tmp)
        raise PublishFailed(f"the new file could not be written: {' '.join(str(exc).split())}") from exc
    replace_published(paths.publish_tmp, paths.warehouse)
    commit_build(paths)
    # in the history at once: a run killed while it writes the pages has published all the
    # same (its final record, appended when it ends, replaces this one)
    append_run(paths, {**current_run, "rows_published": dict(rows)})
    return PublishResult(paths.warehouse, rows, size)


def remove_partial(tmp: Path) -> None:
    """Remove what an unfinished publish left beside the warehouse: the file, its WAL and
    DuckDB's spill folder."""
    import shutil

    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(tmp.with_name(tmp.name + ".tmp"), ignore_errors=True)


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
        write_records(con, "audit.runs", RUNS_COLUMNS, runs)
        write_records(con, "audit.quality_results", QUALITY_COLUMNS, read_quality_results(paths))
        rows["audit.runs"] = len(runs)
        rows["audit.quality_results"] = con.execute(
            "SELECT count(*) FROM audit.quality_results").fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return rows


def verify_published_copy(target: Path, rows: dict[str, int]) -> int:
    """Flush ``target`` to disk and read it back: every table must hold the rows written.

    Returns its size in bytes. Raises :class:`PublishFailed` otherwise (e.g. a disk that
    filled while the file was written), after removing the incomplete file.
    """
    try:
        fsync_file(target)
        size = target.stat().st_size
        if size == 0:
            raise PublishFailed(f"{target} is empty")
        con = connect(target, read_only=True)
        try:
            for name, expected in rows.items():
                schema, table = name.split(".", 1)
                got = con.execute(f"SELECT count(*) FROM {schema}.{quote_ident(table)}").fetchone()[0]
                if got != expected:
                    raise PublishFailed(f"{name} has {got} rows in the new file, {expected} written")
        finally:
            con.close()
    except PublishFailed:
        target.unlink(missing_ok=True)
        raise
    except (OSError, duckdb.Error) as exc:
        target.unlink(missing_ok=True)
        raise PublishFailed(f"the new file could not be read back: {exc}") from exc
    return size


def replace_published(tmp: Path, warehouse: Path) -> None:
    """Atomically put ``tmp`` in place of ``warehouse`` (fsync file, rename, fsync dir)."""
    fsync_file(tmp)
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    # A stale WAL beside the published name would not match the new file.
    warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, warehouse)
    fsync_dir(warehouse.parent)
