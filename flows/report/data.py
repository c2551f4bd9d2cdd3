"""Everything the report shows, read from the published warehouse with SQL.

Only the published ``kpi``, ``core.dim_*`` and ``audit`` tables are read, through the same
locked-down read-only connection as ``opskpi query``: the report can run while a refresh
publishes, and it cannot change the file it describes. Each query returns an already
aggregated result (the weekly and monthly values of every KPI cell, the top drivers of
every cell, ...); no KPI is recomputed here: values, targets, statuses and drivers are the
marts' own. :func:`read_report_data` returns the static parts (for the template) and a
``payload``: the compact, JSON-ready data every section of the page is drawn from, for any
period and any choice of sites.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from flows.db import open_read_only
from flows.report.catalogue import Catalogue, read_catalogue

ALL_SITES = "ALL"
#: Members of each dimension embedded per KPI cell (the mart holds all of them).
DRIVERS_PER_DIMENSION = 3
#: Freshness threshold when the publishing run did not record one (the setting's default).
DEFAULT_FRESHNESS_MAX_DAYS = 7


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
class Trust:
    """What the banner above the scorecard says about this publication's data."""

    as_of: date | None
    latest_data: date | None  # newest event of the freshest entity (audit.data_freshness)
    freshness_max_days: int
    stale: list[dict[str, Any]]  # entities older than the threshold, with their last date
    rejected_files: int
    quarantined_rows: int
    warnings: list[dict[str, Any]]  # failed warning checks of the publishing run
    default_period: date | None  # the week the page opens on
    opens_on_data: bool  # the as-of date is far beyond the data: opened on the latest data

    @property
    def gap_days(self) -> int | None:
        if self.as_of is None or self.latest_data is None:
            return None
        return (self.as_of - self.latest_data).days

    @property
    def feed_is_stale(self) -> bool:
        return self.gap_days is not None and self.gap_days > self.freshness_max_days


@dataclass
class ReportData:
    """The report's static sections and the ``payload`` its script draws the rest from."""

    warehouse: Path
    as_of: date | None
    published_run: dict[str, Any] | None
    sites: list[Site]
    trust: Trust
    payload: dict[str, Any]
    runs: list[dict[str, Any]]
    manifest_summary: list[dict[str, Any]]
    problem_files: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    freshness: list[dict[str, Any]]
    quality: dict[str, Any] = field(default_factory=dict)
    catalogue: Catalogue = field(default_factory=lambda: Catalogue([]))


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


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}


def _read(con: duckdb.DuckDBPyConnection, warehouse: Path) -> ReportData:
    tables = _tables(con)
    runs = _runs(con, tables)
    published = next((r for r in runs if r["outcome"] == "published"), None)
    # The as-of date the marts were built for: that of the run that published this file
    # (audit.runs holds it), else the last day dim_date flags as on or before as_of.
    as_of = (published or {}).get("as_of_date") or _one(
        con, "SELECT max(date_day) FROM core.dim_date WHERE is_on_or_before_as_of"
    )
    catalogue = read_catalogue(con)
    sites = _sites(con)
    freshness = _freshness(con, tables)
    quality = _quality(con, published)
    weeks = _periods(con, "kpi.kpi_weekly", "week_start", as_of)
    months = _periods(con, "kpi.kpi_monthly", "month_start", as_of)
    trust = _trust(con, as_of, published, freshness, quality, weeks)
    payload = {
        "meta": _meta(warehouse, as_of, published, trust),
        "kpis": _kpis(con, catalogue),
        "sites": [{"id": s.site_id, "label": s.label, "known": s.is_known} for s in sites],
        "week": _grain(con, tables, "week_start", weeks, sites, catalogue),
        "month": _grain(con, tables, "month_start", months, sites, catalogue),
        "carriers": _rows(con, """SELECT carrier_id AS id, carrier_name AS name, mode,
                                         on_time_target AS target, is_known_carrier AS known
                                  FROM core.dim_carrier ORDER BY NOT is_known_carrier, carrier_id"""),
        "vendors": _rows(con, """SELECT vendor_id AS id, vendor_name AS name, category,
                                        is_known_vendor AS known
                                 FROM core.dim_vendor ORDER BY vendor_id"""),
        "budget": _budget(con, months, as_of),
    }
    return ReportData(
        warehouse=warehouse,
        as_of=as_of,
        published_run=published,
        sites=sites,
        trust=trust,
        payload=_jsonable(payload),
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
        freshness=freshness,
        quality=quality,
        catalogue=catalogue,
    )


# --- sites, periods, freshness -----------------------------------------------------------

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


def _periods(con: duckdb.DuckDBPyConnection, table: str, column: str, as_of: date | None) -> list[date]:
    if as_of is None:
        return []
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT {column} FROM {table} WHERE {column} <= $as_of ORDER BY 1",
        {"as_of": as_of}).fetchall()]


def _freshness(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[dict[str, Any]]:
    if "audit.data_freshness" not in tables:
        return []
    return _rows(con, """SELECT entity, event, newest_event_date, days_behind
                         FROM audit.data_freshness ORDER BY days_behind DESC NULLS FIRST, entity""")


def _trust(con: duckdb.DuckDBPyConnection, as_of: date | None, published: dict | None,
           freshness: list[dict], quality: dict, weeks: list[date]) -> Trust:
    thresholds = (published or {}).get("thresholds") or {}
    max_days = int(thresholds.get("freshness_max_days") or DEFAULT_FRESHNESS_MAX_DAYS)
    newest = [f["newest_event_date"] for f in freshness if f["newest_event_date"] is not None]
    latest = max(newest) if newest else _one(
        con, "SELECT max(date) FROM kpi.kpi_daily WHERE date <= $as_of", {"as_of": as_of})
    stale = [f for f in freshness
             if f["newest_event_date"] is None or (f["days_behind"] or 0) > max_days]
    run_id = (published or {}).get("run_id")
    rejected = _one(con, """SELECT count(*) FROM audit.load_manifest
                            WHERE status IN ('rejected', 'unrecognised') AND run_id = $run""",
                    {"run": run_id}) or 0
    quarantined = _one(con, "SELECT count(*) FROM audit.quarantine WHERE run_id = $run",
                       {"run": run_id}) or 0
    warnings = [f for f in quality.get("failing", []) if f["severity"] != "error"]
    # The page opens on the latest complete week; when the as-of date is far beyond the
    # data (a stale feed), on the latest complete week the data covers.
    gap = (as_of - latest).days if as_of and latest else None
    opens_on_data = gap is not None and gap > max_days
    end = latest if opens_on_data else as_of
    complete = [w for w in weeks if end is not None and w + timedelta(days=6) <= end]
    default = complete[-1] if complete else (weeks[-1] if weeks else None)
    return Trust(as_of, latest, max_days, stale, int(rejected), int(quarantined), warnings,
                 default, opens_on_data)


def _meta(warehouse: Path, as_of: date | None, published: dict | None, trust: Trust) -> dict:
    return {
        "as_of": as_of,
        "latest_data": trust.latest_data,
        "freshness_max_days": trust.freshness_max_days,
        "default_week": trust.default_period,
        "opens_on_data": trust.opens_on_data,
        "run_id": (published or {}).get("run_id"),
        "warehouse": str(warehouse),
        "drivers_per_dimension": DRIVERS_PER_DIMENSION,
    }


def _kpis(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> list[dict[str, Any]]:
    targets = {r["kpi"]: r["target"] for r in _rows(
        con, "SELECT kpi, target FROM kpi.kpi_targets WHERE site_id = '*'")}
    bounds = {r["kpi"]: r for r in _rows(con, "SELECT kpi, value_min, value_max FROM core.dim_kpi")}
    return [
        {"id": k.kpi, "label": k.label, "group": k.group, "unit": k.unit, "kind": k.kind,
         "direction": k.direction, "meaning": k.meaning, "target": targets.get(k.kpi),
         "min": bounds.get(k.kpi, {}).get("value_min"), "max": bounds.get(k.kpi, {}).get("value_max")}
        for k in catalogue.kpis
    ]


# --- one grain (weeks or months): values, statuses, drivers, carriers, vendors ------------

def _grain(con: duckdb.DuckDBPyConnection, tables: set[str], period: str, periods: list[date],
           sites: list[Site], catalogue: Catalogue) -> dict[str, Any]:
    """Values, statuses and targets of every KPI cell of one grain, as arrays aligned to
    ``periods``; drivers, carriers and vendors as one gzipped chunk per period."""
    suffix = "weekly" if period == "week_start" else "monthly"
    index = {p: i for i, p in enumerate(periods)}
    n = len(periods)
    values: dict[str, dict[str, list]] = defaultdict(dict)
    for kpi, site, p, value in con.execute(
            f"SELECT kpi, site_id, {period}, value FROM kpi.kpi_{suffix} WHERE {period} <= $last",
            {"last": periods[-1] if periods else date.min}).fetchall():
        values[kpi].setdefault(site, [None] * n)[index[p]] = value
    status: dict[str, dict[str, list]] = defaultdict(dict)
    targets: dict[str, dict[str, float]] = defaultdict(dict)
    scorecard = f"kpi.kpi_site_scorecard_{suffix}"
    if scorecard in tables:
        for kpi, site, p, target, state in con.execute(
                f"SELECT kpi, site_id, {period}, target, status FROM {scorecard}").fetchall():
            if p in index:
                status[kpi].setdefault(site, [None] * n)[index[p]] = state[0]
                targets[kpi][site] = target
    status_text = {k: {s: "".join(c or "-" for c in v) for s, v in by_site.items()}
                   for k, by_site in status.items()}
    table = f"kpi.kpi_drivers_{suffix}"
    drivers, dimensions, full = _drivers(con, tables, table, period, index, status_text,
                                         DRIVERS_BUDGET_BYTES[suffix])
    members = _members(con, tables, table, period, index, {
        "on_time_delivery_rate": "carrier", "spend_usd": "vendor", "supplier_otif_rate": "vendor",
        "three_way_match_rate": "vendor", "price_variance_usd": "vendor"})
    return {
        "periods": periods,
        "values": values,
        "status": status_text,
        "targets": targets,
        "dimensions": dimensions,
        "drivers": drivers,
        "drivers_full": full,
        "members": members,
    }


#: Bytes (gzipped, base64) of drivers the page embeds in full per grain: every dimension's
#: top members of every cell, newest periods first; older periods keep the sentence of
#: each red and amber cell (its top members of its best dimension). Small warehouses
#: fit whole.
DRIVERS_BUDGET_BYTES = {"weekly": 6_000_000, "monthly": 3_000_000}


def _drivers(con: duckdb.DuckDBPyConnection, tables: set[str], table: str, period: str,
             index: dict[date, int], status: dict[str, dict[str, str]],
             budget: int) -> tuple[list[str | None], list[str], list[bool]]:
    """The top members of each dimension of every cell with a change, one gzipped JSON
    chunk per period (base64; the page inflates the chosen period's only):
    ``{"kpi|site": [[dimension index, member, contribution, rate effect, mix effect,
    N1, D1, N0, D0], ...]}``, written by DuckDB; figures keep 6 significant digits (the
    page shows 3). Within ``budget`` bytes, newest first, a period has every cell; beyond
    it only its red and amber cells (``full`` says which)."""
    n = len(index)
    if table not in tables:
        return [None] * n, [], [True] * n
    dimensions = [r[0] for r in con.execute(
        f"SELECT DISTINCT dimension FROM {table} ORDER BY 1").fetchall()]
    scorecard = f"kpi.kpi_site_scorecard_{'weekly' if period == 'week_start' else 'monthly'}"
    flagged = (f"SELECT kpi, site_id, {period} FROM {scorecard} WHERE status IN ('red', 'amber')"
               if scorecard in tables else f"SELECT NULL AS kpi, NULL AS site_id, NULL::DATE AS {period}")
    figures = ", ".join(_sql_round(c) for c in (
        "contribution", "rate_effect", "mix_effect", "current_numerator", "current_denominator",
        "previous_numerator", "previous_denominator"))
    rows = con.execute(
        f"""WITH dims AS (
                SELECT dimension, CAST(row_number() OVER (ORDER BY dimension) - 1 AS INTEGER) AS i
                FROM (SELECT DISTINCT dimension FROM {table})
            ),
            top AS (
                SELECT d.{period} AS p, d.kpi, d.site_id, d.dimension, d.member, d.driver_rank,
                       d.change, d.contribution, dims.i,
                       json_array(dims.i, d.member, {figures}) AS entry
                FROM {table} AS d JOIN dims USING (dimension)
                WHERE d.driver_rank <= {DRIVERS_PER_DIMENSION} AND d.contribution IS NOT NULL
            ),
            entries AS (
                SELECT p, kpi, site_id, kpi || '|' || site_id AS cell,
                       CAST(to_json(list(entry ORDER BY dimension, driver_rank)) AS VARCHAR) AS entries
                FROM top GROUP BY ALL
            ),
            -- a red or amber cell of an older period keeps its sentence: the top members that
            -- moved the value its way, of the dimension whose top one moved it most
            movers AS (
                SELECT top.*, row_number() OVER (PARTITION BY p, kpi, site_id, dimension
                                                 ORDER BY driver_rank) AS mover_rank
                FROM top WHERE change = 0 OR sign(contribution) = sign(change)
            ),
            best AS (
                SELECT p, kpi, site_id, arg_max(dimension, abs(contribution)) AS dimension
                FROM movers WHERE mover_rank = 1 GROUP BY ALL
            ),
            sentences AS (
                SELECT movers.p, movers.kpi, movers.site_id,
                       CAST(to_json(list(entry ORDER BY mover_rank)) AS VARCHAR) AS entries
                FROM movers JOIN best USING (p, kpi, site_id, dimension)
                GROUP BY ALL
            ),
            flagged AS ({flagged})
            SELECT entries.p,
                   '{{' || string_agg(to_json(cell) || ':' || entries.entries, ',') || '}}' AS all_cells,
                   '{{' || coalesce(string_agg(to_json(cell) || ':' || sentences.entries, ',')
                                    FILTER (WHERE flagged.kpi IS NOT NULL), '') || '}}' AS flagged_cells
            FROM entries
            LEFT JOIN flagged
              ON flagged.kpi = entries.kpi AND flagged.site_id = entries.site_id
             AND flagged.{period} = entries.p
            LEFT JOIN sentences
              ON sentences.kpi = entries.kpi AND sentences.site_id = entries.site_id
             AND sentences.p = entries.p
            GROUP BY entries.p
            ORDER BY entries.p DESC""").fetchall()
    chunks: list[str | None] = [None] * n
    full = [True] * n
    spent = 0
    for p, all_cells, flagged_cells in rows:
        i = index.get(p)
        if i is None:
            continue
        chunk = _gzip_text(all_cells)
        if spent + len(chunk) > budget:
            chunk, full[i] = _gzip_text(flagged_cells or "{}"), False
        spent += len(chunk)
        chunks[i] = chunk
    return chunks, dimensions, full


def _sql_round(column: str, digits: int = 6) -> str:
    """``column`` to ``digits`` significant digits, in SQL (null stays null)."""
    return (f"CASE WHEN {column} IS NULL OR isnan({column}) OR isinf({column}) THEN NULL "
            f"WHEN {column} = 0 THEN 0 WHEN {column} = trunc({column}) THEN {column} "
            f"ELSE round({column}, CAST({digits - 1} - floor(log10(abs({column}))) AS INTEGER)) END")


def _gzip_text(text: str) -> str:
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def _flag(status: dict[str, dict[str, str]], key: str, i: int) -> str:
    kpi, site = key.split("|", 1)
    text = status.get(kpi, {}).get(site, "")
    return text[i] if i < len(text) else "-"


def _round(value: float | None, digits: int = 6) -> float | int | None:
    """``digits`` significant digits (an integer stays an integer)."""
    if value is None or not math.isfinite(value):
        return None
    if float(value).is_integer():
        return int(value)
    return float(f"{value:.{digits}g}")


def _gzip_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def _members(con: duckdb.DuckDBPyConnection, tables: set[str], table: str, period: str,
             index: dict[date, int], dimensions: dict[str, str]) -> list[str | None]:
    """Every member of one dimension of some KPIs (carriers of on-time delivery, vendors of
    spend, supplier OTIF, three-way match and price variance), per site and period, one
    gzipped chunk per period: ``{kpi: {site: [[member, N1, D1, N0, D0], ...]}}``, figures to 12
    significant digits (the tables sum them and their CSV must carry the mart's value)."""
    n = len(index)
    if table not in tables:
        return [None] * n
    chunks: list[dict] = [{} for _ in range(n)]
    for kpi, site, p, member, n1, d1, n0, d0 in con.execute(
        f"""SELECT d.kpi, d.site_id, d.{period}, d.member, d.current_numerator, d.current_denominator,
                   d.previous_numerator, d.previous_denominator
            FROM {table} AS d
            JOIN (SELECT unnest($kpis) AS kpi, unnest($dims) AS dimension) AS w
              ON w.kpi = d.kpi AND w.dimension = d.dimension
            WHERE d.member <> '(none)'
            ORDER BY d.{period}, d.kpi, d.site_id, d.member""",
        {"kpis": list(dimensions), "dims": list(dimensions.values())},
    ).fetchall():
        if p in index:
            chunks[index[p]].setdefault(kpi, {}).setdefault(site, []).append(
                [member, _round(n1, 12), _round(d1, 12), _round(n0, 12), _round(d0, 12)])
    return [_gzip_json(c) if c else None for c in chunks]


def _budget(con: duckdb.DuckDBPyConnection, months: list[date], as_of: date | None) -> list[str | None]:
    """Budget lines per month, one gzipped chunk per month:
    ``[[site, category, budget, actual, variance, variance %], ...]``."""
    index = {m: i for i, m in enumerate(months)}
    out: list[list] = [[] for _ in months]
    for m, site, category, budget, actual, variance, pct in con.execute(
        """SELECT month_start, site_id, category, budget_usd, actual_usd, variance_usd, variance_pct
           FROM kpi.kpi_budget_monthly WHERE month_start <= $as_of
           ORDER BY month_start, site_id, category""", {"as_of": as_of or date.min}).fetchall():
        if m in index:
            out[index[m]].append([site, category, budget, actual, variance, pct])
    return [_gzip_json(_jsonable(rows)) if rows else None for rows in out]


# --- runs and quality ------------------------------------------------------------------------

def _runs(con: duckdb.DuckDBPyConnection, tables: set[str], limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest first, with the counts the run record keeps. A published
    run took from its start to its publication (as ``opskpi status`` says)."""
    columns = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'audit' AND table_name = 'runs'").fetchall()}
    published_at = "published_at" if "published_at" in columns else "NULL::TIMESTAMPTZ"
    thresholds = "thresholds" if "thresholds" in columns else "NULL::JSON"
    rows = _rows(
        con,
        f"""SELECT run_id, as_of_date, started_at, finished_at, {published_at} AS published_at,
                   outcome, reason, full_refresh,
                   epoch(coalesce(CASE WHEN outcome = 'published' THEN {published_at} END, finished_at)
                         - started_at) AS seconds,
                   CAST(files ->> 'files_seen' AS BIGINT) AS files_seen,
                   CAST(files ->> 'files_loaded' AS BIGINT) AS files_loaded,
                   CAST(files ->> 'files_rejected' AS BIGINT) AS files_rejected,
                   CAST(files ->> 'rows_loaded' AS BIGINT) AS rows_loaded,
                   CAST(files ->> 'rows_quarantined' AS BIGINT) AS rows_quarantined,
                   coalesce(len(checks_failed), 0) AS checks_failed,
                   coalesce(len(checks_warned), 0) AS checks_warned,
                   CAST({thresholds} AS VARCHAR) AS thresholds
            FROM audit.runs
            ORDER BY started_at DESC
            LIMIT {int(limit)}""",
    )
    for r in rows:
        r["thresholds"] = json.loads(r["thresholds"]) if r["thresholds"] else {}
    return rows


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


def _jsonable(value: Any) -> Any:
    """Dates as ISO text, decimals and non-finite floats made JSON-safe (null)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return float(value)  # Decimal


def report_generated_at() -> datetime:
    """When the page was rendered (shown in its footer; the data's date is as_of)."""
    return datetime.now(UTC)
