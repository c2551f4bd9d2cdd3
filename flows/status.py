"""``opskpi status``: the state of a warehouse at a glance, for the person on call.

Runs come from the pipeline's run history (blocked and failed runs included: they never
reach the published file); freshness, quarantine, rejected files and the published
run's checks come from the published warehouse, opened read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from flows.db import connect
from flows.state import read_quality_results, read_runs, state_paths

#: The business date of each entity's newest event in the published facts.
#: The business date of each entity's newest event on or before the as-of date (facts
#: also hold later-dated records, which don't make the data any fresher).
FRESHNESS_SQL = {
    "shipments": "SELECT max(shipped_date) FROM core.fct_deliveries WHERE shipped_date <= $as_of",
    "order_lines": "SELECT max(order_placed_date) FROM core.fct_order_lines "
                   "WHERE order_placed_date <= $as_of",
    "purchase_order_lines": "SELECT max(CAST(ordered_at AS DATE)) FROM core.fct_po_lines "
                            "WHERE CAST(ordered_at AS DATE) <= $as_of",
    "invoice_lines": "SELECT max(invoice_date) FROM core.fct_spend WHERE invoice_date <= $as_of",
    "timesheets": "SELECT max(work_date) FROM core.fct_labor WHERE work_date <= $as_of",
}


@dataclass
class Status:
    warehouse: Path
    published: bool
    runs: list[dict[str, Any]]
    as_of: date | None = None
    freshness: list[tuple[str, date | None, int | None]] = field(default_factory=list)
    loads: list[tuple] = field(default_factory=list)  # entity, files, rows, quarantined, last load
    rejected: list[tuple[str, str]] = field(default_factory=list)
    failing: list[dict[str, Any]] = field(default_factory=list)


def read_status(warehouse: Path, runs_shown: int = 8) -> Status:
    paths = state_paths(warehouse)
    runs = read_runs(paths)[-runs_shown:]
    status = Status(warehouse=paths.warehouse, published=paths.warehouse.is_file(), runs=runs)
    if runs:
        last_run = runs[-1]["run_id"]
        status.failing = [
            r for r in read_quality_results(paths) if r.get("run_id") == last_run and not r.get("success")
        ]
    if not status.published:
        return status
    con = connect(paths.warehouse, read_only=True)  # UTC, like every other opskpi reader
    try:
        row = con.execute(
            "SELECT max(as_of_date) FROM audit.runs WHERE outcome = 'published'"
        ).fetchone()
        status.as_of = row[0] if row else None
        for entity, sql in FRESHNESS_SQL.items():
            newest = con.execute(sql, {"as_of": status.as_of}).fetchone()[0]
            lag = (status.as_of - newest).days if newest and status.as_of else None
            status.freshness.append((entity, newest, lag))
        status.loads = con.execute(
            """
            SELECT entity, count(*) FILTER (status = 'loaded'), sum(rows_loaded),
                   sum(rows_quarantined), max(loaded_at) FILTER (status = 'loaded')
            FROM audit.load_manifest WHERE entity IS NOT NULL
            GROUP BY entity ORDER BY entity
            """
        ).fetchall()
        status.rejected = con.execute(
            "SELECT path, coalesce(reason, status) FROM audit.load_manifest "
            "WHERE status IN ('rejected', 'unrecognised') ORDER BY path"
        ).fetchall()
    finally:
        con.close()
    return status


def render_status(status: Status, console: Console | None = None) -> None:
    console = console or Console()
    console.print(_headline(status))
    console.print(_runs_table(status.runs))
    if status.published:
        console.print(_freshness_table(status))
        console.print(_loads_table(status))
    if status.rejected:
        t = Table(title="Files not loaded", title_justify="left", expand=False)
        t.add_column("file")
        t.add_column("reason", overflow="fold")
        for path, reason in status.rejected:
            t.add_row(path, reason)
        console.print(t)
    if status.failing:
        t = Table(title="Checks failing in the last run", title_justify="left")
        for col in ("severity", "check", "table", "observed"):
            t.add_column(col, overflow="fold")
        for r in sorted(status.failing, key=lambda r: r.get("severity") != "error"):
            style = "bold red" if r.get("severity") == "error" else "yellow"
            t.add_row(Text(str(r.get("severity")), style=style), f"{r.get('suite')}.{r.get('check')}",
                      str(r.get("table_name")), str(r.get("observed")))
        console.print(t)
    else:
        console.print(Text("No failing checks in the last run.", style="green"))


def _headline(status: Status) -> Panel:
    last = status.runs[-1] if status.runs else None
    lines = [Text(f"warehouse {status.warehouse}", style="bold")]
    if not status.published:
        lines.append(Text("never published", style="bold red"))
    elif status.as_of:
        lines.append(Text(f"published data as of {status.as_of}"))
    if last:
        style = {"published": "green", "blocked": "bold yellow"}.get(last["outcome"], "bold red")
        text = f"last run {last['run_id']}: {last['outcome'].upper()}"
        if last.get("reason"):
            text += f", {last['reason']}"
        lines.append(Text(text, style=style))
        if last.get("outcome") != "published" and last.get("quality_report"):
            lines.append(Text(f"details: {last['quality_report']}"))
    return Panel(Group(*lines), title="opskpi status", expand=False)


def _runs_table(runs: list[dict[str, Any]]) -> Table:
    t = Table(title="Last runs", title_justify="left")
    for col in ("run", "as of", "started", "took", "outcome", "files loaded", "rows", "quarantined",
                "checks failed"):
        t.add_column(col)
    for r in reversed(runs):
        files = r.get("files") or {}
        took = _seconds(r.get("started_at"), r.get("finished_at"))
        style = {"published": "green", "blocked": "yellow"}.get(r.get("outcome"), "red")
        t.add_row(
            r.get("run_id", ""), str(r.get("as_of_date", "")), str(r.get("started_at", ""))[:19],
            f"{took:.0f} s" if took is not None else "", Text(r.get("outcome", ""), style=style),
            str(files.get("files_loaded", "")), str(files.get("rows_loaded", "")),
            str(files.get("rows_quarantined", "")), str(len(r.get("checks_failed") or [])),
        )
    return t


def _freshness_table(status: Status) -> Table:
    t = Table(title=f"Freshness (newest event vs as-of {status.as_of})", title_justify="left")
    t.add_column("entity")
    t.add_column("newest event")
    t.add_column("days behind", justify="right")
    for entity, newest, lag in status.freshness:
        style = "red" if lag is not None and lag > 7 else ""
        t.add_row(entity, str(newest or "none"), Text("" if lag is None else str(lag), style=style))
    return t


def _loads_table(status: Status) -> Table:
    t = Table(title="Loaded and quarantined", title_justify="left")
    for col in ("entity", "files", "rows loaded", "rows quarantined", "last load"):
        t.add_column(col, justify="right" if col != "entity" else "left")
    for entity, files, rows, bad, last in status.loads:
        t.add_row(entity, str(files), str(rows or 0), Text(str(bad or 0), style="yellow" if bad else ""),
                  str(last)[:19] if last else "")
    return t


def _seconds(start: Any, end: Any) -> float | None:
    try:
        return (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds()
    except (TypeError, ValueError):
        return None


def status_json(status: Status) -> str:
    return json.dumps(
        {
            "warehouse": str(status.warehouse), "published": status.published,
            "as_of": status.as_of, "runs": status.runs, "freshness": status.freshness,
            "loads": status.loads, "rejected": status.rejected, "failing_checks": status.failing,
        },
        default=str, indent=1,
    )
