"""``opskpi status``: the state of a warehouse at a glance, for the person on call.

Runs come from the pipeline's run history in the state folder (blocked and failed runs
included: they never reach the published file); freshness, loads, rejected files come
from the published warehouse, read-only. One line per fact, so nothing is truncated in
an 80-column terminal or a mail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.db import open_read_only
from flows.warehouse.history import read_quality_results, read_runs
from flows.warehouse.paths import StatePaths


class NoWarehouse(Exception):
    """Neither a published file nor any run history: nothing to report on."""


@dataclass
class Status:
    warehouse: Path
    state_dir: Path
    published: bool
    runs: list[dict[str, Any]]
    as_of: date | None = None
    freshness: list[dict[str, Any]] = field(default_factory=list)
    loads: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    last_checks: list[dict[str, Any]] = field(default_factory=list)  # failed, of the last run
    freshness_max_days: int = 7

    @property
    def last_run(self) -> dict[str, Any] | None:
        return self.runs[-1] if self.runs else None


def read_status(paths: StatePaths, freshness_max_days: int = 7, runs_shown: int = 8) -> Status:
    runs = read_runs(paths)[-runs_shown:]
    published = paths.warehouse.is_file()
    if not published and not runs:
        raise NoWarehouse(
            f"no warehouse at {paths.warehouse} and no run history in {paths.root}: "
            "nothing has been refreshed there (check --warehouse / OPSKPI_STATE_DIR)"
        )
    status = Status(paths.warehouse, paths.root, published, runs, freshness_max_days=freshness_max_days)
    if runs:
        last = runs[-1]["run_id"]
        status.last_checks = [
            r for r in read_quality_results(paths) if r.get("run_id") == last and not r.get("success")
        ]
    if published:
        con = open_read_only(paths.warehouse)
        try:
            _read_published(con, status)
        finally:
            con.close()
    return status


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _read_published(con: duckdb.DuckDBPyConnection, status: Status) -> None:
    row = con.execute("SELECT max(as_of_date) FROM audit.runs WHERE outcome = 'published'").fetchone()
    status.as_of = row[0] if row else None
    tables = {t for (t,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'audit'").fetchall()}
    if "data_freshness" in tables:
        status.freshness = _rows(
            con, "SELECT entity, event, newest_event_date, days_behind "
                 "FROM audit.data_freshness ORDER BY entity")
    status.loads = _rows(con, """
        SELECT entity, count(*) FILTER (status = 'loaded') AS files, sum(rows_loaded) AS rows_loaded,
               sum(rows_quarantined) AS rows_quarantined,
               max(loaded_at) FILTER (status = 'loaded') AS last_load
        FROM audit.load_manifest WHERE entity IS NOT NULL
        GROUP BY entity ORDER BY entity""")
    status.rejected = _rows(con, """
        SELECT path, status, coalesce(reason, status) AS reason FROM audit.load_manifest
        WHERE status IN ('rejected', 'unrecognised') ORDER BY path""")


def run_seconds(run: dict[str, Any]) -> float | None:
    """How long a run took: to its publication for a published run, else to its end.
    The report shows the same figure."""
    end = run.get("published_at") or run.get("finished_at")
    try:
        started = datetime.fromisoformat(str(run.get("started_at")))
        return (datetime.fromisoformat(str(end)) - started).total_seconds()
    except (TypeError, ValueError):
        return None


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def render_status(status: Status) -> str:
    """The status as plain lines (nothing truncated)."""
    out = [f"warehouse  {status.warehouse}", f"state      {status.state_dir}"]
    if status.published:
        out.append(f"published  data as of {status.as_of}")
    else:
        out.append("published  NOT YET: no refresh has published this warehouse")
    last = status.last_run
    if last:
        line = f"last run   {last['run_id']}: {str(last.get('outcome', '')).upper()}"
        if last.get("reason"):
            line += f", {last['reason']}"
        out.append(line)
        if last.get("outcome") != "published":
            if last.get("quality_report"):
                out.append(f"details    {last['quality_report']}")
            if last.get("log"):
                out.append(f"log        {last['log']}")
    out += ["", "Last runs (newest first):"]
    for r in reversed(status.runs):
        files = r.get("files") or {}
        took = run_seconds(r)
        out.append(
            f"  {r.get('run_id', '')}  as of {r.get('as_of_date', '')}  {r.get('outcome', '')!s:9}"
            f"  {'' if took is None else f'{took:.0f} s':>6}"
            f"  files {files.get('files_loaded', 0)} loaded, {files.get('files_rejected', 0)} rejected"
            f"  rows {files.get('rows_loaded', 0)} loaded, {files.get('rows_quarantined', 0)} quarantined"
            f"  checks {_plural(len(r.get('checks_failed') or []), 'error')},"
            f" {_plural(len(r.get('checks_warned') or []), 'warning')}"
        )
    if status.freshness:
        out += ["", f"Freshness (newest event on or before the as-of date {status.as_of}):"]
        for f in status.freshness:
            behind = f["days_behind"]
            flag = "  STALE" if behind is None or behind > status.freshness_max_days else ""
            out.append(f"  {f['entity']:22} {f['event']:18} {f['newest_event_date'] or 'none'}"
                       f"  {'' if behind is None else _plural(behind, 'day') + ' behind'}{flag}")
    if status.loads:
        out += ["", "Loaded and quarantined (all runs):"]
        for row in status.loads:
            out.append(f"  {row['entity']:22} {row['files']:>4} files  {row['rows_loaded'] or 0:>10} rows"
                       f"  {row['rows_quarantined'] or 0:>6} quarantined"
                       f"  last load {str(row['last_load'] or '')[:19]}")
    if status.rejected:
        out += ["", "Files not loaded:"]
        out += [f"  {r['path']}: {r['reason']}" for r in status.rejected]
    if status.last_checks:
        out += ["", "Checks failing in the last run:"]
        for r in sorted(status.last_checks, key=lambda r: r.get("severity") != "error"):
            word = "ERROR" if r.get("severity") == "error" else "warning"
            out.append(f"  {word:7} {r.get('suite')}.{r.get('check')} on {r.get('table_name')}:"
                       f" {r.get('observed')}")
    elif last:
        out += ["", "No failing checks in the last run."]
    return "\n".join(out)


def status_json(status: Status) -> str:
    return json.dumps(
        {
            "warehouse": str(status.warehouse), "state_dir": str(status.state_dir),
            "published": status.published, "as_of": status.as_of, "runs": status.runs,
            "freshness": status.freshness, "loads": status.loads, "rejected": status.rejected,
            "failing_checks": status.last_checks,
        },
        default=str, indent=1,
    )
