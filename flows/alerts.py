"""KPI alerts: the scorecard cells someone should look at after a publication.

Computed in the private build, after the gate passed and before publishing, so the
published file holds them (``audit.kpi_alerts``); the table travels with the working
state, so each run sees every alert sent before and does not repeat itself. Sent after the
publication only (a run that fails to publish sends nothing and stores nothing).

For the latest complete ISO week as of the as-of date, a cell (kpi, site, including
``ALL``) of ``kpi.kpi_site_scorecard_weekly`` alerts when it

- **turned red** (red this week, not red, or no value, the week before), or
- **kept worsening**: its value moved the wrong way (by the KPI's direction) by more than
  ``alert_worsening_threshold`` × |the week before's value| in each of the last
  ``alert_worsening_periods`` weeks.

Deduplicated per cell and episode (the run of red weeks, or of worsening weeks, the cell
is in): a cell already alerted in its episode alerts again only when its value is worse
than at that alert by more than the threshold; a cell that stays red alerts again only so.
Each alert carries the top three drivers of its change (``kpi.kpi_drivers_weekly``, the
dimension whose top member explains most).

Everything is SQL in DuckDB; Python only assembles the few alert rows into messages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from flows.db import quote_ident
from flows.report.formatting import by_unit

ALERTS_TABLE = "audit.kpi_alerts"
ALERT_COLUMNS = {
    "run_id": "VARCHAR",
    "alerted_at": "TIMESTAMPTZ",
    "as_of_date": "DATE",
    "kpi": "VARCHAR",
    "site_id": "VARCHAR",
    "week_start": "DATE",
    "kind": "VARCHAR",  # turned_red | worsening | worse_again
    "status": "VARCHAR",
    "value": "DOUBLE",
    "previous_value": "DOUBLE",
    "change": "DOUBLE",
    "target": "DOUBLE",
    "direction": "VARCHAR",
    "episode_start": "DATE",
    "message": "VARCHAR",
    "drivers": "JSON",
}


@dataclass(frozen=True)
class AlertRules:
    """The two settings (``flows.settings``): a worsening is a move the wrong way by more
    than ``threshold`` × |previous value|, for ``periods`` consecutive weeks."""

    threshold: float = 0.05
    periods: int = 2


def ensure_alerts_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in ALERT_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {ALERTS_TABLE} ({cols})")


def compute_alerts(con: duckdb.DuckDBPyConnection, run_id: str, as_of: date, now: datetime,
                   rules: AlertRules) -> list[dict[str, Any]]:
    """Store this run's new alerts in ``audit.kpi_alerts`` and return them (with drivers)."""
    ensure_alerts_table(con)
    tables = {r[0] for r in con.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()}
    if "kpi.kpi_site_scorecard_weekly" not in tables:
        return []
    candidates = con.execute(_candidates_sql(rules), {
        "as_of": as_of, "threshold": float(rules.threshold)}).fetchall()
    names = [d[0] for d in con.description]
    alerts = [dict(zip(names, row, strict=True)) for row in candidates]
    if not alerts:
        return []
    drivers = _drivers(con, alerts, tables)
    labels = dict(con.execute("SELECT kpi, label FROM core.dim_kpi").fetchall())
    units = dict(con.execute("SELECT kpi, unit FROM core.dim_kpi").fetchall())
    for a in alerts:
        a.update(run_id=run_id, alerted_at=now, as_of_date=as_of)
        a["drivers"] = drivers.get((a["kpi"], a["site_id"]), [])
        a["message"] = alert_message(a, labels.get(a["kpi"], a["kpi"]), units.get(a["kpi"], "number"))
    _insert(con, alerts)
    return alerts


def _candidates_sql(rules: AlertRules) -> str:
    """Cells of the latest complete week that alert, after deduplication."""
    n = max(1, int(rules.periods))
    streak = " AND ".join(
        ["worse"] + [f"coalesce(lag(worse, {k}) OVER w, false)" for k in range(1, n)]
        + [f"coalesce(lag(week_start, {k}) OVER w = week_start - INTERVAL {7 * k} DAY, false)"
           for k in range(1, n)])
    return f"""
    WITH scorecard AS (
        SELECT site_id, week_start, kpi, value, target, direction, status
        FROM kpi.kpi_site_scorecard_weekly
        WHERE week_start + INTERVAL 6 DAY <= $as_of
    ),
    latest AS (SELECT max(week_start) AS week_start FROM scorecard),
    history AS (
        SELECT scorecard.*,
               lag(value) OVER w AS previous_value,
               lag(status) OVER w AS previous_status,
               coalesce(lag(week_start) OVER w = week_start - INTERVAL 7 DAY, false) AS follows
        FROM scorecard
        WINDOW w AS (PARTITION BY kpi, site_id ORDER BY week_start)
    ),
    judged AS (
        SELECT history.*,
               -- how far the value moved the wrong way (positive = worse)
               CASE WHEN direction = 'lower_is_better' THEN value - previous_value
                    ELSE previous_value - value END AS worsening,
               follows AND previous_value IS NOT NULL
                   AND (CASE WHEN direction = 'lower_is_better' THEN value - previous_value
                             ELSE previous_value - value END) > $threshold * abs(previous_value)
                   AND (CASE WHEN direction = 'lower_is_better' THEN value - previous_value
                             ELSE previous_value - value END) > 0 AS worse,
               status = 'red' AND NOT (follows AND coalesce(previous_status = 'red', false))
                   AS turned_red
        FROM history
    ),
    runs AS (
        SELECT judged.*,
               follows AND coalesce(lag(status) OVER w = 'red', false) AND status = 'red' AS red_continues,
               follows AND coalesce(lag(worse) OVER w, false) AND worse AS worse_continues
        FROM judged
        WINDOW w AS (PARTITION BY kpi, site_id ORDER BY week_start)
    ),
    episodes AS (
        SELECT runs.*,
               {streak} AS worsening_streak,
               -- runs of red weeks and of worsening weeks (gaps and islands)
               sum(CASE WHEN red_continues THEN 0 ELSE 1 END) OVER w AS red_run,
               sum(CASE WHEN worse_continues THEN 0 ELSE 1 END) OVER w AS worse_run
        FROM runs
        WINDOW w AS (PARTITION BY kpi, site_id ORDER BY week_start)
    ),
    starts AS (
        SELECT episodes.*,
               min(week_start) OVER (PARTITION BY kpi, site_id, red_run) AS red_start,
               min(week_start) OVER (PARTITION BY kpi, site_id, worse_run) AS worse_start
        FROM episodes
    ),
    now_ AS (
        SELECT starts.*,
               CASE WHEN status = 'red' AND worsening_streak THEN least(red_start, worse_start)
                    WHEN status = 'red' THEN red_start
                    ELSE worse_start END AS episode_start
        FROM starts
        WHERE week_start = (SELECT week_start FROM latest)
          AND (status = 'red' OR worsening_streak)
    ),
    previous_alerts AS (
        SELECT kpi, site_id, week_start, value, alerted_at, run_id,
               row_number() OVER (PARTITION BY kpi, site_id
                                  ORDER BY alerted_at DESC, run_id DESC, week_start DESC) AS recency
        FROM {ALERTS_TABLE}
    ),
    compared AS (
        SELECT now_.*,
               last.value AS alerted_value,
               last.week_start IS NOT NULL AND last.week_start >= now_.episode_start AS alerted_in_episode,
               CASE WHEN now_.direction = 'lower_is_better' THEN now_.value - last.value
                    ELSE last.value - now_.value END AS worse_than_alert
        FROM now_
        LEFT JOIN previous_alerts AS last
            ON last.kpi = now_.kpi AND last.site_id = now_.site_id AND last.recency = 1
    )
    SELECT kpi, site_id, week_start,
           CASE WHEN alerted_in_episode THEN 'worse_again'
                WHEN turned_red THEN 'turned_red'
                ELSE 'worsening' END AS kind,
           status, value, previous_value,
           CASE WHEN follows THEN value - previous_value END AS change,
           target, direction, episode_start
    FROM compared
    WHERE CASE
        WHEN alerted_in_episode
            THEN worse_than_alert > $threshold * abs(alerted_value) AND worse_than_alert > 0
        ELSE turned_red OR worsening_streak
    END
    ORDER BY status <> 'red', kpi, site_id
    """


def _drivers(con: duckdb.DuckDBPyConnection, alerts: list[dict], tables: set[str]) -> dict[tuple, list]:
    """The top three members of the dimension that explains most of each alert's change."""
    if "kpi.kpi_drivers_weekly" not in tables:
        return {}
    keys = [(a["kpi"], a["site_id"], a["week_start"]) for a in alerts]
    con.register("_alert_cells", __import__("pyarrow").table({
        "kpi": [k for k, _, _ in keys], "site_id": [s for _, s, _ in keys],
        "week_start": [w for _, _, w in keys]}))
    try:
        rows = con.execute("""
            -- the members that moved the value the way it moved, by dimension
            WITH movers AS (
                SELECT d.*,
                       row_number() OVER (PARTITION BY d.kpi, d.site_id, d.dimension
                                          ORDER BY d.driver_rank) AS mover_rank
                FROM kpi.kpi_drivers_weekly AS d
                JOIN _alert_cells AS c
                  ON c.kpi = d.kpi AND c.site_id = d.site_id AND c.week_start = d.week_start
                WHERE d.contribution IS NOT NULL
                  AND (d.change = 0 OR sign(d.contribution) = sign(d.change))
            ),
            tops AS (
                SELECT movers.*,
                       max(CASE WHEN mover_rank = 1 THEN abs(contribution) END)
                           OVER (PARTITION BY kpi, site_id, dimension) AS dimension_top
                FROM movers
            ),
            ranked AS (
                SELECT tops.*,
                       dense_rank() OVER (PARTITION BY kpi, site_id
                                          ORDER BY dimension_top DESC, dimension) AS dimension_rank
                FROM tops
            )
            SELECT kpi, site_id, dimension, member, contribution, rate_effect, mix_effect,
                   current_numerator, current_denominator, previous_numerator, previous_denominator
            FROM ranked WHERE dimension_rank = 1 AND mover_rank <= 3
            ORDER BY kpi, site_id, mover_rank""").fetchall()
    finally:
        con.unregister("_alert_cells")
    out: dict[tuple, list] = {}
    for kpi, site, dim, member, c, rate, mix, n1, d1, n0, d0 in rows:
        out.setdefault((kpi, site), []).append({
            "dimension": dim, "member": member, "contribution": c, "rate_effect": rate,
            "mix_effect": mix, "current_numerator": n1, "current_denominator": d1,
            "previous_numerator": n0, "previous_denominator": d0})
    return out


def alert_message(alert: dict[str, Any], label: str, unit: str) -> str:
    """One line: what happened to the cell, and its top drivers."""
    where = "all sites" if alert["site_id"] == "ALL" else alert["site_id"]
    week = alert["week_start"]
    what = {"turned_red": "turned red", "worsening": "kept worsening",
            "worse_again": "got worse again"}[alert["kind"]]
    change = alert.get("change")
    moved = f" ({_change(change, unit)} vs the week before)" if change is not None else ""
    sign = {"higher_is_better": "≥ ", "lower_is_better": "≤ "}.get(alert.get("direction") or "", "")
    text = (f"{label} at {where} {what} in the week of {week}: {by_unit(alert['value'], unit)}{moved}, "
            f"target {sign}{by_unit(alert['target'], unit)}")
    if alert["drivers"]:
        parts = [f"{'' if d['dimension'] == 'component' else d['dimension'] + ' '}{d['member']} "
                 f"{_change(d['contribution'], unit)}" for d in alert["drivers"]]
        text += "; drivers: " + ", ".join(parts)
    return text


def _change(value: float, unit: str) -> str:
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    if unit == "rate":
        return f"{sign}{abs(value) * 100:.1f} pts"
    return sign + by_unit(abs(value), unit).lstrip("+")


def _insert(con: duckdb.DuckDBPyConnection, alerts: list[dict[str, Any]]) -> None:
    import pyarrow as pa

    def cell(a: dict, column: str) -> Any:
        v = a.get(column)
        return json.dumps(v, default=str) if ALERT_COLUMNS[column] == "JSON" else v

    data = pa.table({c: pa.array([None if cell(a, c) is None else str(cell(a, c)) for a in alerts],
                                 type=pa.string()) for c in ALERT_COLUMNS})
    con.register("_new_alerts", data)
    try:
        casts = ", ".join(f"CAST({quote_ident(c)} AS {t})" for c, t in ALERT_COLUMNS.items())
        con.execute(f"INSERT INTO {ALERTS_TABLE} SELECT {casts} FROM _new_alerts")
    finally:
        con.unregister("_new_alerts")


def alerts_payload(alerts: list[dict[str, Any]], record: dict[str, Any]) -> dict[str, Any]:
    """What the notification command gets on stdin (``kind`` tells it from a run record)."""
    return {
        "kind": "kpi_alerts",
        "run_id": record.get("run_id"),
        "as_of_date": record.get("as_of_date"),
        "warehouse": record.get("warehouse"),
        "report": record.get("report"),
        "alerts": [{k: v for k, v in a.items() if k not in ("run_id", "alerted_at", "as_of_date")}
                   for a in alerts],
    }


def emit_alert_events(alerts: list[dict[str, Any]], logger: logging.Logger | Any) -> int:
    """One Prefect event per alert (``opskpi.kpi.<kind>``), for Prefect automations to route;
    a failure is logged, never raised. Returns how many were emitted."""
    try:
        from prefect.events import emit_event
    except ImportError:  # pragma: no cover - Prefect is a dependency
        return 0
    sent = 0
    for a in alerts:
        try:
            event = emit_event(
                event=f"opskpi.kpi.{a['kind']}",
                resource={"prefect.resource.id": f"opskpi.kpi.{a['kpi']}.{a['site_id']}",
                          "prefect.resource.name": f"{a['kpi']} at {a['site_id']}",
                          "opskpi.kpi": a["kpi"], "opskpi.site": a["site_id"],
                          "opskpi.status": a["status"]},
                payload=json.loads(json.dumps(
                    {k: v for k, v in a.items() if k != "alerted_at"}, default=str)),
            )
            sent += event is not None
        except Exception as exc:  # an event bus that is down must not fail the run
            logger.warning("KPI alert event not emitted: %s", exc)
    return sent
