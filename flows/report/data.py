"""Everything the report shows, read from the published warehouse with SQL.

Only the published ``kpi`` and ``audit`` tables are read (plus ``core.dim_*`` for the
names of sites, carriers and vendors), through the same locked-down read-only
connection as ``opskpi query``: the report can run while a refresh publishes, and it
cannot change the file it describes. Each query returns a small, already aggregated
result (a week of the scorecard, the weekly series, a month of budget lines); no table
is pulled into Python whole, and no KPI is recomputed here: the values, targets and
statuses are the marts' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from flows.db import open_read_only
from flows.report.catalogue import Catalogue, read_catalogue

ALL_SITES = "ALL"


@dataclass(frozen=True)
class Site:
    """A column of the scorecard / a series of the charts."""

    site_id: str
    name: str
    is_known: bool

    @property
    def label(self) -> str:
        if self.site_id == ALL_SITES:
            return "All sites"
        if not self.is_known:
            return f"{self.site_id} (not in the sites export)"
        return f"{self.name} ({self.site_id})" if self.name else self.site_id


@dataclass
class ReportData:
    """The report's content, section by section (plain rows, ready to render)."""

    warehouse: Path
    as_of: date | None
    published_run: dict[str, Any] | None
    sites: list[Site]
    scorecard_week: date | None
    scorecard_week_complete: bool
    scorecard: dict[tuple[str, str], dict[str, Any]]  # (kpi, site_id) → row
    scorecard_kpis: list[str]
    scorecard_summary: dict[str, dict[str, int]]  # site_id → {green, amber, red}
    week_volumes: dict[tuple[str, str], float | None]  # (kpi, site_id) → value
    weeks: list[date]
    weekly: dict[str, dict[str, dict[date, float | None]]]  # kpi → site → week → value
    targets: dict[str, dict[str, Any]]  # kpi → {target, direction} (the '*' target)
    carrier_months: list[date]
    carriers: list[dict[str, Any]]  # one per carrier, with "months": {month: row}
    vendor_months: list[dict[str, Any]]  # newest first: {month_start, rows}
    budget_months: list[dict[str, Any]]  # newest first: {month_start, rows}
    runs: list[dict[str, Any]]
    manifest_summary: list[dict[str, Any]]
    problem_files: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    quality: dict[str, Any] = field(default_factory=dict)
    catalogue: Catalogue = field(default_factory=lambda: Catalogue([]))

    def complete_week(self, week_start: date) -> bool:
        return self.as_of is not None and week_start + timedelta(days=6) <= self.as_of

    def complete_month(self, month_start: date) -> bool:
        nxt = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return self.as_of is not None and nxt - timedelta(days=1) <= self.as_of


def read_report_data(warehouse: Path) -> ReportData:
    """Read every section of the report from ``warehouse`` (opened read-only)."""
    con = open_read_only(warehouse)
    try:
        return _read(con, Path(warehouse))
    finally:
        con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> Any:
    row = con.execute(sql, params or {}).fetchone()
    return row[0] if row else None


def _read(con: duckdb.DuckDBPyConnection, warehouse: Path) -> ReportData:
    runs = _runs(con)
    published = next((r for r in runs if r["outcome"] == "published"), None)
    # The as-of date the marts were built for: that of the run that published this file
    # (audit.runs holds it), else the last day dim_date flags as on or before as_of.
    as_of = (published or {}).get("as_of_date") or _one(
        con, "SELECT max(date_day) FROM core.dim_date WHERE is_on_or_before_as_of"
    )
    params = {"as_of": as_of}
    catalogue = read_catalogue(con)
    kpi_order = catalogue.order
    sites = _sites(con)
    week, complete = _scorecard_week(con, as_of)
    scorecard_rows = _rows(
        con,
        """SELECT kpi, site_id, value, target, direction, status
           FROM kpi.kpi_site_scorecard_weekly WHERE week_start = $week""",
        {"week": week},
    ) if week else []
    summary = {
        r["site_id"]: r
        for r in _rows(
            con,
            """SELECT site_id,
                      count(*) FILTER (WHERE status = 'green') AS green,
                      count(*) FILTER (WHERE status = 'amber') AS amber,
                      count(*) FILTER (WHERE status = 'red') AS red
               FROM kpi.kpi_site_scorecard_weekly WHERE week_start = $week
               GROUP BY site_id""",
            {"week": week},
        )
    } if week else {}
    volumes = {
        (r["kpi"], r["site_id"]): r["value"]
        for r in _rows(
            con,
            """SELECT kpi, site_id, value FROM kpi.kpi_weekly
               WHERE week_start = $week
                 AND kpi NOT IN (SELECT DISTINCT kpi FROM kpi.kpi_site_scorecard_weekly)""",
            {"week": week},
        )
    } if week else {}
    weekly_rows = _rows(
        con,
        """SELECT kpi, site_id, week_start, value FROM kpi.kpi_weekly
           WHERE week_start <= $as_of ORDER BY kpi, site_id, week_start""",
        params,
    ) if as_of else []
    weekly: dict[str, dict[str, dict[date, float | None]]] = {}
    for r in weekly_rows:
        weekly.setdefault(r["kpi"], {}).setdefault(r["site_id"], {})[r["week_start"]] = r["value"]
    weeks = sorted({r["week_start"] for r in weekly_rows})
    targets = {
        r["kpi"]: r
        for r in _rows(con, "SELECT kpi, target, direction FROM kpi.kpi_targets WHERE site_id = '*'")
    }
    carrier_months, carriers = _carriers(con, params)
    return ReportData(
        warehouse=warehouse,
        as_of=as_of,
        published_run=published,
        sites=sites,
        scorecard_week=week,
        scorecard_week_complete=complete,
        scorecard={(r["kpi"], r["site_id"]): r for r in scorecard_rows},
        scorecard_kpis=sorted({r["kpi"] for r in scorecard_rows}, key=kpi_order),
        scorecard_summary=summary,
        week_volumes=volumes,
        weeks=weeks,
        weekly=dict(sorted(weekly.items(), key=lambda kv: kpi_order(kv[0]))),
        targets=targets,
        carrier_months=carrier_months,
        carriers=carriers,
        vendor_months=_by_month(_rows(
            con,
            """SELECT v.month_start, v.vendor_id, d.vendor_name, d.category AS vendor_category,
                      coalesce(d.is_known_vendor, false) AS is_known_vendor,
                      v.spend_usd, v.po_lines_due, v.po_lines_otif, v.supplier_otif_rate,
                      v.price_variance_usd, v.invoice_lines_with_po, v.three_way_matched_lines,
                      v.three_way_match_rate
               FROM kpi.kpi_vendor_monthly AS v
               LEFT JOIN core.dim_vendor AS d USING (vendor_id)
               WHERE v.month_start <= $as_of
               ORDER BY v.month_start DESC, v.spend_usd DESC NULLS LAST, v.vendor_id""",
            params,
        )),
        budget_months=_by_month(_rows(
            con,
            """SELECT b.month_start, b.site_id, s.site_name, b.category, b.budget_usd,
                      b.actual_usd, b.variance_usd, b.variance_pct
               FROM kpi.kpi_budget_monthly AS b
               LEFT JOIN core.dim_site AS s USING (site_id)
               WHERE b.month_start <= $as_of
               ORDER BY b.month_start DESC, b.site_id, b.category""",
            params,
        )),
        runs=runs,
        manifest_summary=_rows(
            con,
            """SELECT status, count(*) AS files, sum(rows_read) AS rows_read,
                      sum(rows_loaded) AS rows_loaded, sum(rows_quarantined) AS rows_quarantined
               FROM audit.load_manifest GROUP BY status
               ORDER BY CASE status WHEN 'loaded' THEN 0 WHEN 'rejected' THEN 1
                                    WHEN 'unrecognised' THEN 2 ELSE 3 END, status""",
        ),
        problem_files=_rows(
            con,
            """SELECT path, entity, format, status, reason, run_id, loaded_at
               FROM audit.load_manifest WHERE status <> 'loaded'
               ORDER BY CASE status WHEN 'rejected' THEN 0 WHEN 'unrecognised' THEN 1 ELSE 2 END,
                        loaded_at DESC, path""",
        ),
        quarantine=_rows(
            con,
            """WITH q AS (
                   SELECT entity, file, count(*) AS quarantined_rows,
                          count(DISTINCT reasons) AS distinct_reasons,
                          list(DISTINCT reasons ORDER BY reasons)[1:3] AS example_reasons,
                          max(quarantined_at) AS quarantined_at
                   FROM audit.quarantine GROUP BY entity, file
               ),
               m AS (
                   SELECT path, arg_max(rows_read, loaded_at) AS rows_read,
                          arg_max(schema_drift, loaded_at) AS schema_drift
                   FROM audit.load_manifest GROUP BY path
               )
               SELECT q.*, m.rows_read, m.schema_drift
               FROM q LEFT JOIN m ON m.path = q.file
               ORDER BY q.quarantined_rows DESC, q.entity, q.file""",
        ),
        quality=_quality(con, published),
        catalogue=catalogue,
    )


def _sites(con: duckdb.DuckDBPyConnection) -> list[Site]:
    """'ALL' first, then every site of the weekly mart (known sites before unknown ones)."""
    rows = _rows(
        con,
        """SELECT w.site_id, d.site_name, coalesce(d.is_known_site, false) AS is_known
           FROM (SELECT DISTINCT site_id FROM kpi.kpi_weekly) AS w
           LEFT JOIN core.dim_site AS d USING (site_id)
           ORDER BY w.site_id <> 'ALL', NOT coalesce(d.is_known_site, false), w.site_id""",
    )
    return [
        Site(r["site_id"], r["site_name"] or "", r["site_id"] == ALL_SITES or r["is_known"])
        for r in rows
    ]


def _scorecard_week(con: duckdb.DuckDBPyConnection, as_of: date | None) -> tuple[date | None, bool]:
    """The latest complete ISO week ≤ as_of (Monday..Sunday all ≤ as_of) with a scorecard.

    Falls back to the latest week to date (flagged incomplete) when no week is complete.
    """
    if as_of is None:
        return None, False
    complete = _one(
        con,
        """SELECT max(week_start) FROM kpi.kpi_site_scorecard_weekly
           WHERE week_start + INTERVAL 6 DAY <= $as_of""",
        {"as_of": as_of},
    )
    if complete is not None:
        return complete, True
    latest = _one(
        con, "SELECT max(week_start) FROM kpi.kpi_site_scorecard_weekly WHERE week_start <= $as_of",
        {"as_of": as_of},
    )
    return latest, False


def _carriers(con: duckdb.DuckDBPyConnection, params: dict) -> tuple[list[date], list[dict]]:
    rows = _rows(
        con,
        """SELECT c.carrier_id, d.carrier_name, d.mode,
                  coalesce(d.is_known_carrier, false) AS is_known_carrier,
                  c.month_start, c.delivered_shipments, c.on_time_shipments, c.on_time_rate,
                  c.on_time_target, c.meets_target
           FROM kpi.kpi_carrier_monthly AS c
           LEFT JOIN core.dim_carrier AS d USING (carrier_id)
           WHERE c.month_start <= $as_of
           ORDER BY NOT coalesce(d.is_known_carrier, false), c.carrier_id, c.month_start""",
        params,
    )
    months = sorted({r["month_start"] for r in rows})
    carriers: dict[str, dict[str, Any]] = {}
    for r in rows:
        carrier = carriers.setdefault(r["carrier_id"], {
            "carrier_id": r["carrier_id"], "carrier_name": r["carrier_name"], "mode": r["mode"],
            "is_known_carrier": r["is_known_carrier"], "months": {},
        })
        carrier["months"][r["month_start"]] = r
        # The contracted target is the carrier's; the latest month's row carries it.
        carrier["on_time_target"] = r["on_time_target"]
    return months, list(carriers.values())


def _by_month(rows: list[dict]) -> list[dict[str, Any]]:
    """Rows (ordered by month, newest first) grouped as [{month_start, rows}]."""
    months: dict[date, list[dict]] = {}
    for r in rows:
        months.setdefault(r["month_start"], []).append(r)
    return [{"month_start": m, "rows": rs} for m, rs in months.items()]


def _runs(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest first, with the counts the run record keeps."""
    return _rows(
        con,
        f"""SELECT run_id, as_of_date, started_at, finished_at, outcome, reason, full_refresh,
                   epoch(finished_at - started_at) AS seconds,
                   CAST(files ->> 'files_seen' AS BIGINT) AS files_seen,
                   CAST(files ->> 'files_loaded' AS BIGINT) AS files_loaded,
                   CAST(files ->> 'files_rejected' AS BIGINT) AS files_rejected,
                   CAST(files ->> 'rows_loaded' AS BIGINT) AS rows_loaded,
                   CAST(files ->> 'rows_quarantined' AS BIGINT) AS rows_quarantined,
                   coalesce(len(checks_failed), 0) AS checks_failed,
                   coalesce(len(checks_warned), 0) AS checks_warned
            FROM audit.runs
            ORDER BY started_at DESC
            LIMIT {int(limit)}""",
    )


def _quality(con: duckdb.DuckDBPyConnection, published: dict[str, Any] | None) -> dict[str, Any]:
    """Failing checks (errors, then warnings) of the run that published this file."""
    total = _one(con, "SELECT count(*) FROM audit.quality_results")
    run_id = (published or {}).get("run_id")
    counts = _rows(
        con,
        """SELECT count(*) AS checks,
                  count(*) FILTER (WHERE success) AS passed,
                  count(*) FILTER (WHERE NOT success AND severity = 'error') AS errors,
                  count(*) FILTER (WHERE NOT success AND severity <> 'error') AS warnings
           FROM audit.quality_results WHERE run_id = $run_id""",
        {"run_id": run_id},
    )[0]
    failing = _rows(
        con,
        """SELECT suite, "check", table_name, severity, observed, details
           FROM audit.quality_results
           WHERE run_id = $run_id AND NOT success
           ORDER BY severity <> 'error', suite, table_name, "check" """,
        {"run_id": run_id},
    )
    return {"run_id": run_id, "total_all_runs": total, **counts, "failing": failing}


def report_generated_at() -> datetime:
    """When the page was rendered (shown in its footer; the data's date is as_of)."""
    return datetime.now(UTC)
