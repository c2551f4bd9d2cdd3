"""Row rules of exports.md: what is quarantined, with which reasons, and what loads.

Every test writes a tiny CSV by hand, runs the real ``ingest_exports`` into a real
DuckDB file and asserts the exact quarantined rows (file, row number with 1 = first
data row, reasons naming the column and the value) and the typed values that load.

The cases of a parametrized test are one file each, ingested together in one run (one
DuckDB file per test function, built on first use): each case asserts on its own file
only, and the set stays fast.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from tests.ingest_helpers import (
    BASE_ROWS,
    KEYS,
    REQUIRED,
    Warehouse,
    assert_reasons,
    csv_text,
    entity_csv,
    row,
    utc,
    write,
)


def load(wh: Warehouse, exports, entity: str, *rows: dict, rel: str | None = None):
    """Write ``rows`` as one CSV of ``entity``, ingest, return (raw rows, quarantine)."""
    rel = rel or f"x/{entity}_test.csv"
    write(exports, rel, entity_csv(entity, *rows))
    summary = wh.ingest(exports)
    assert [f.status for f in summary.files if f.rel == rel] == ["loaded"], wh.logs
    return wh.raw(entity), wh.quarantine(entity)


def where(quarantine: list[dict]) -> list[tuple[str, int]]:
    return [(q["file"], q["row_number"]) for q in quarantine]


def case_rel(i: int, entity: str) -> str:
    return f"case{i:02d}/{entity}_test.csv"


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """``get(name, {rel: content})``: those files ingested in one run (once per name)."""
    built: dict[str, Warehouse] = {}

    def get(name: str, files: dict[str, str]) -> Warehouse:
        if name not in built:
            root = tmp_path_factory.mktemp(name)
            for rel, content in files.items():
                write(root / "exports", rel, content)
            warehouse = Warehouse(root / "ops.duckdb")
            summary = warehouse.ingest(root / "exports")
            assert {f.rel: f.status for f in summary.files} == dict.fromkeys(files, "loaded"), \
                warehouse.logs
            built[name] = warehouse
        return built[name]

    yield get
    for warehouse in built.values():
        warehouse.close()


def of_file(wh: Warehouse, entity: str, rel: str) -> tuple[list[dict], list[dict]]:
    """(raw rows, quarantined rows) of one file."""
    raw = wh.dicts(f"SELECT * FROM raw.{entity} WHERE _file = ? ORDER BY _row", [rel])
    return raw, [q for q in wh.quarantine(entity) if q["file"] == rel]


# --- every entity: a valid row loads -------------------------------------------------


VALID_FILES = {f"x/{e}_test.csv": entity_csv(e, row(e)) for e in sorted(BASE_ROWS)}


@pytest.mark.parametrize("entity", sorted(BASE_ROWS))
def test_valid_row_of_every_entity_loads(batches, entity):
    wh = batches("valid", VALID_FILES)
    raw, quarantine = of_file(wh, entity, f"x/{entity}_test.csv")
    assert quarantine == []
    assert len(raw) == 1
    assert (raw[0]["_file"], raw[0]["_row"], raw[0]["_run_id"]) == (f"x/{entity}_test.csv", 1, "run1")
    manifest = wh.manifest()[f"x/{entity}_test.csv"]
    assert (manifest["rows_read"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (1, 1, 0)


# --- required and key columns ---------------------------------------------------------

def _null_rows(entity: str) -> list[dict]:
    rows = [row(entity)]
    for column in [*KEYS[entity], *REQUIRED[entity]]:
        rows += [row(entity, **{column: None}), row(entity, **{column: "   "})]
    return rows


NULL_FILES = {f"x/{e}_test.csv": entity_csv(e, *_null_rows(e)) for e in sorted(KEYS)}


@pytest.mark.parametrize("entity", sorted(KEYS))
def test_null_key_or_required_column_is_quarantined(batches, entity):
    """Each key and required column of the entity, null in its own rows: empty, then blanks
    (trimmed, then empty = null)."""
    columns = [*KEYS[entity], *REQUIRED[entity]]
    rows = _null_rows(entity)
    raw, quarantine = of_file(batches("nulls", NULL_FILES), entity, f"x/{entity}_test.csv")
    assert where(quarantine) == [(f"x/{entity}_test.csv", n) for n in range(2, len(rows) + 1)]
    for q in quarantine:
        column = columns[(q["row_number"] - 2) // 2]
        assert_reasons(q["reason_list"], [(column, None)])
        assert "missing" in q["reason_list"][0]
    assert [r["_row"] for r in raw] == [1]


def test_optional_columns_may_be_null_or_absent(wh, exports):
    write(exports, "carriers_a.csv", "carrier_id,carrier_name,mode,on_time_target\nC1,,,\n")
    write(exports, "carriers_b.csv", "carrier_id\nC2\n")
    wh.ingest(exports)
    assert wh.quarantine() == []
    assert wh.rows("SELECT carrier_id, carrier_name, mode, on_time_target FROM raw.carriers "
                   "ORDER BY 1") == [("C1", None, None, None), ("C2", None, None, None)]


# --- conversions ------------------------------------------------------------------------

BAD_VALUES = [
    ("shipments", "shipped_qty", "12,5", "number"),
    ("shipments", "freight_cost", "1e5", "number"),
    ("invoice_lines", "quantity", "ten", "number"),
    ("invoice_lines", "amount", "1,000.00", "number"),
    ("carriers", "on_time_target", "0.9.5", "number"),
    ("order_lines", "ordered_qty", "1 000", "number"),
    ("order_lines", "line_number", "1.5", "integer"),
    ("vendors", "payment_terms_days", "30.5", "integer"),
    ("vendors", "payment_terms_days", "1e2", "integer"),
    ("goods_receipts", "po_line", "one", "integer"),
    ("employees", "hire_date", "2026-02-30", "date"),
    ("pay_rates", "effective_from", "01/03/2026", "date"),
    ("invoice_lines", "due_date", "2026-2-1", "date"),
    ("purchase_order_lines", "expected_date", "2026-01-10T00:00:00", "date"),
    ("budgets", "month", "2026-1", "month"),
    ("budgets", "month", "2026-13", "month"),
    ("vendors", "updated_at", "yesterday", "timestamp"),
    ("order_lines", "order_placed_at", "2026-02-31 10:00", "timestamp"),
    ("shipments", "shipped_at", "2026-01-03 25:00", "timestamp"),
    ("timesheets", "clock_in", "2026-01-05 08:00:00.1234567", "timestamp"),
    ("timesheets", "clock_out", "2026-01-05T16", "timestamp"),
    ("order_lines", "updated_at", "2026-01-02 10:00 +02:00", "timestamp"),
    ("shipments", "updated_at", "2026-01-02Z", "timestamp"),  # an offset needs a time
    ("shipments", "shipped_at", "2026-01-02+01:00", "timestamp"),
    ("purchase_order_lines", "ordered_at", "soon", "timestamp"),
    ("inventory_snapshots", "snapshot_date", "05.01.2026", "date"),
    ("inventory_snapshots", "on_hand_qty", "1,5", "number"),
    ("inventory_snapshots", "unit_cost", "2.5 USD", "number"),
    ("cycle_counts", "counted_at", "2026-01-05 10h00", "timestamp"),
    ("cycle_counts", "system_qty", "ten", "number"),
    ("cycle_counts", "counted_qty", "9e0", "number"),
    ("cycle_counts", "updated_at", "2026-01-05 11:00 CET", "timestamp"),
    ("returns", "line_number", "2.5", "integer"),
    ("returns", "returned_qty", "two", "number"),
    ("returns", "requested_at", "2026-01-32 10:00", "timestamp"),
    ("returns", "received_at", "08/01/2026", "timestamp"),
    ("returns", "refunded_at", "2026-01-09 24:00", "timestamp"),
    ("returns", "refund_amount", "$25", "number"),
    ("returns", "updated_at", "2026-01-09T10:00:00+2", "timestamp"),
    ("service_tickets", "opened_at", "2026-01-05 10:00 CET", "timestamp"),
    ("service_tickets", "first_response_at", "soon", "timestamp"),
    ("service_tickets", "updated_at", "2026-1-5 15:00", "timestamp"),
    ("safety_incidents", "occurred_at", "2026/01/05 10:00", "timestamp"),
    ("safety_incidents", "days_lost", "1.5", "integer"),
    ("safety_incidents", "updated_at", "today", "timestamp"),
]


BAD_VALUE_FILES = {case_rel(i, e): entity_csv(e, row(e), row(e, **{c: v}))
                   for i, (e, c, v, _) in enumerate(BAD_VALUES)}


@pytest.mark.parametrize(("i", "entity", "column", "value", "kind"),
                         [(i, *case) for i, case in enumerate(BAD_VALUES)],
                         ids=[f"{e}.{c}={v}" for e, c, v, _ in BAD_VALUES])
def test_unconvertible_value_is_quarantined(batches, i, entity, column, value, kind):
    rel = case_rel(i, entity)
    raw, quarantine = of_file(batches("bad_values", BAD_VALUE_FILES), entity, rel)
    assert where(quarantine) == [(rel, 2)]
    reasons = quarantine[0]["reason_list"]
    assert_reasons(reasons, [(column, value)])
    assert kind in reasons[0]
    assert [r["_row"] for r in raw] == [1]


GOOD_VALUES = [
    ("order_lines", "line_number", "12.0", 12),
    ("order_lines", "line_number", "12.", 12),
    ("order_lines", "line_number", "0012", 12),
    ("order_lines", "line_number", " 7 ", 7),
    ("vendors", "payment_terms_days", "+30", 30),
    ("order_lines", "ordered_qty", ".5", Decimal("0.5")),
    ("order_lines", "ordered_qty", "12.", Decimal("12")),
    ("order_lines", "ordered_qty", "+3.25", Decimal("3.25")),
    ("order_lines", "ordered_qty", "0.0000000001", Decimal("0.0000000001")),
    ("order_lines", "ordered_qty", "123456789012345678.0123456789",
     Decimal("123456789012345678.0123456789")),
    ("invoice_lines", "paid_date", "2026-01-31", date(2026, 1, 31)),
    ("budgets", "month", "2026-02", date(2026, 2, 1)),
    ("budgets", "month", "2026-02-15", date(2026, 2, 1)),
    ("employees", "hire_date", "2024-02-29", date(2024, 2, 29)),
    ("purchase_order_lines", "ordered_at", "2026-01-02", utc("2026-01-02T00:00:00+00:00")),
    ("purchase_order_lines", "ordered_at", "2026-01-02 07:30", utc("2026-01-02T07:30:00+00:00")),
]


GOOD_VALUE_FILES = {case_rel(i, e): entity_csv(e, row(e, **{c: t}))
                    for i, (e, c, t, _) in enumerate(GOOD_VALUES)}


@pytest.mark.parametrize(("i", "entity", "column", "text", "expected"),
                         [(i, *case) for i, case in enumerate(GOOD_VALUES)],
                         ids=[f"{e}.{c}={t}" for e, c, t, _ in GOOD_VALUES])
def test_valid_value_loads_typed(batches, i, entity, column, text, expected):
    raw, quarantine = of_file(batches("good_values", GOOD_VALUE_FILES), entity, case_rel(i, entity))
    assert quarantine == []
    assert raw[0][column] == expected


# --- allowed sets -------------------------------------------------------------------------

ALLOWED = {
    ("carriers", "mode"): (("parcel", "ltl", "ftl", "courier"), "rail"),
    ("employees", "employment_type"): (("full_time", "part_time", "temporary"), "contractor"),
    ("order_lines", "status"): (("open", "shipped", "delivered", "closed", "cancelled"), "pending"),
    ("shipments", "status"): (("in_transit", "delivered", "cancelled"), "lost"),
    ("purchase_order_lines", "status"): (("open", "closed", "cancelled"), "approved"),
    ("timesheets", "activity"): (
        ("receiving", "picking", "packing", "shipping", "driving", "admin", "other"), "lunch"),
    ("returns", "reason"): (
        ("damaged", "defective", "wrong_item", "late", "not_needed", "other"), "broken"),
    ("returns", "status"): (("requested", "received", "refunded", "rejected", "cancelled"), "lost"),
    ("service_tickets", "priority"): (("low", "normal", "high", "urgent"), "critical"),
    ("service_tickets", "status"): (
        ("open", "pending", "resolved", "closed", "cancelled"), "reopened"),
    ("safety_incidents", "severity"): (
        ("near_miss", "first_aid", "recordable", "lost_time"), "fatality"),
}


def _with(entity: str, column: str, value: str, **extra) -> dict:
    overrides = {column: value, **extra}
    if entity == "shipments" and column == "status":
        # delivered_at is set exactly for delivered shipments (a separate rule)
        delivered = value.strip().lower() == "delivered"
        overrides["delivered_at"] = BASE_ROWS["shipments"]["delivered_at"] if delivered else None
    return row(entity, **overrides)


def _allowed_rows(entity: str, column: str) -> list[dict]:
    allowed, bad = ALLOWED[(entity, column)]
    key = KEYS[entity][0]
    rows = [
        _with(entity, column, f" {v.upper()} " if i % 2 else v.title(), **{key: f"K{i}"})
        for i, v in enumerate(allowed)
    ]
    return [*rows, _with(entity, column, bad.upper(), **{key: "BAD"})]


ALLOWED_FILES = {f"{c}/{e}_test.csv": entity_csv(e, *_allowed_rows(e, c)) for e, c in ALLOWED}


@pytest.mark.parametrize(("entity", "column"), sorted(ALLOWED), ids=[f"{e}.{c}" for e, c in sorted(ALLOWED)])
def test_allowed_set_case_insensitive_stored_lower_case(batches, entity, column):
    allowed, bad = ALLOWED[(entity, column)]
    rel = f"{column}/{entity}_test.csv"
    raw, quarantine = of_file(batches("allowed", ALLOWED_FILES), entity, rel)
    assert [r[column] for r in raw] == list(allowed)
    assert where(quarantine) == [(rel, len(allowed) + 1)]
    assert_reasons(quarantine[0]["reason_list"], [(column, bad.upper())])


def test_ftl_loads_as_ftl(wh, exports):
    raw, _ = load(wh, exports, "carriers", row("carriers", mode="FTL"))
    assert raw[0]["mode"] == "ftl"


# --- currencies and time zones ----------------------------------------------------------

CURRENCY_ENTITIES = ["pay_rates", "fx_rates", "budgets", "shipments", "purchase_order_lines",
                     "invoice_lines", "inventory_snapshots", "cycle_counts", "returns"]


CURRENCIES = ["eur", " Gbp ", "US$", "EURO", "E1R", "EU", "U S"]


def _currency_rows(entity: str) -> list[dict]:
    key = KEYS[entity][0] if entity != "fx_rates" else "rate_date"
    keyval = (lambda i: f"2026-01-0{i + 1}") if entity == "fx_rates" else (lambda i: f"K{i}")
    return [row(entity, currency=v, **{key: keyval(i)}) for i, v in enumerate(CURRENCIES)]


CURRENCY_FILES = {f"x/{e}_test.csv": entity_csv(e, *_currency_rows(e)) for e in CURRENCY_ENTITIES}


@pytest.mark.parametrize("entity", CURRENCY_ENTITIES)
def test_currency_three_letters_stored_upper_case(batches, entity):
    values = CURRENCIES
    raw, quarantine = of_file(batches("currency", CURRENCY_FILES), entity, f"x/{entity}_test.csv")
    assert [r["currency"] for r in raw] == ["EUR", "GBP"]
    assert where(quarantine) == [(f"x/{entity}_test.csv", n) for n in (3, 4, 5, 6, 7)]
    for q, bad in zip(quarantine, values[2:], strict=True):
        assert_reasons(q["reason_list"], [("currency", bad)])


def test_unknown_iana_zone_is_quarantined(wh, exports):
    raw, quarantine = load(
        wh, exports, "sites",
        row("sites", site_id="S1", timezone="Europe/Berlin"),
        row("sites", site_id="S2", timezone="Mars/Olympus"),
        row("sites", site_id="S3", timezone="America/Argentina/Buenos_Aires"),
        row("sites", site_id="S4", timezone="Central Time"),
        row("sites", site_id="S5", timezone="UTC"),
    )
    assert [(r["site_id"], r["timezone"]) for r in raw] == [
        ("S1", "Europe/Berlin"), ("S3", "America/Argentina/Buenos_Aires"), ("S5", "UTC")]
    assert where(quarantine) == [("x/sites_test.csv", 2), ("x/sites_test.csv", 4)]
    assert_reasons(quarantine[0]["reason_list"], [("timezone", "Mars/Olympus")])
    assert_reasons(quarantine[1]["reason_list"], [("timezone", "Central Time")])


# --- bounds -------------------------------------------------------------------------------

# (entity, column, value, loads, other overrides, other columns named by extra reasons)
BOUNDS = [
    ("carriers", "on_time_target", "0", True, {}, []),
    ("carriers", "on_time_target", "1", True, {}, []),
    ("carriers", "on_time_target", "-0.01", False, {}, []),
    ("carriers", "on_time_target", "1.0000000001", False, {}, []),
    ("vendors", "payment_terms_days", "0", True, {}, []),
    ("vendors", "payment_terms_days", "-1", False, {}, []),
    ("pay_rates", "hourly_rate", "0.0000000001", True, {}, []),
    ("pay_rates", "hourly_rate", "0", False, {}, []),
    ("pay_rates", "hourly_rate", "-3", False, {}, []),
    ("fx_rates", "usd_per_unit", "0", False, {}, []),
    ("fx_rates", "usd_per_unit", "-1.1", False, {}, []),
    ("budgets", "budget_amount", "0", True, {}, []),
    ("budgets", "budget_amount", "-0.01", False, {}, []),
    ("order_lines", "ordered_qty", "0", False, {}, []),
    ("order_lines", "ordered_qty", "-1", False, {}, []),
    ("shipments", "shipped_qty", "0", True, {}, []),
    ("shipments", "shipped_qty", "-1", False, {}, ["damaged_qty"]),  # damaged 0 > shipped -1
    ("shipments", "damaged_qty", "-1", False, {}, []),
    ("shipments", "freight_cost", "0", True, {}, []),
    ("shipments", "freight_cost", "-0.5", False, {}, []),
    ("purchase_order_lines", "ordered_qty", "0", False, {}, []),
    ("purchase_order_lines", "unit_price", "0", True, {}, []),
    ("purchase_order_lines", "unit_price", "-1", False, {}, []),
    ("goods_receipts", "received_qty", "0", True, {}, []),
    ("goods_receipts", "received_qty", "-1", False, {}, ["rejected_qty"]),  # 0 > -1
    ("goods_receipts", "rejected_qty", "-1", False, {}, []),
    ("invoice_lines", "unit_price", "0", True, {"amount": "0"}, []),
    ("invoice_lines", "unit_price", "-2.5", False, {"amount": "-25"}, []),
    ("invoice_lines", "quantity", "-10", True, {"amount": "-25"}, []),  # credit note
    ("timesheets", "break_minutes", "0", True, {}, []),
    ("timesheets", "break_minutes", "-10", False, {}, []),
    ("inventory_snapshots", "on_hand_qty", "0", True, {}, []),
    ("inventory_snapshots", "on_hand_qty", "-1", False, {}, []),
    ("inventory_snapshots", "unit_cost", "0", True, {}, []),
    ("inventory_snapshots", "unit_cost", "-0.0001", False, {}, []),
    ("cycle_counts", "system_qty", "0", True, {}, []),
    ("cycle_counts", "system_qty", "-1", False, {}, []),
    ("cycle_counts", "counted_qty", "0", True, {}, []),
    ("cycle_counts", "counted_qty", "-0.5", False, {}, []),
    ("cycle_counts", "unit_cost", "0", True, {}, []),
    ("cycle_counts", "unit_cost", "-2.5", False, {}, []),
    ("returns", "returned_qty", "0.0000000001", True, {}, []),
    ("returns", "returned_qty", "0", False, {}, []),
    ("returns", "returned_qty", "-2", False, {}, []),
    ("returns", "refund_amount", "0", True, {}, []),
    ("returns", "refund_amount", "-0.01", False, {}, []),
    ("safety_incidents", "days_lost", "0", True, {}, []),
    ("safety_incidents", "days_lost", "30", True, {"severity": "lost_time"}, []),
    ("safety_incidents", "days_lost", "-1", False, {"severity": "lost_time"}, []),
    # -1 is not 0 either: with another severity the days_lost rule breaks too
    ("safety_incidents", "days_lost", "-1", False, {"severity": "first_aid"}, ["severity"]),
]


BOUND_FILES = {case_rel(i, e): entity_csv(e, row(e, **{c: v, **extra}))
               for i, (e, c, v, _, extra, _) in enumerate(BOUNDS)}


@pytest.mark.parametrize(("i", "entity", "column", "value", "loads", "extra", "also"),
                         [(i, *b) for i, b in enumerate(BOUNDS)],
                         ids=[f"{b[0]}.{b[1]}={b[2]}" for b in BOUNDS])
def test_bound(batches, i, entity, column, value, loads, extra, also):
    rel = case_rel(i, entity)
    raw, quarantine = of_file(batches("bounds", BOUND_FILES), entity, rel)
    if loads:
        assert quarantine == []
        assert raw[0][column] == Decimal(value)
    else:
        assert raw == []
        assert where(quarantine) == [(rel, 1)]
        assert_reasons(quarantine[0]["reason_list"], [(column, value)] + [(c, None) for c in also])


# --- cross-column rules ---------------------------------------------------------------


def _rule_case(wh, exports, entity, cases):
    """cases: (overrides, expected reason columns or [] when the row loads)."""
    key = KEYS[entity][0]
    rows = [row(entity, **{key: f"K{i}", **o}) for i, (o, _) in enumerate(cases)]
    raw, quarantine = load(wh, exports, entity, *rows)
    bad = [i + 1 for i, (_, cols) in enumerate(cases) if cols]
    assert where(quarantine) == [(f"x/{entity}_test.csv", n) for n in bad]
    assert [r["_row"] for r in raw] == [i + 1 for i, (_, cols) in enumerate(cases) if not cols]
    for q in quarantine:
        assert_reasons(q["reason_list"], [(c, None) for c in cases[q["row_number"] - 1][1]])
    return raw, quarantine


def test_shipments_damaged_at_most_shipped(wh, exports):
    _rule_case(wh, exports, "shipments", [
        ({"shipped_qty": "5", "damaged_qty": "5"}, []),
        ({"shipped_qty": "5", "damaged_qty": "5.0000000001"}, ["damaged_qty"]),
        ({"shipped_qty": "0", "damaged_qty": "1"}, ["damaged_qty"]),
    ])


def test_shipments_delivered_not_before_shipped(wh, exports):
    _rule_case(wh, exports, "shipments", [
        ({"shipped_at": "2026-01-03T10:00:00Z", "delivered_at": "2026-01-03T10:00:00Z"}, []),
        ({"shipped_at": "2026-01-03T10:00:00Z", "delivered_at": "2026-01-03T09:59:59Z"},
         ["delivered_at"]),
        # later wall-clock text, earlier instant: 11:00+02:00 is 09:00Z
        ({"shipped_at": "2026-01-03T10:00:00Z", "delivered_at": "2026-01-03T11:00:00+02:00"},
         ["delivered_at"]),
    ])


STATUSES = [
    ("delivered", "2026-01-04T10:00:00Z", True),
    ("delivered", None, False),
    ("in_transit", None, True),
    ("in_transit", "2026-01-04T10:00:00Z", False),
    ("cancelled", None, True),
    ("cancelled", "2026-01-04T10:00:00Z", True),
    ("DELIVERED", "2026-01-04T10:00:00Z", True),
]
STATUS_FILES = {case_rel(i, "shipments"): entity_csv("shipments", row("shipments", status=s, delivered_at=d))
                for i, (s, d, _) in enumerate(STATUSES)}


@pytest.mark.parametrize(("i", "status", "delivered_at", "loads"), [(i, *c) for i, c in enumerate(STATUSES)])
def test_shipments_delivered_status_iff_delivered_at(batches, i, status, delivered_at, loads):
    rel = case_rel(i, "shipments")
    raw, quarantine = of_file(batches("statuses", STATUS_FILES), "shipments", rel)
    if loads:
        assert quarantine == [] and len(raw) == 1
    else:
        assert raw == []
        assert where(quarantine) == [(rel, 1)]
        assert_reasons(quarantine[0]["reason_list"], [("status", None)])
        assert "delivered_at" in quarantine[0]["reason_list"][0]


def test_goods_receipts_rejected_at_most_received(wh, exports):
    _rule_case(wh, exports, "goods_receipts", [
        ({"received_qty": "10", "rejected_qty": "10"}, []),
        ({"received_qty": "10", "rejected_qty": "10.5"}, ["rejected_qty"]),
        ({"received_qty": "0", "rejected_qty": None}, []),
    ])


def test_invoice_po_line_required_when_po_id_set(wh, exports):
    _rule_case(wh, exports, "invoice_lines", [
        ({"po_id": "PO1", "po_line": "1"}, []),
        ({"po_id": None, "po_line": None}, []),
        ({"po_id": "PO1", "po_line": None}, ["po_line"]),
        ({"po_id": "PO1", "po_line": "  "}, ["po_line"]),
    ])


AMOUNTS = [
    # quantity, unit_price, amount, loads
    ("3", "0.1", "0.3", True),
    ("3", "0.1", "0.31", True),  # off by exactly 0.01: passes in decimal arithmetic
    ("3", "0.1", "0.29", True),
    ("3", "0.1", "0.311", False),  # off by 0.011
    ("3", "0.1", "0.289", False),
    ("1.1", "1.1", "1.22", True),  # 1.21 + 0.01
    ("1.1", "1.1", "1.2", True),
    ("1.1", "1.1", "1.199", False),
    ("-2", "12.5", "-25.01", True),  # credit note
    ("-2", "12.5", "-25.011", False),
    ("0.0000000001", "0.0000000001", "0", True),
    # values well inside the 18 digits of the contract, products beyond them
    ("10000000000", "10000000000", "1", False),
    ("10000000000", "10000000000", "100000000000000000000", True),
    ("1000000000", "1000000000", "999999999999999999.995", True),
    ("1000000000", "1000000000", "999999999999999999.989", False),
]


AMOUNT_FILES = {
    case_rel(i, "invoice_lines"): entity_csv(
        "invoice_lines", row("invoice_lines", quantity=q, unit_price=p, amount=a))
    for i, (q, p, a, _) in enumerate(AMOUNTS)
}


@pytest.mark.parametrize(("i", "quantity", "unit_price", "amount", "loads"),
                         [(i, *a) for i, a in enumerate(AMOUNTS)],
                         ids=[f"{q}x{p}={a}" for q, p, a, _ in AMOUNTS])
def test_invoice_amount_matches_quantity_times_price(batches, i, quantity, unit_price, amount, loads):
    rel = case_rel(i, "invoice_lines")
    raw, quarantine = of_file(batches("amounts", AMOUNT_FILES), "invoice_lines", rel)
    if loads:
        assert quarantine == []
        assert raw[0]["amount"] == Decimal(amount)
    else:
        assert raw == []
        assert where(quarantine) == [(rel, 1)]
        assert_reasons(quarantine[0]["reason_list"], [("amount", None)])


def test_invoice_paid_date_not_before_invoice_date(wh, exports):
    _rule_case(wh, exports, "invoice_lines", [
        ({"invoice_date": "2026-01-11", "paid_date": "2026-01-11"}, []),
        ({"invoice_date": "2026-01-11", "paid_date": "2026-01-10"}, ["paid_date"]),
        ({"invoice_date": "2026-01-11", "paid_date": None}, []),
    ])


def test_timesheet_rules(wh, exports):
    _rule_case(wh, exports, "timesheets", [
        # clock_out > clock_in (a zero or negative shift is also not longer than its break)
        ({"clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-05T08:00:00Z",
          "break_minutes": "0"}, ["clock_out", "break_minutes"]),
        ({"clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-05T07:00:00Z",
          "break_minutes": None}, ["clock_out", "break_minutes"]),
        # at most 24 hours: exactly 24 h passes
        ({"clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-06T08:00:00Z"}, []),
        ({"clock_in": "2026-01-05T08:00:00.250000Z", "clock_out": "2026-01-06T08:00:00.25Z"}, []),
        ({"clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-06T08:00:01Z"}, ["clock_out"]),
        # break shorter than the shift
        ({"clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-05T16:00:00Z",
          "break_minutes": "480"}, ["break_minutes"]),
        ({"clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-05T16:00:00Z",
          "break_minutes": "479.99"}, []),
        ({"clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-05T16:00:00Z",
          "break_minutes": "1000000000000000000000000000"}, ["break_minutes"]),
    ])


def test_returns_received_and_refunded_not_before_requested(wh, exports):
    # the base row is requested at 2026-01-06 10:00Z
    _rule_case(wh, exports, "returns", [
        # the same instant passes
        ({"received_at": "2026-01-06T10:00:00Z", "refunded_at": "2026-01-06T10:00:00Z"}, []),
        ({"received_at": "2026-01-06T09:59:59Z"}, ["received_at"]),
        ({"refunded_at": "2026-01-06T09:59:59.999999Z"}, ["refunded_at"]),
        ({"received_at": "2026-01-05T10:00:00Z", "refunded_at": "2026-01-05T10:00:00Z"},
         ["received_at", "refunded_at"]),
        # a later wall-clock text, an earlier instant: 11:30+02:00 is 09:30Z
        ({"received_at": "2026-01-06T11:30:00+02:00"}, ["received_at"]),
        # requested only; refunded without being sent back: only what is set is judged
        ({"received_at": None, "refunded_at": None, "refund_amount": None,
          "status": "requested"}, []),
        ({"received_at": None, "refunded_at": "2026-01-06T12:00:00Z"}, []),
    ])


def test_service_ticket_rules(wh, exports):
    # the base ticket is opened at 2026-01-05 10:00Z, answered, resolved
    _rule_case(wh, exports, "service_tickets", [
        # answered and resolved at the opening instant
        ({"first_response_at": "2026-01-05T10:00:00Z", "resolved_at": "2026-01-05T10:00:00Z"},
         []),
        ({"first_response_at": "2026-01-05T09:59:59Z"}, ["first_response_at"]),
        ({"first_response_at": None, "resolved_at": "2026-01-05T09:00:00Z"}, ["resolved_at"]),
        ({"first_response_at": "2026-01-05T09:00:00Z", "resolved_at": "2026-01-05T09:30:00Z"},
         ["first_response_at", "resolved_at"]),
        # resolved or closed need resolved_at; the other statuses do not
        ({"status": "resolved", "resolved_at": None}, ["status"]),
        ({"status": " CLOSED ", "resolved_at": None}, ["status"]),
        ({"status": "open", "resolved_at": None}, []),
        ({"status": "pending", "resolved_at": None}, []),
        ({"status": "cancelled", "first_response_at": None, "resolved_at": None}, []),
        # resolved without a first response is allowed
        ({"first_response_at": None}, []),
    ])


def test_unreadable_resolved_at_of_a_resolved_ticket_breaks_both_rules(wh, exports):
    """An unreadable resolved_at is no resolved_at: a resolved ticket then also breaks
    "resolved requires resolved_at"; an open one only the conversion."""
    _rule_case(wh, exports, "service_tickets", [
        ({"resolved_at": "2026-01-05T15"}, ["resolved_at", "status"]),
        ({"resolved_at": "2026-01-05T15", "status": "open"}, ["resolved_at"]),
    ])
    reasons = [q["reason_list"] for q in wh.quarantine("service_tickets")]
    assert_reasons(reasons[0], [("resolved_at", "2026-01-05T15"), ("status", None)])
    assert_reasons(reasons[1], [("resolved_at", "2026-01-05T15")])
    assert "not a timestamp" in reasons[1][0]


def test_safety_days_lost_only_for_lost_time(wh, exports):
    _rule_case(wh, exports, "safety_incidents", [
        ({"severity": "lost_time", "days_lost": "12"}, []),
        ({"severity": "lost_time", "days_lost": "0"}, []),
        ({"severity": "Lost_Time", "days_lost": "2"}, []),  # compared after lower-casing
        ({"severity": "recordable", "days_lost": "1"}, ["days_lost"]),
        ({"severity": "near_miss", "days_lost": "3"}, ["days_lost"]),
        ({"severity": "first_aid", "days_lost": "0.0"}, []),
        ({"severity": "first_aid", "days_lost": None}, []),  # null = 0, applied first
    ])


def test_service_ticket_opened_in_a_repeated_hour_is_its_second_occurrence(wh, exports):
    """Clocks go back at 02:00 CDT in Chicago on 1 Nov 2026 (01:00-02:00 twice: −05:00,
    then −06:00) and at 03:00 CEST in Berlin on 25 Oct 2026 (02:00-03:00 twice)."""
    write(exports, "sites.csv", SITES)
    write(exports, "service_tickets.csv", csv_text([
        # naive 01:30 is the second 01:30 (CST): 07:30Z; answered at 01:50 CST = 07:50Z
        row("service_tickets", ticket_id="T1", site_id="S1", opened_at="2026-11-01 01:30",
            first_response_at="2026-11-01T01:50:00-06:00", resolved_at="2026-11-01 03:00",
            updated_at="2026-11-01 03:00"),
        # answered at the first 01:50 (CDT, 06:50Z): 40 minutes before the second 01:30, so
        # quarantined; it would load if 01:30 were read as the first occurrence (06:30Z)
        row("service_tickets", ticket_id="T2", site_id="S1", opened_at="2026-11-01 01:30",
            first_response_at="2026-11-01T01:50:00-05:00", resolved_at="2026-11-01 03:00",
            updated_at="2026-11-01 03:00"),
        # Berlin: naive 02:30 is the second 02:30 (CET +01:00): 01:30Z
        row("service_tickets", ticket_id="T3", site_id="S2", opened_at="2026-10-25 02:30",
            first_response_at=None, resolved_at=None, status="open",
            updated_at="2026-10-25 02:45"),
    ]))
    wh.ingest(exports)
    assert wh.rows("SELECT ticket_id, opened_at, resolved_at FROM raw.service_tickets "
                   "ORDER BY ticket_id") == [
        ("T1", utc("2026-11-01T07:30:00+00:00"), utc("2026-11-01T09:00:00+00:00")),
        ("T3", utc("2026-10-25T01:30:00+00:00"), None)]
    quarantine = wh.quarantine("service_tickets")
    assert where(quarantine) == [("service_tickets.csv", 2)]
    assert_reasons(quarantine[0]["reason_list"], [("first_response_at", None)])


# --- defaults, several reasons, raw row -------------------------------------------------


def test_defaults_are_applied(wh, exports):
    load(wh, exports, "shipments",
         row("shipments", damaged_qty=None, freight_cost="  ", currency=None))
    load(wh, exports, "timesheets", row("timesheets", break_minutes=None, activity=""))
    load(wh, exports, "goods_receipts", row("goods_receipts", rejected_qty=None))
    assert wh.rows("SELECT damaged_qty, freight_cost, currency FROM raw.shipments") == [
        (Decimal(0), Decimal(0), "USD")]
    assert wh.rows("SELECT break_minutes, activity FROM raw.timesheets") == [(Decimal(0), "other")]
    assert wh.rows("SELECT rejected_qty FROM raw.goods_receipts") == [(Decimal(0),)]
    assert wh.quarantine() == []


def test_defaults_of_returns_and_safety_incidents(wh, exports):
    load(wh, exports, "returns", row("returns", refund_amount=None, currency="  "))
    load(wh, exports, "safety_incidents", row("safety_incidents", days_lost=None))
    assert wh.rows("SELECT refund_amount, currency FROM raw.returns") == [(Decimal(0), "USD")]
    assert wh.rows("SELECT days_lost FROM raw.safety_incidents") == [(0,)]
    assert wh.quarantine() == []


def test_defaults_apply_to_absent_columns(wh, exports):
    ship = {k: v for k, v in BASE_ROWS["shipments"].items()
            if k not in ("damaged_qty", "freight_cost", "currency")}
    write(exports, "shipments_min.csv", csv_text([ship]))
    wh.ingest(exports)
    assert wh.rows("SELECT damaged_qty, freight_cost, currency FROM raw.shipments") == [
        (Decimal(0), Decimal(0), "USD")]


def test_defaults_are_applied_before_the_rules(wh, exports):
    # null damaged_qty is 0, which is greater than a shipped_qty of -1: two reasons
    _, quarantine = load(wh, exports, "shipments", row("shipments", shipped_qty="-1", damaged_qty=None))
    assert_reasons(quarantine[0]["reason_list"], [("shipped_qty", "-1"), ("damaged_qty", None)])
    _, quarantine = load(wh, exports, "goods_receipts",
                         row("goods_receipts", received_qty="-1", rejected_qty=None))
    assert_reasons(quarantine[0]["reason_list"], [("received_qty", "-1"), ("rejected_qty", None)])


def test_a_row_breaking_several_rules_lists_every_reason(wh, exports):
    bad = row("shipments", shipment_id=None, shipped_qty="12,5", shipped_at="yesterday",
              damaged_qty="-1", currency="US$", status="lost", delivered_at=None,
              updated_at="2026-13-01")
    _, quarantine = load(wh, exports, "shipments", row("shipments"), bad)
    assert where(quarantine) == [("x/shipments_test.csv", 2)]
    assert_reasons(quarantine[0]["reason_list"], [
        ("shipment_id", None), ("shipped_qty", "12,5"), ("shipped_at", "yesterday"),
        ("damaged_qty", "-1"), ("currency", "US$"), ("status", "lost"),
        ("updated_at", "2026-13-01"),
    ])
    assert wh.rows("SELECT reasons FROM audit.quarantine")[0][0] == "; ".join(
        quarantine[0]["reason_list"])


def test_raw_row_is_kept_as_json_with_the_files_own_column_names(wh, exports):
    write(exports, "tms/Carriers_2026.csv",
          "Carrier_Id,MODE,On_Time_Target,Extra Col\n C1 , rail ,1.5,x\nC2,FTL,,\n")
    wh.ingest(exports)
    quarantine = wh.quarantine("carriers")
    assert where(quarantine) == [("tms/Carriers_2026.csv", 1)]
    assert_reasons(quarantine[0]["reason_list"], [("mode", "rail"), ("on_time_target", "1.5")])
    assert json.loads(quarantine[0]["raw"]) == {
        "Carrier_Id": " C1 ", "MODE": " rail ", "On_Time_Target": "1.5", "Extra Col": "x"}
    assert wh.rows("SELECT carrier_id, mode FROM raw.carriers") == [("C2", "ftl")]
    manifest = wh.manifest()["tms/Carriers_2026.csv"]
    assert (manifest["rows_read"], manifest["rows_loaded"], manifest["rows_quarantined"]) == (2, 1, 1)


# --- time zones ----------------------------------------------------------------------------

SITES = csv_text([
    row("sites", site_id="S1", timezone="America/Chicago"),
    row("sites", site_id="S2", timezone="Europe/Berlin"),
    row("sites", site_id="S3", timezone="Asia/Singapore"),
])

TIMESTAMPS = [
    # site, text, instant
    ("S1", "2026-01-05 08:00", "2026-01-05T14:00:00+00:00"),  # naive: wall clock at the site
    ("S1", "2026-01-05T08:00:00", "2026-01-05T14:00:00+00:00"),
    ("S1", "2026-01-05 08:00:00.5", "2026-01-05T14:00:00.500000+00:00"),
    ("S1", "2026-01-05T08:00:00.123456", "2026-01-05T14:00:00.123456+00:00"),
    ("S1", "2026-01-05", "2026-01-05T06:00:00+00:00"),  # date alone: local midnight
    ("S1", "2026-01-05T08:00Z", "2026-01-05T08:00:00+00:00"),
    ("S1", "2026-01-05 08:00:00+02:00", "2026-01-05T06:00:00+00:00"),
    ("S1", "2026-01-05T08:00:00-0530", "2026-01-05T13:30:00+00:00"),
    ("S1", "2026-01-05 08:00:00.25+0100", "2026-01-05T07:00:00.250000+00:00"),
    ("S2", "2026-07-01 12:00", "2026-07-01T10:00:00+00:00"),  # summer time in Berlin
    ("S3", "2026-01-05 08:00", "2026-01-05T00:00:00+00:00"),
    ("S9", "2026-01-05 08:00", "2026-01-05T08:00:00+00:00"),  # no sites row: UTC
    # DST: nonexistent wall time moves forward by the gap, ambiguous is the second one
    ("S1", "2026-03-08 02:30", "2026-03-08T08:30:00+00:00"),
    ("S1", "2026-11-01 01:30", "2026-11-01T07:30:00+00:00"),
    ("S2", "2026-03-29 02:30", "2026-03-29T01:30:00+00:00"),
    ("S2", "2026-10-25 02:30", "2026-10-25T01:30:00+00:00"),
]


def test_timestamps_are_instants_at_the_rows_site(wh, exports):
    # the sites file sorts after the order lines but is loaded first in the run
    write(exports, "z/sites.csv", SITES)
    rows = [row("order_lines", order_id=f"O{i}", site_id=site, order_placed_at=text)
            for i, (site, text, _) in enumerate(TIMESTAMPS)]
    write(exports, "a/order_lines.csv", csv_text(rows))
    wh.ingest(exports)
    assert wh.quarantine() == []
    got = wh.rows("SELECT order_placed_at FROM raw.order_lines ORDER BY _row")
    assert [g[0] for g in got] == [utc(t) for _, _, t in TIMESTAMPS]


def test_site_with_quarantined_zone_or_no_row_is_utc(wh, exports):
    write(exports, "sites.csv", csv_text([row("sites", site_id="S1", timezone="Mars/Olympus")]))
    write(exports, "order_lines.csv", csv_text([
        row("order_lines", order_id="O1", site_id="S1", order_placed_at="2026-01-05 08:00"),
        row("order_lines", order_id="O2", site_id="S2", order_placed_at="2026-01-05 08:00"),
    ]))
    wh.ingest(exports)
    assert wh.rows("SELECT order_placed_at FROM raw.order_lines ORDER BY _row") == [
        (utc("2026-01-05T08:00:00+00:00"),), (utc("2026-01-05T08:00:00+00:00"),)]


def test_the_surviving_sites_row_gives_the_zone(wh, exports):
    # run 1: S1 in Chicago; run 2: a later sites file moves it to Berlin (greater path wins)
    write(exports, "ref/a/sites.csv", csv_text([row("sites", site_id="S1", timezone="America/Chicago")]))
    wh.ingest(exports, "run1")
    write(exports, "ref/b/sites.csv", csv_text([
        row("sites", site_id="S1", timezone="Asia/Singapore"),
        row("sites", site_id="S1", timezone="Europe/Berlin"),  # greater row wins
    ]))
    write(exports, "erp/order_lines.csv", csv_text([row("order_lines", order_placed_at="2026-01-05 08:00")]))
    wh.ingest(exports, "run2")
    assert wh.rows("SELECT order_placed_at FROM raw.order_lines") == [(utc("2026-01-05T07:00:00+00:00"),)]


def test_entities_without_site_id_are_utc(wh, exports):
    write(exports, "sites.csv", SITES)
    write(exports, "vendors.csv", csv_text([row("vendors", updated_at="2026-01-05 08:00")]))
    # home_site_id does not count
    write(exports, "employees.csv",
          csv_text([row("employees", home_site_id="S1", updated_at="2026-01-05 08:00")]))
    wh.ingest(exports)
    assert wh.rows("SELECT updated_at FROM raw.vendors") == [(utc("2026-01-05T08:00:00+00:00"),)]
    assert wh.rows("SELECT updated_at FROM raw.employees") == [(utc("2026-01-05T08:00:00+00:00"),)]


def test_every_timestamp_column_uses_the_site_zone(wh, exports):
    write(exports, "sites.csv", SITES)
    write(exports, "shipments.csv", csv_text([row(
        "shipments", site_id="S2", shipped_at="2026-01-03 10:00", delivered_at="2026-01-04",
        updated_at="2026-01-04 10:00:00")]))
    write(exports, "purchase_order_lines.csv",
          csv_text([row("purchase_order_lines", site_id="S3", ordered_at="2026-01-02")]))
    wh.ingest(exports)
    assert wh.rows("SELECT shipped_at, delivered_at, updated_at FROM raw.shipments") == [(
        utc("2026-01-03T09:00:00+00:00"), utc("2026-01-03T23:00:00+00:00"),
        utc("2026-01-04T09:00:00+00:00"))]
    assert wh.rows("SELECT ordered_at FROM raw.purchase_order_lines") == [
        (utc("2026-01-01T16:00:00+00:00"),)]


def test_shift_length_is_measured_between_instants_across_dst(wh, exports):
    write(exports, "sites.csv", SITES)
    write(exports, "timesheets.csv", csv_text([
        # spring forward: 24 h of wall clock are 23 h
        row("timesheets", entry_id="T1", clock_in="2026-03-08 00:00", clock_out="2026-03-09 00:00"),
        # fall back: 24 h of wall clock are 25 h
        row("timesheets", entry_id="T2", clock_in="2026-11-01 00:00", clock_out="2026-11-02 00:00"),
    ]))
    wh.ingest(exports)
    assert wh.rows("SELECT entry_id FROM raw.timesheets") == [("T1",)]
    quarantine = wh.quarantine("timesheets")
    assert where(quarantine) == [("timesheets.csv", 2)]
    assert_reasons(quarantine[0]["reason_list"], [("clock_out", None)])
