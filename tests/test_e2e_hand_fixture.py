"""End to end on a tiny hand-made export folder: every expected number below is worked
out by hand from kpis.md (the arithmetic is in the comments), never read back from SQL.

Sites: S1 America/New_York (UTC-5 until 2026-03-08), S2 Asia/Tokyo (UTC+9).
As-of date: Wednesday 2026-03-04 (ISO week starting Monday 2026-03-02).

Besides deliveries, spend and labor, one worked case per newer domain: inventory days on
hand with carry-forward, cycle-count accuracy and shrinkage, returns and perfect orders,
service levels (with a wall-clock time in the hour New York repeats in November),
incident rates and fulfillment cost per order.
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
    # O5/1, O6/1: due Friday 02-27, delivered in full that day (OTIF), the week before.
    "erp/order_lines_2026-03.csv": """
        order_id,line_number,site_id,customer_id,sku,ordered_qty,order_placed_at,requested_delivery_date,priority,status,updated_at
        O1,1,S1,K1,A,10,2026-03-01 09:00,2026-03-03,high,delivered,2026-03-04 12:00
        O2,1,S1,K1,B,4,2026-03-01 09:00,2026-03-03,normal,open,2026-03-01 09:00
        O3,1,S2,K2,C,5,2026-03-01 09:00,2026-03-02,normal,cancelled,2026-03-01 09:00
        O4,1,S1,K2,D,6,2026-03-02 09:00,2026-03-05,low,shipped,2026-03-04 09:00
        O5,1,S1,K3,A,3,2026-02-20 10:00,2026-02-27,normal,delivered,2026-02-27 10:00
        O6,1,S1,K3,B,2,2026-02-20 10:00,2026-02-27,normal,delivered,2026-02-27 10:00
        """,
    # Naive times are New York wall-clock. SH1 delivered 03-03 23:30 local (= 03-04 04:30Z):
    # local date 03-03, on time. SH2 delivered 03-04 10:00 local: late. SH4 delivered 03-05,
    # after the as-of date: not delivered yet. SH0, O2's first shipment, was cancelled (counts
    # nowhere). SH5, SH6 (no carrier) ship O5, O6 on 02-25 and deliver them on 02-27 10:00
    # local, exactly 7 days after the order (02-20 10:00).
    "wms/shipments_2026-03.csv": """
        shipment_id,order_id,line_number,site_id,carrier_id,shipped_qty,shipped_at,delivered_at,damaged_qty,freight_cost,currency,status,updated_at
        SH1,O1,1,S1,C1,6,2026-03-02 08:00,2026-03-03 23:30,1,12.00,USD,delivered,2026-03-04 00:00
        SH2,O1,1,S1,C1,4,2026-03-02 09:00,2026-03-04 10:00,0,10.00,EUR,delivered,2026-03-04 10:00
        SH3,O2,1,S1,C2,4,2026-03-03 10:00,,,,,in_transit,2026-03-03 10:00
        SH4,O4,1,S1,C2,6,2026-03-04 07:00,2026-03-05 09:00,0,5.00,USD,delivered,2026-03-05 09:00
        SH0,O2,1,S1,C2,4,2026-03-01 10:00,,,7.00,USD,cancelled,2026-03-03 09:00
        SH5,O5,1,S1,,3,2026-02-25 08:00,2026-02-27 10:00,0,3.00,USD,delivered,2026-02-27 10:00
        SH6,O6,1,S1,,2,2026-02-25 09:00,2026-02-27 10:00,0,3.00,USD,delivered,2026-02-27 10:00
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
    # --- inventory (S1): Friday 02-27 (A, B), nothing over the weekend, Monday 03-02 (A and
    # D; B no longer listed: nothing on hand), nothing on 03-03, 03-04 (A revalued, C at 0).
    # The 03-05 snapshot is after the as-of date. Values (EUR at 1.10 from 02-27):
    #   02-27: 100 × 2.00 + 50 × 4.00 = 400; 03-02: 90 × 2.00 + 10 × 10 × 1.10 = 290;
    #   03-04: 84 × 2.50 + 0 = 210.
    "wms/inventory_snapshots_2026-03.csv": """
        site_id,sku,snapshot_date,on_hand_qty,unit_cost,currency
        S1,A,2026-02-27,100,2.00,USD
        S1,B,2026-02-27,50,4.00,USD
        S1,A,2026-03-02,90,2.00,USD
        S1,D,2026-03-02,10,10,EUR
        S1,A,2026-03-04,84,2.50,USD
        S1,C,2026-03-04,0,1.00,USD
        S1,D,2026-03-05,5,12,EUR
        """,
    # --- cycle counts (S2, Tokyo): CC3 at 16:00Z is 01:00 on 03-04 in Tokyo; GBP has no rate
    "wms/cycle_counts_2026-03.csv": """
        count_id,site_id,sku,counted_at,system_qty,counted_qty,unit_cost,currency,updated_at
        CC1,S2,X,2026-03-03 10:00,100,100,5,USD,
        CC2,S2,Y,2026-03-03 11:00,40,37,10,EUR,2026-03-03 11:00
        CC3,S2,Z,2026-03-03T16:00:00Z,20,21,2,USD,
        CC4,S2,W,2026-03-04 09:00,10,10,3,GBP,
        """,
    # --- returns (S1): RT2 rejected (not counted), RT3 for an unknown order line, refunded
    # 12 h after its request in EUR; RT4 a quality return of O5/1 requested on the as-of date,
    # RT5 one of O6/1 requested the day after.
    "erp/returns_2026-03.csv": """
        return_id,order_id,line_number,site_id,returned_qty,reason,requested_at,received_at,refunded_at,refund_amount,currency,status,updated_at
        RT1,O1,1,S1,2,wrong_item,2026-03-03 12:00,2026-03-04 09:00,,,,received,2026-03-04 09:00
        RT2,O4,1,S1,1,not_needed,2026-03-04 09:00,,,,,rejected,2026-03-04 09:30
        RT3,O9,1,S1,1,late,2026-03-04 06:00,,2026-03-04 18:00,20,EUR,refunded,2026-03-04 18:00
        RT4,O5,1,S1,1,defective,2026-03-04 10:00,,,,,requested,2026-03-04 10:00
        RT5,O6,1,S1,1,damaged,2026-03-05 09:00,,,,,requested,2026-03-05 09:00
        """,
    # --- service tickets (S1, default service levels: urgent 1/8, high 4/24, normal 8/72,
    # low 24/168 hours). TK6 was opened at 01:30 on 2025-11-02, an hour New York lives twice
    # (EDT, then EST): the contract takes the second, 06:30Z.
    "crm/service_tickets_2026-03.csv": """
        ticket_id,site_id,customer_id,category,priority,opened_at,first_response_at,resolved_at,status,updated_at
        TK1,S1,K1,delivery,high,2026-03-02 09:00,2026-03-02 13:00,2026-03-03 09:00,resolved,2026-03-03 09:00
        TK2,S1,K1,delivery,normal,2026-03-02 10:00,2026-03-02 19:00,2026-03-05 12:00,resolved,2026-03-05 12:00
        TK3,S1,K2,damage,urgent,2026-03-03 20:00,,,open,2026-03-03 20:00
        TK4,S1,K2,account,low,2026-03-04 08:00,,,open,2026-03-04 08:00
        TK5,S1,K3,account,urgent,2026-03-02 08:00,2026-03-02 12:00,,cancelled,2026-03-02 12:00
        TK6,S1,K3,damage,urgent,2025-11-02 01:30,2025-11-02T07:15:00Z,2025-11-02 09:00,closed,2025-11-02 09:00
        """,
    # --- safety: INC3 a near miss on a Sunday without timesheets; INC4 after the as-of date
    "ehs/safety_incidents_2026-03.csv": """
        incident_id,site_id,occurred_at,severity,days_lost,employee_id,updated_at
        INC1,S2,2026-03-03 10:00,recordable,,E1,2026-03-03 12:00
        INC2,S1,2026-03-04 22:00,lost_time,2,E1,2026-03-05 08:00
        INC3,S2,2026-03-01 10:00,near_miss,,,2026-03-01 12:00
        INC4,S2,2026-03-05 10:00,recordable,,E1,2026-03-05 12:00
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
        ("S1", "2026-02-27"): (2, 2, 1.0),  # SH5, SH6 on their due date
        ("S1", "2026-03-03"): (1, 1, 1.0),  # SH1 on time
        ("S1", "2026-03-04"): (0, 1, 0.0),  # SH2 late; SH4 delivered after as-of: absent
    }
    assert daily(con, "damage_rate") == {
        ("S1", "2026-02-27"): (0, 5, 0.0),  # SH5 3 + SH6 2 units, none damaged
        ("S1", "2026-03-03"): (1, 6, round(1 / 6, 9)),
        ("S1", "2026-03-04"): (0, 4, 0.0),
    }
    # lead time: SH1 03-04 04:30Z - 03-01 14:00Z = 2 d 14.5 h; SH2 03-04 15:00Z - 03-01 14:00Z = 3 d 1 h
    # SH5, SH6: 02-27 15:00Z - 02-20 15:00Z = 7 days each
    assert daily(con, "avg_lead_time_days") == {
        ("S1", "2026-02-27"): (14, 2, 7.0),
        ("S1", "2026-03-03"): (round(2 + 14.5 / 24, 9), 1, round(2 + 14.5 / 24, 9)),
        ("S1", "2026-03-04"): (round(3 + 1 / 24, 9), 1, round(3 + 1 / 24, 9)),
    }
    # by shipped date: 03-02 SH1 12 USD + SH2 10 EUR x 1.10 (rate of Friday 02-27) over 10 units;
    # 03-03 SH3 freight null = 0 over 4 units; 03-04 SH4 5 USD over 6 units;
    # 02-25 SH5 + SH6 3 + 3 USD over 3 + 2 units; SH0 (03-01) is cancelled
    assert daily(con, "freight_cost_per_unit") == {
        ("S1", "2026-02-25"): (6, 5, 1.2),
        ("S1", "2026-03-02"): (23, 10, 2.3),
        ("S1", "2026-03-03"): (0, 4, 0.0),
        ("S1", "2026-03-04"): (5, 6, round(5 / 6, 9)),
    }
    # due 03-03: O1 (9 of 10 delivered, 5 on time) and O2 (nothing); O3 cancelled; O4 not due;
    # due 02-27: O5 and O6, delivered in full that day
    for kpi in ("otif_rate", "in_full_rate"):
        assert daily(con, kpi) == {("S1", "2026-02-27"): (2, 2, 1.0), ("S1", "2026-03-03"): (0, 2, 0.0)}
    lines = dict(con.execute(
        "SELECT order_id, (qty_delivered_on_time, qty_delivered, is_otif, is_in_full) "
        "FROM core.fct_order_lines").fetchall())
    assert {k: (float(a), float(b), c, d) for k, (a, b, c, d) in lines.items()} == {
        "O1": (5.0, 9.0, False, False), "O2": (0.0, 0.0, False, False),
        "O3": (0.0, 0.0, False, False), "O4": (0.0, 0.0, False, False),
        "O5": (3.0, 3.0, True, True), "O6": (2.0, 2.0, True, True),
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
        ("S1", "2026-02-25"): (5, 0, None),
        ("S1", "2026-03-02"): (10, 0, None),
        ("S1", "2026-03-03"): (4, 0, None),
        ("S1", "2026-03-04"): (6, 7.5, 0.8),
        ("S2", "2026-03-02"): (0, 12, 0.0),
        ("S2", "2026-03-03"): (0, 12, 0.0),
        ("S2", "2026-03-04"): (0, 12, 0.0),
    }
    assert daily(con, "labor_cost_per_unit") == {
        ("S1", "2026-02-25"): (0, 5, 0.0),
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


# --- inventory, returns, service, safety, fulfillment cost ---------------------------------

def test_inventory_days_on_hand_with_carry_forward(con) -> None:
    days = con.execute(
        "SELECT CAST(date AS VARCHAR), CAST(snapshot_date AS VARCHAR), skus_on_hand, on_hand_qty, "
        "inventory_value_usd FROM core.fct_inventory_daily WHERE site_id = 'S1' ORDER BY date").fetchall()
    # the weekend and 03-03 carry the latest earlier snapshot; 03-02 no longer lists B (nothing
    # on hand); C is listed at 0 on 03-04 (not on hand); the 03-05 snapshot is after as-of
    assert [(d, s, n, float(q), float(v)) for d, s, n, q, v in days] == [
        ("2026-02-27", "2026-02-27", 2, 150.0, 400.0),
        ("2026-02-28", "2026-02-27", 2, 150.0, 400.0),
        ("2026-03-01", "2026-02-27", 2, 150.0, 400.0),
        ("2026-03-02", "2026-03-02", 2, 100.0, 290.0),
        ("2026-03-03", "2026-03-02", 2, 100.0, 290.0),
        ("2026-03-04", "2026-03-04", 1, 84.0, 210.0),
    ]
    # cost of goods: the latest snapshot row of the shipment's site and sku on or before its
    # shipped date. SH1, SH2 (A, 03-02): 6 × 2.00, 4 × 2.00; SH3 (B, 03-03): B's own latest
    # row is 02-27's (03-02 no longer lists it): 4 × 4.00; SH4 (D, 03-04): 03-02's row,
    # 6 × 10 EUR × 1.10; SH0 (B, cancelled) 4 × 4.00; SH5, SH6 (02-25): no row yet
    cogs = dict(con.execute("SELECT shipment_id, cogs_usd FROM core.fct_deliveries").fetchall())
    assert {k: _f(v) for k, v in cogs.items()} == {
        "SH1": 12.0, "SH2": 8.0, "SH3": 16.0, "SH4": 66.0, "SH0": 16.0, "SH5": None, "SH6": None}
    # inventory value of the day over the cost of goods shipped that day (non-cancelled)
    assert daily(con, "days_inventory_on_hand") == {
        ("S1", "2026-02-27"): (400, 0, None),
        ("S1", "2026-02-28"): (400, 0, None),
        ("S1", "2026-03-01"): (400, 0, None),  # SH0 is cancelled
        ("S1", "2026-03-02"): (290, 20, 14.5),  # 12 + 8
        ("S1", "2026-03-03"): (290, 16, 18.125),
        ("S1", "2026-03-04"): (210, 66, round(210 / 66, 9)),
    }
    # the week rolls up as Σ value / Σ cost: (290 + 290 + 210) / (20 + 16 + 66) = 790 / 102
    weekly = con.execute(
        "SELECT site_id, numerator, denominator, value FROM kpi.kpi_weekly "
        "WHERE kpi = 'days_inventory_on_hand' AND week_start = DATE '2026-03-02' ORDER BY ALL").fetchall()
    assert [(s, _f(n), _f(d), _f(v)) for s, n, d, v in weekly] == [
        ("ALL", 790, 102, round(790 / 102, 9)), ("S1", 790, 102, round(790 / 102, 9))]


def test_cycle_count_accuracy_and_shrinkage(con) -> None:
    counts = con.execute(
        "SELECT count_id, CAST(count_date AS VARCHAR), variance_qty, is_accurate, system_value_usd, "
        "shrinkage_usd FROM core.fct_cycle_counts ORDER BY count_id").fetchall()
    # CC2: 3 missing × 10 EUR × 1.10 = 33 of 40 × 11 = 440; CC3 (01:00 on 03-04 in Tokyo) has
    # one more than the system: not accurate at tolerance 0, no shrinkage; CC4: no GBP rate
    assert [(c, d, float(v), a, _f(s), _f(k)) for c, d, v, a, s, k in counts] == [
        ("CC1", "2026-03-03", 0.0, True, 500.0, 0.0),
        ("CC2", "2026-03-03", -3.0, False, 440.0, 33.0),
        ("CC3", "2026-03-04", 1.0, False, 40.0, 0.0),
        ("CC4", "2026-03-04", 0.0, True, None, None),
    ]
    assert daily(con, "inventory_record_accuracy") == {
        ("S2", "2026-03-03"): (1, 2, 0.5), ("S2", "2026-03-04"): (1, 2, 0.5)}
    # CC4 has no USD values: out of both sides
    assert daily(con, "shrinkage_rate") == {
        ("S2", "2026-03-03"): (33, 940, round(33 / 940, 9)), ("S2", "2026-03-04"): (0, 40, 0.0)}


def test_return_rate_and_perfect_orders(con) -> None:
    # counted returns by requested date over delivered units (shipped - damaged) by delivered
    # date: 02-27 nothing returned of SH5 3 + SH6 2; 03-03 RT1 2 of SH1 6 - 1; 03-04 RT3 1 +
    # RT4 1 (RT2 rejected) of SH2 4 (SH4 is delivered after as-of); RT5 is after as-of
    assert daily(con, "return_rate") == {
        ("S1", "2026-02-27"): (0, 5, 0.0),
        ("S1", "2026-03-03"): (2, 5, 0.4),
        ("S1", "2026-03-04"): (2, 4, 0.5),
    }
    # RT3: refunded 12 h after its request
    assert daily(con, "refund_cycle_days") == {("S1", "2026-03-04"): (0.5, 1, 0.5)}
    rt3 = con.execute("SELECT sku, refund_amount_usd, is_counted, is_quality_return "
                      "FROM core.fct_returns WHERE return_id = 'RT3'").fetchone()
    assert (rt3[0], float(rt3[1]), rt3[2], rt3[3]) == (None, 22.0, True, False)  # 20 EUR × 1.10
    perfect = dict(con.execute("SELECT order_id, is_perfect_order FROM core.fct_order_lines").fetchall())
    # O5 is OTIF but has a quality return requested on the as-of date; O6's comes the day after
    assert perfect == {"O1": False, "O2": False, "O3": False, "O4": False, "O5": False, "O6": True}
    assert daily(con, "perfect_order_rate") == {
        ("S1", "2026-02-27"): (1, 2, 0.5), ("S1", "2026-03-03"): (0, 2, 0.0)}


def test_service_levels(con) -> None:
    tickets = con.execute(
        "SELECT ticket_id, response_met, CAST(response_judged_date AS VARCHAR), resolution_met, "
        "CAST(resolution_judged_date AS VARCHAR), resolution_hours FROM core.fct_service_tickets "
        "ORDER BY ticket_id").fetchall()
    assert [(t, rm, rd, sm, sd, _f(h)) for t, rm, rd, sm, sd, h in tickets] == [
        # high: answered exactly at 13:00 (09:00 + 4 h) and resolved exactly 24 h later: met
        ("TK1", True, "2026-03-02", True, "2026-03-03", 24.0),
        # normal: answered 19:00 > due 18:00: missed, judged at the due instant; resolution due
        # 03-05 10:00 and resolved 03-05: not judged, not resolved as of 03-04
        ("TK2", False, "2026-03-02", None, None, None),
        # urgent, never answered: missed at 21:00 on 03-03 and (resolution) at 04:00 on 03-04
        ("TK3", False, "2026-03-03", False, "2026-03-04", None),
        # low: due 03-05 08:00, after as-of: not judged
        ("TK4", None, None, None, None, None),
        # cancelled: never judged
        ("TK5", None, None, None, None, None),
        # opened 01:30 EST (06:30Z, the second 01:30): response due 07:30Z, answered 07:15Z
        # (02:15 local) -> met; resolved 09:00 EST = 14:00Z, due 14:30Z -> met after 7.5 h.
        # Read as the first 01:30 (05:30Z) both would be missed and it would take 8.5 h.
        ("TK6", True, "2025-11-02", True, "2025-11-02", 7.5),
    ]
    assert daily(con, "sla_response_rate") == {
        ("S1", "2025-11-02"): (1, 1, 1.0), ("S1", "2026-03-02"): (1, 2, 0.5),
        ("S1", "2026-03-03"): (0, 1, 0.0)}
    assert daily(con, "sla_resolution_rate") == {
        ("S1", "2025-11-02"): (1, 1, 1.0), ("S1", "2026-03-03"): (1, 1, 1.0),
        ("S1", "2026-03-04"): (0, 1, 0.0)}
    assert daily(con, "avg_resolution_hours") == {
        ("S1", "2025-11-02"): (7.5, 1, 7.5), ("S1", "2026-03-03"): (24, 1, 24.0)}


def test_incident_rates(con) -> None:
    # incidents × 200,000 over hours worked, same site and day. S2 works 12 h a day (T1-T3);
    # S1 7.5 h on 03-04 (T4). INC1 recordable at S2 on 03-03; INC2 lost time (hence also
    # recordable) at S1 on 03-04; INC3 is a near miss on a day without timesheets (no row);
    # INC4 is after as-of.
    assert daily(con, "recordable_incident_rate") == {
        ("S1", "2026-03-04"): (200000, 7.5, round(200000 / 7.5, 9)),
        ("S2", "2026-03-02"): (0, 12, 0.0),
        ("S2", "2026-03-03"): (200000, 12, round(200000 / 12, 9)),
        ("S2", "2026-03-04"): (0, 12, 0.0),
    }
    assert daily(con, "lost_time_incident_rate") == {
        ("S1", "2026-03-04"): (200000, 7.5, round(200000 / 7.5, 9)),
        ("S2", "2026-03-02"): (0, 12, 0.0),
        ("S2", "2026-03-03"): (0, 12, 0.0),
        ("S2", "2026-03-04"): (0, 12, 0.0),
    }


def test_fulfillment_cost_per_order(con) -> None:
    # labor cost + freight (USD) of the day over the orders first shipped that day:
    # 02-25: SH5 3 + SH6 3 USD over O5, O6; 03-02: SH1 12 + SH2 10 EUR × 1.10 over O1 (its
    # second shipment does not count again); 03-03: SH3 (no freight) over O2 (its first
    # shipment SH0 was cancelled); 03-04: T4 203.5 + SH4 5 over O4; S2 has labor only
    assert daily(con, "fulfillment_cost_per_order") == {
        ("S1", "2026-02-25"): (6, 2, 3.0),
        ("S1", "2026-03-02"): (23, 1, 23.0),
        ("S1", "2026-03-03"): (0, 1, 0.0),
        ("S1", "2026-03-04"): (208.5, 1, 208.5),
        ("S2", "2026-03-02"): (240, 0, None),
        ("S2", "2026-03-03"): (240, 0, None),
        ("S2", "2026-03-04"): (264, 0, None),
    }
