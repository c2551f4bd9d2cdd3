"""KPI alerts (flows/alerts.py): which cells alert, deduplication, and what the
notification command receives.

The rules run on a hand-made scorecard first (each case worked out below), then end to
end: the conformance warehouse refreshed again with the notification command capturing
its stdin, once with nothing new (no alert repeats), then with late shipments of one
carrier at one site (the cell turns red, the carrier is its top driver), then with more
of them (the red cell got worse: a re-alert).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from flows.alerts import AlertRules, alerts_payload, compute_alerts
from tests.support.warehouse import copy_published

W1, W2, W3, W4 = date(2026, 2, 2), date(2026, 2, 9), date(2026, 2, 16), date(2026, 2, 23)
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    for schema in ("kpi", "core", "audit"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute("""CREATE TABLE kpi.kpi_site_scorecard_weekly (site_id VARCHAR, week_start DATE,
                   kpi VARCHAR, value DOUBLE, target DOUBLE, direction VARCHAR, status VARCHAR)""")
    con.execute("CREATE TABLE core.dim_kpi (kpi VARCHAR, label VARCHAR, unit VARCHAR)")
    con.execute("""INSERT INTO core.dim_kpi VALUES ('on_time_delivery_rate', 'On-time delivery', 'rate'),
                   ('damage_rate', 'Damage rate', 'rate'), ('otif_rate', 'OTIF', 'rate'),
                   ('in_full_rate', 'In full', 'rate')""")
    con.execute("""CREATE TABLE kpi.kpi_drivers_weekly (kpi VARCHAR, site_id VARCHAR, week_start DATE,
                   dimension VARCHAR, member VARCHAR, change DOUBLE, contribution DOUBLE,
                   rate_effect DOUBLE, mix_effect DOUBLE, current_numerator DOUBLE,
                   current_denominator DOUBLE, previous_numerator DOUBLE, previous_denominator DOUBLE,
                   driver_rank BIGINT)""")
    return con


def _cells(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    con.executemany("INSERT INTO kpi.kpi_site_scorecard_weekly VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


@pytest.fixture
def scorecard(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = _warehouse(tmp_path / "wh.duckdb")
    hi, lo = "higher_is_better", "lower_is_better"
    _cells(con, [
        # A: on-time at S01: 0.90 green, 0.88 green (−2.2 %, not a worsening), 0.70 red → turned red
        ("S01", W1, "on_time_delivery_rate", 0.90, 0.85, hi, "green"),
        ("S01", W2, "on_time_delivery_rate", 0.88, 0.85, hi, "green"),
        ("S01", W3, "on_time_delivery_rate", 0.70, 0.85, hi, "red"),
        # B: damage at S02 (lower is better): 0.008 → 0.009 (+12.5 %) → 0.0095 (+5.6 %):
        # worse by more than 5 % two weeks in a row, still green → worsening
        ("S02", W1, "damage_rate", 0.008, 0.01, lo, "green"),
        ("S02", W2, "damage_rate", 0.009, 0.01, lo, "green"),
        ("S02", W3, "damage_rate", 0.0095, 0.01, lo, "green"),
        # C: OTIF at S01 red for three weeks, never alerted: it did not turn red now → none
        ("S01", W1, "otif_rate", 0.5, 0.8, hi, "red"),
        ("S01", W2, "otif_rate", 0.5, 0.8, hi, "red"),
        ("S01", W3, "otif_rate", 0.5, 0.8, hi, "red"),
        # D: in full at S01 red in W2, green in W3 → none
        ("S01", W2, "in_full_rate", 0.6, 0.92, hi, "red"),
        ("S01", W3, "in_full_rate", 0.95, 0.92, hi, "green"),
    ])
    con.executemany("INSERT INTO kpi.kpi_drivers_weekly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        # carrier explains more (top −0.15) than customer (top −0.10); C09 moved the other way
        ("on_time_delivery_rate", "S01", W3, "carrier", "C04", -0.18, -0.15, -0.14, -0.01, 5, 20, 17, 20, 1),
        ("on_time_delivery_rate", "S01", W3, "carrier", "C02", -0.18, -0.05, -0.05, 0, 9, 10, 10, 10, 2),
        ("on_time_delivery_rate", "S01", W3, "carrier", "C09", -0.18, 0.02, 0.02, 0, 10, 10, 9, 10, 3),
        ("on_time_delivery_rate", "S01", W3, "customer", "CU1", -0.18, -0.10, -0.1, 0, 3, 8, 7, 8, 1),
    ])
    return con


def _run(con, as_of: date, run_id: str) -> dict[tuple, dict]:
    return {(a["kpi"], a["site_id"], a["kind"]): a
            for a in compute_alerts(con, run_id, as_of, NOW, AlertRules(threshold=0.05, periods=2))}


def test_turned_red_and_worsening_cells_alert_once(scorecard) -> None:
    end_w3 = date(2026, 2, 22)
    first = _run(scorecard, end_w3, "r1")
    assert set(first) == {("on_time_delivery_rate", "S01", "turned_red"), ("damage_rate", "S02", "worsening")}
    red = first[("on_time_delivery_rate", "S01", "turned_red")]
    assert red["week_start"] == W3 and red["value"] == 0.70
    assert red["change"] == pytest.approx(0.70 - 0.88)
    # drivers: the carrier dimension (top −0.15 > −0.10), members that pulled it down only
    assert [(d["dimension"], d["member"]) for d in red["drivers"]] == [("carrier", "C04"), ("carrier", "C02")]
    assert red["drivers"][0]["contribution"] == -0.15
    assert red["message"].startswith("On-time delivery at S01 turned red in the week of 2026-02-16: 70.0%")
    assert "carrier C04 -15.0 pts" in red["message"]
    # the same night again, or the next night (same latest complete week): nothing new
    assert _run(scorecard, end_w3, "r2") == {}
    assert _run(scorecard, date(2026, 2, 23), "r3") == {}
    assert scorecard.execute("SELECT count(*) FROM audit.kpi_alerts").fetchone()[0] == 2


def test_a_red_cell_alerts_again_only_when_it_worsens(scorecard) -> None:
    end_w3 = date(2026, 2, 22)
    _run(scorecard, end_w3, "r1")
    # late data: W3 falls from 0.70 to 0.60, worse by 0.10 > 5 % of 0.70 → again
    scorecard.execute("UPDATE kpi.kpi_site_scorecard_weekly SET value = 0.60 "
                      "WHERE kpi = 'on_time_delivery_rate' AND week_start = $w", {"w": W3})
    again = _run(scorecard, end_w3, "r2")
    assert set(again) == {("on_time_delivery_rate", "S01", "worse_again")}
    assert "got worse again" in again[("on_time_delivery_rate", "S01", "worse_again")]["message"]
    # 0.60 → 0.59: worse by 0.01 < 5 % of 0.60 → no alert
    scorecard.execute("UPDATE kpi.kpi_site_scorecard_weekly SET value = 0.59 "
                      "WHERE kpi = 'on_time_delivery_rate' AND week_start = $w", {"w": W3})
    assert _run(scorecard, end_w3, "r3") == {}
    # the next week stays red at 0.58: same red episode, 0.02 worse than the 0.60 alerted
    # (< 5 % of 0.60) → no alert; the damage rate improves → nothing either
    _cells(scorecard, [("S01", W4, "on_time_delivery_rate", 0.58, 0.85, "higher_is_better", "red"),
                       ("S02", W4, "damage_rate", 0.009, 0.01, "lower_is_better", "green")])
    assert _run(scorecard, date(2026, 3, 1), "r4") == {}
    payload = alerts_payload([again[("on_time_delivery_rate", "S01", "worse_again")]],
                             {"run_id": "r2", "as_of_date": end_w3})
    assert payload["kind"] == "kpi_alerts" and payload["alerts"][0]["kind"] == "worse_again"
    assert "outcome" not in payload  # a run record has an outcome; alerts have a kind


# --- end to end: the notification command's stdin ------------------------------------------

def _late_shipments(folder: Path, name: str, first: int, n: int) -> None:
    """n shipments of carrier C2 at S01, delivered on 2026-02-25 (week of 02-23) for order
    lines due 2026-02-16: late."""
    lines = ["SO000333,1", "SO000334,1", "SO000376,2", "SO000365,1", "SO000375,1"]
    rows = ["shipment_id,order_id,line_number,site_id,carrier_id,shipped_qty,shipped_at,delivered_at,"
            "damaged_qty,freight_cost,currency,status,updated_at"]
    for k in range(n):
        order = lines[k % len(lines)]
        rows.append(f"SHLATE{first + k:03d},{order},S01,C2,1,2026-02-24T08:00:00Z,2026-02-25T12:00:00Z,"
                    ",10.00,USD,delivered,2026-02-25T13:00:00Z")
    (folder / "wms" / name).write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_notify_command_gets_new_alerts_once_and_again_when_worse(
        conformance_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from flows.refresh import EXIT_PUBLISHED, run_refresh

    warehouse = copy_published(conformance_warehouse, tmp_path / "wh" / "ops.duckdb")
    exports = tmp_path / "exports"
    shutil.copytree(Path(__file__).parent / "fixtures" / "conformance" / "exports", exports)
    inbox = tmp_path / "notify.jsonl"
    monkeypatch.setenv("OPSKPI_NOTIFY_COMMAND", f"cat >> {inbox} && echo >> {inbox}")

    caplog.set_level("INFO", logger="opskpi.progress")

    def refresh() -> list[dict]:
        before = inbox.read_text().splitlines() if inbox.exists() else []
        code, message, _ = run_refresh(exports, warehouse, as_of=date(2026, 3, 6))
        assert code == EXIT_PUBLISHED, message
        lines = inbox.read_text().splitlines() if inbox.exists() else []
        return [json.loads(line) for line in lines[len(before):] if line.strip()]

    # 1. nothing new since the session's refresh: every alert was sent then
    assert refresh() == []

    # 2. S01's on-time delivery in the week of 02-23 was 45 of 52 (86.5 %, green); 4 late
    #    shipments of carrier C2 make it 45 of 56 = 80.4 %: red (below 95 % of 85 %)
    _late_shipments(exports, "shipments_2026-02_late.csv", 1, 4)
    (sent,) = refresh()
    assert sent["kind"] == "kpi_alerts" and "outcome" not in sent
    on_time = [a for a in sent["alerts"] if a["kpi"] == "on_time_delivery_rate" and a["site_id"] == "S01"]
    assert [a["kind"] for a in on_time] == ["turned_red"]
    alert = on_time[0]
    assert alert["value"] == pytest.approx(45 / 56)
    top = alert["drivers"][0]
    assert (top["dimension"], top["member"]) == ("carrier", "C2")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        mart = con.execute("""SELECT contribution FROM kpi.kpi_drivers_weekly
            WHERE kpi = 'on_time_delivery_rate' AND site_id = 'S01' AND week_start = DATE '2026-02-23'
              AND dimension = 'carrier' AND member = 'C2'""").fetchone()[0]
        stored = con.execute("SELECT count(*) FROM audit.kpi_alerts WHERE kind = 'turned_red' "
                             "AND kpi = 'on_time_delivery_rate' AND site_id = 'S01'").fetchone()[0]
    finally:
        con.close()
    assert top["contribution"] == pytest.approx(mart) and mart < 0
    assert stored == 1
    # and one Prefect event per alert, for automations to route
    n = len(sent["alerts"])
    plural = "" if n == 1 else "s"
    line = f"{n} new KPI alert{plural} sent to the notify command, {n} Prefect event{plural}"
    lines = [r.getMessage() for r in caplog.records if r.name == "opskpi.progress"]
    assert any(m.endswith(line) for m in lines), lines

    # 3. four more late shipments: 45 of 60 = 75 %, 5.4 pts worse than alerted → again
    _late_shipments(exports, "shipments_2026-02_late2.csv", 101, 4)
    (sent,) = refresh()
    again = [a for a in sent["alerts"] if a["kpi"] == "on_time_delivery_rate" and a["site_id"] == "S01"]
    assert [a["kind"] for a in again] == ["worse_again"]
    assert again[0]["value"] == pytest.approx(45 / 60)
    assert all(a["kind"] == "worse_again" or a["site_id"] in ("S01", "ALL") for a in sent["alerts"])
