"""End to end on a tiny hand-made export folder: every expected number below is worked
out by hand from kpis.md (the arithmetic is in the comments), never read back from SQL.

Sites: S1 America/New_York (UTC-5 until 2026-03-08), S2 Asia/Tokyo (UTC+9).
As-of date: Wednesday 2026-03-04 (ISO week starting Monday 2026-03-02).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from textwrap import dedent

import duckdb
import pytest

pytestmark = pytest.mark.slow

AS_OF = date(2026, 3, 4)

FILES = {
    "ref/sites.csv": """
        site_id,site_name,region,country,timezone
        S1,DC New York,America,US,America/New_York
        S2,DC Tokyo,Asia,JP,Asia/Tokyo
        """,
    "tms/carriers.csv": """
        carrier_id,carrier_name,mode,on_time_target
        C1,Fast,parcel,0.95
        C2,Slow,ltl,0.9
        """,
    "fin/fx_rates.csv": """
        rate_date,currency,usd_per_unit
        2026-02-27,EUR,1.10
        """,
    "fin/budgets_2026.csv": """
        site_id,category,month,budget_amount,currency
        S1,packaging,2026-03,1000,USD
        """,
    # O1/1: 10 ordered, due 03-03, shipped in two shipments (split), one damaged unit,
    #       the second one late -> delivered 5 on time + 4 late = 9 < 10: neither OTIF nor in full.
    # O2/1: due 03-03, only in transit -> 0 delivered.
    # O3/1: cancelled (counts nowhere). O4/1: due 03-05, after as-of (not yet due).
    "erp/order_lines_2026-03.csv": """
        order_id,line_number,site_id,customer_id,sku,ordered_qty,order_placed_at,requested_delivery_date,priority,status,updated_at
        O1,1,S1,K1,A,10,2026-03-01 09:00,2026-03-03,high,delivered,2026-03-04 12:00
        O2,1,S1,K1,B,4,2026-03-01 09:00,2026-03-03,normal,open,2026-03-01 09:00
        O3,1,S2,K2,C,5,2026-03-01 09:00,2026-03-02,normal,cancelled,2026-03-01 09:00
        O4,1,S1,K2,D,6,2026-03-02 09:00,2026-03-05,low,shipped,2026-03-04 09:00
        """,
    # Naive times are New York wall-clock. SH1 delivered 03-03 23:30 local (= 03-04 04:30Z):
    # local date 03-03, on time. SH2 delivered 03-04 10:00 local: late. SH4 delivered 03-05,
    # after the as-of date: not delivered yet.
    "wms/shipments_2026-03.csv": """
        shipment_id,order_id,line_number,site_id,carrier_id,shipped_qty,shipped_at,delivered_at,damaged_qty,freight_cost,currency,status,updated_at
        SH1,O1,1,S1,C1,6,2026-03-02 08:00,2026-03-03 23:30,1,12.00,USD,delivered,2026-03-04 00:00
        SH2,O1,1,S1,C1,4,2026-03-02 09:00,2026-03-04 10:00,0,10.00,EUR,delivered,2026-03-04 10:00
        SH3,O2,1,S1,C2,4,2026-03-03 10:00,,,,,in_transit,2026-03-03 10:00
        SH4,O4,1,S1,C2,6,2026-03-04 07:00,2026-03-05 09:00,0,5.00,USD,delivered,2026-03-05 09:00
        """,
    "erp/purchase_order_lines_2026-03.csv": """
        po_id,po_line,vendor_id,site_id,category,ordered_qty,unit_price,currency,ordered_at,expected_date,status,updated_at
        P1,1,V1,S1,packaging,100,2.00,USD,2026-02-20,2026-03-03,open,2026-02-20 10:00
        P2,1,V1,S1,it,10,50,EUR,2026-02-20,2026-03-10,open,2026-02-20 10:00
        P3,1,V1,S1,office,1,9,USD,2026-02-20,2026-03-01,cancelled,2026-02-20 10:00
        """,
    # P1/1: 60 received (5 rejected) on 03-02, 40 on 03-04 -> accepted by expected 55 (< 100:
    # not OTIF), accepted as of 03-04 = 95.
    "wms/goods_receipts_2026-03.csv": """
        receipt_id,po_id,po_line,site_id,received_qty,rejected_qty,received_at,updated_at
        R1,P1,1,S1,60,5,2026-03-02 10:00,2026-03-02 10:00
        R2,P1,1,S1,40,0,2026-03-04 10:00,2026-03-04 10:00
        """,
    # Invoiced on P1/1 as of 03-04: 50 + 50 - 5 = 95 <= 95 accepted.
    # I1/1 price 2.02: |0.02| <= 0.02 x 2.00 = 0.04 -> match. I1/2 price 2.05: 0.05 > 0.04 -> no.
    # I2/1 no PO, GBP has no rate -> amount_usd null (drops out of the USD KPIs).
    # I3/1 credit note on P1/1 -> match (price equal, quantities fine).
    "erp/invoice_lines_2026-03.csv": """
        invoice_id,invoice_line,vendor_id,site_id,po_id,po_line,category,quantity,unit_price,amount,currency,invoice_date,due_date,paid_date,updated_at
        I1,1,V1,S1,P1,1,,50,2.02,101.00,USD,2026-03-02,2026-03-10,2026-03-03,2026-03-03 10:00
        I1,2,V1,S1,P1,1,,50,2.05,102.50,USD,2026-03-02,2026-03-10,,2026-03-02 10:00
        I2,1,V1,S1,,,office,1,30,30,GBP,2026-03-03,2026-03-31,,2026-03-03 10:00
        I3,1,V1,S1,P1,1,,-5,2.00,-10.00,USD,2026-03-03,2026-03-31,,2026-03-03 10:00
        """,
    "hr/employees.csv": """
        employee_id,home_site_id,role,employment_type,hire_date,updated_at
        E1,S2,picker,full_time,2024-01-01,2026-01-01 00:00:00Z
        """,
    # The rate changes on 03-04: T1, T2 at 20 USD/h; T3, T4 at 22 USD/h.
    "hr/pay_rates.csv": """
        employee_id,effective_from,hourly_rate,currency
        E1,2026-01-01,20,USD
        E1,2026-03-04,22,USD
        """,
    # E1 works 12 h a day in Tokyo (T1-T3: 36 h), then a night shift in New York from
    # 03-04 20:00 to 03-05 04:00 local (crosses midnight; 8 h - 30 min break = 7.5 h).
    # Week total 43.5 h: T4 overtime = 43.5 - max(40, 36) = 3.5 h, regular 4 h.
    # Costs: T1 = T2 = 12 x 20 = 240; T3 = 12 x 22 = 264; T4 = (4 + 3.5 x 1.5) x 22 = 203.5.
    "hr/timesheets_2026-03.csv": """
        entry_id,employee_id,site_id,clock_in,clock_out,break_minutes,activity,updated_at
        T1,E1,S2,2026-03-02 08:00,2026-03-02 20:00,0,picking,2026-03-02 20:00
        T2,E1,S2,2026-03-03 08:00,2026-03-03 20:00,,picking,2026-03-03 20:00
        T3,E1,S2,2026-03-04 08:00,2026-03-04 20:00,0,packing,2026-03-04 20:00
        T4,E1,S1,2026-03-04 20:00,2026-03-05 04:00,30,shipping,2026-03-05 04:00
        """,
}


@pytest.fixture(scope="module")
def warehouse(prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flows.refresh import EXIT_PUBLISHED, run_refresh

    exports = tmp_path_factory.mktemp("hand") / "exports"
    for name, text in FILES.items():
        path = exports / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).strip() + "\n", encoding="utf-8")
    wh = tmp_path_factory.mktemp("hand_wh") / "ops.duckdb"
    code, message, _ = run_refresh(exports, wh, as_of=AS_OF)
    assert code == EXIT_PUBLISHED, message
    return wh


@pytest.fixture(scope="module")
def con(warehouse: Path):
    c = duckdb.connect(str(warehouse), read_only=True)
    yield c
    c.close()


def daily(con, kpi: str) -> dict[tuple[str, str], tuple]:
    rows = con.execute(
        "SELECT site_id, CAST(date AS VARCHAR), numerator, denominator, value "
        "FROM kpi.kpi_daily WHERE kpi = ? ORDER BY ALL", [kpi]
    ).fetchall()
    return {(s, d): (_f(n), _f(den), _f(v)) for s, d, n, den, v in rows}


def _f(x):
    return None if x is None else round(float(x), 9)


def test_delivery_kpis(con) -> None:
    assert daily(con, "on_time_delivery_rate") == {
        ("S1", "2026-03-03"): (1, 1, 1.0),  # SH1 on time
        ("S1", "2026-03-04"): (0, 1, 0.0),  # SH2 late; SH4 delivered after as-of: absent
    }
    assert daily(con, "damage_rate") == {
        ("S1", "2026-03-03"): (1, 6, round(1 / 6, 9)),
        ("S1", "2026-03-04"): (0, 4, 0.0),
    }
    # lead time: SH1 03-04 04:30Z - 03-01 14:00Z = 2 d 14.5 h; SH2 03-04 15:00Z - 03-01 14:00Z = 3 d 1 h
    assert daily(con, "avg_lead_time_days") == {
        ("S1", "2026-03-03"): (round(2 + 14.5 / 24, 9), 1, round(2 + 14.5 / 24, 9)),
        ("S1", "2026-03-04"): (round(3 + 1 / 24, 9), 1, round(3 + 1 / 24, 9)),
    }
    # by shipped date: 03-02 SH1 12 USD + SH2 10 EUR x 1.10 (rate of Friday 02-27) over 10 units;
    # 03-03 SH3 freight null = 0 over 4 units; 03-04 SH4 5 USD over 6 units
    assert daily(con, "freight_cost_per_unit") == {
        ("S1", "2026-03-02"): (23, 10, 2.3),
        ("S1", "2026-03-03"): (0, 4, 0.0),
        ("S1", "2026-03-04"): (5, 6, round(5 / 6, 9)),
    }
    # due 03-03: O1 (9 of 10 delivered, 5 on time) and O2 (nothing); O3 cancelled; O4 not due
    assert daily(con, "otif_rate") == {("S1", "2026-03-03"): (0, 2, 0.0)}
    assert daily(con, "in_full_rate") == {("S1", "2026-03-03"): (0, 2, 0.0)}
    lines = dict(con.execute(
        "SELECT order_id, (qty_delivered_on_time, qty_delivered, is_otif, is_in_full) "
        "FROM core.fct_order_lines").fetchall())
    assert {k: (float(a), float(b), c, d) for k, (a, b, c, d) in lines.items()} == {
        "O1": (5.0, 9.0, False, False), "O2": (0.0, 0.0, False, False),
        "O3": (0.0, 0.0, False, False), "O4": (0.0, 0.0, False, False),
    }
    carriers = con.execute(
        "SELECT carrier_id, CAST(month_start AS VARCHAR), delivered_shipments, on_time_shipments, "
        "on_time_rate, on_time_target, meets_target FROM kpi.kpi_carrier_monthly").fetchall()
    assert [tuple(r) for r in carriers] == [("C1", "2026-03-01", 2, 1, 0.5, 0.95, False)]


def test_spend_kpis(con) -> None:
    assert daily(con, "spend_usd") == {
        ("S1", "2026-03-02"): (203.5, None, 203.5),  # 101.00 + 102.50
        ("S1", "2026-03-03"): (-10, None, -10.0),  # credit note; I2 (GBP, no rate) drops out
    }
    assert daily(con, "po_coverage_rate") == {
        ("S1", "2026-03-02"): (203.5, 203.5, 1.0),
        ("S1", "2026-03-03"): (-10, -10, 1.0),
    }
    assert daily(con, "three_way_match_rate") == {
        ("S1", "2026-03-02"): (1, 2, 0.5),  # I1/1 within 2 %, I1/2 not
        ("S1", "2026-03-03"): (1, 1, 1.0),  # I3/1 credit note
    }
    # (2.02 - 2.00) x 50 + (2.05 - 2.00) x 50 = 1.00 + 2.50; the credit note adds 0 x -5
    assert daily(con, "price_variance_usd") == {
        ("S1", "2026-03-02"): (3.5, None, 3.5),
        ("S1", "2026-03-03"): (0, None, 0.0),
    }
    assert daily(con, "on_time_payment_rate") == {("S1", "2026-03-03"): (1, 1, 1.0)}
    assert daily(con, "supplier_otif_rate") == {("S1", "2026-03-03"): (0, 1, 0.0)}
    spend = dict(con.execute(
        "SELECT invoice_id || '/' || invoice_line, (category, is_three_way_match) FROM core.fct_spend"
    ).fetchall())
    assert spend == {
        "I1/1": ("packaging", True), "I1/2": ("packaging", False),
        "I2/1": ("office", None), "I3/1": ("packaging", True),
    }
    po = con.execute(
        "SELECT po_id, qty_accepted_by_expected, qty_accepted, is_otif FROM core.fct_po_lines "
        "WHERE po_id = 'P1'").fetchone()
    assert (po[0], float(po[1]), float(po[2]), po[3]) == ("P1", 55.0, 95.0, False)
    budget = con.execute(
        "SELECT site_id, category, CAST(month_start AS VARCHAR), budget_usd, actual_usd, "
        "variance_usd, variance_pct FROM kpi.kpi_budget_monthly ORDER BY ALL").fetchall()
    # office spend has no USD amount and no budget: no row
    assert budget == [("S1", "packaging", "2026-03-01", 1000.0, 193.5, -806.5, -0.8065)]


def test_labor_kpis(con) -> None:
    assert daily(con, "labor_hours") == {
        ("S1", "2026-03-04"): (7.5, None, 7.5),
        ("S2", "2026-03-02"): (12, None, 12.0),
        ("S2", "2026-03-03"): (12, None, 12.0),
        ("S2", "2026-03-04"): (12, None, 12.0),
    }
    assert daily(con, "overtime_rate") == {
        ("S1", "2026-03-04"): (3.5, 7.5, round(3.5 / 7.5, 9)),
        ("S2", "2026-03-02"): (0, 12, 0.0),
        ("S2", "2026-03-03"): (0, 12, 0.0),
        ("S2", "2026-03-04"): (0, 12, 0.0),
    }
    assert daily(con, "labor_cost_usd") == {
        ("S1", "2026-03-04"): (203.5, None, 203.5),
        ("S2", "2026-03-02"): (240, None, 240.0),
        ("S2", "2026-03-03"): (240, None, 240.0),
        ("S2", "2026-03-04"): (264, None, 264.0),
    }
    # shipped units (non-cancelled, by shipped date) paired with hours by site and date
    assert daily(con, "units_per_labor_hour") == {
        ("S1", "2026-03-02"): (10, 0, None),
        ("S1", "2026-03-03"): (4, 0, None),
        ("S1", "2026-03-04"): (6, 7.5, 0.8),
        ("S2", "2026-03-02"): (0, 12, 0.0),
        ("S2", "2026-03-03"): (0, 12, 0.0),
        ("S2", "2026-03-04"): (0, 12, 0.0),
    }
    assert daily(con, "labor_cost_per_unit") == {
        ("S1", "2026-03-02"): (0, 10, 0.0),
        ("S1", "2026-03-03"): (0, 4, 0.0),
        ("S1", "2026-03-04"): (203.5, 6, round(203.5 / 6, 9)),
        ("S2", "2026-03-02"): (240, 0, None),
        ("S2", "2026-03-03"): (240, 0, None),
        ("S2", "2026-03-04"): (264, 0, None),
    }
    t4 = con.execute(
        "SELECT CAST(work_date AS VARCHAR), hours_worked, regular_hours, overtime_hours, hourly_rate "
        "FROM core.fct_labor WHERE entry_id = 'T4'").fetchone()
    assert (t4[0], *map(float, t4[1:])) == ("2026-03-04", 7.5, 4.0, 3.5, 22.0)


def test_weekly_rollup_and_all_sites(con) -> None:
    rows = con.execute(
        "SELECT kpi, site_id, numerator, denominator, value FROM kpi.kpi_weekly "
        "WHERE week_start = DATE '2026-03-02' AND kpi IN ('overtime_rate', 'labor_hours', "
        "'on_time_delivery_rate') ORDER BY ALL").fetchall()
    got = {(k, s): (_f(n), _f(d), _f(v)) for k, s, n, d, v in rows}
    assert got == {
        ("labor_hours", "ALL"): (43.5, None, 43.5),
        ("labor_hours", "S1"): (7.5, None, 7.5),
        ("labor_hours", "S2"): (36, None, 36.0),
        ("on_time_delivery_rate", "ALL"): (1, 2, 0.5),
        ("on_time_delivery_rate", "S1"): (1, 2, 0.5),
        ("overtime_rate", "ALL"): (3.5, 43.5, round(3.5 / 43.5, 9)),
        ("overtime_rate", "S1"): (3.5, 7.5, round(3.5 / 7.5, 9)),
        ("overtime_rate", "S2"): (0, 36, 0.0),
    }
    # nothing dated after the as-of date is published
    assert con.execute("SELECT max(date) FROM kpi.kpi_daily").fetchone()[0] == AS_OF
