"""Versions, idempotency and the conformance example of exports.md.

The surviving version of a record is asserted with the contract's rule written here in
SQL over ``raw.<entity>`` (greatest updated_at, null oldest; then greatest file path
as text; then greatest row number), never with an implementation of it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.ingest_helpers import (
    KEYS,
    Warehouse,
    csv_text,
    entity_csv,
    row,
    write,
)

#: the project's copy of the worked example of ../shared/conformance
CONFORMANCE = Path(__file__).resolve().parent / "fixtures" / "conformance"

#: exports.md entities that have an ``updated_at`` column
WITH_UPDATED_AT = {"vendors", "employees", "order_lines", "shipments", "purchase_order_lines",
                   "goods_receipts", "invoice_lines", "timesheets", "cycle_counts", "returns",
                   "service_tickets", "safety_incidents"}

#: keys of exports.md's inventory, returns, service and safety entities (the worked
#: example has them; tests.ingest_helpers.KEYS does not cover them yet)
ALL_KEYS: dict[str, tuple[str, ...]] = {
    **KEYS,
    "inventory_snapshots": ("site_id", "sku", "snapshot_date"),
    "cycle_counts": ("count_id",),
    "returns": ("return_id",),
    "service_tickets": ("ticket_id",),
    "safety_incidents": ("incident_id",),
}


def surviving_sql(entity: str) -> str:
    keys = ", ".join(ALL_KEYS[entity])
    order = "_file DESC, _row DESC"
    if entity in WITH_UPDATED_AT:
        order = "updated_at DESC NULLS LAST, " + order
    return f"""
        SELECT * EXCLUDE (_version) FROM (
            SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY {order}) AS _version
            FROM raw.{entity})
        WHERE _version = 1
    """


def survivors(wh: Warehouse, entity: str, columns: str) -> list[tuple]:
    return wh.rows(f"SELECT {columns} FROM ({surviving_sql(entity)}) ORDER BY ALL")


def ol(order_id: str, updated_at: str | None, status: str = "open", line: str = "1") -> dict:
    return row("order_lines", order_id=order_id, line_number=line, updated_at=updated_at,
               status=status)


# --- versions ---------------------------------------------------------------------------


def test_raw_keeps_every_version_and_the_greatest_updated_at_survives(wh, exports):
    write(exports, "erp/order_lines_a.csv", csv_text([
        ol("O1", "2026-01-02T10:00:00Z", "open"),
        ol("O1", "2026-01-03T10:00:00Z", "shipped"),  # newest O1
        ol("O2", "2026-01-05T00:00:00Z", "closed"),
        ol("O3", "2026-01-05T00:00:00Z", "open"),
        ol("O3", "2026-01-05T00:00:00Z", "delivered"),  # same instant, same file: row 5 wins
        ol("O6", "2026-01-05T00:00:00Z", "open", line="2.0"),
    ]))
    write(exports, "erp/order_lines_b.csv", csv_text([
        ol("O1", "2026-01-02T12:00:00Z", "cancelled"),  # later path, older version
        ol("O2", "2026-01-05T00:00:00Z", "open"),  # same instant: the greater path wins
        ol("O4", "2026-01-05T10:00:00+02:00", "open"),  # 08:00Z
        ol("O6", "2026-01-05T00:00:00Z", "closed", line="2"),  # same key as line 2.0
    ]))
    # earlier path and earlier wall-clock text, but the later instant (09:00Z)
    write(exports, "erp/order_lines_0.csv", csv_text([ol("O4", "2026-01-05T09:00:00Z", "closed")]))
    # compared as text: 'order_lines_9' > 'order_lines_10'
    write(exports, "erp/order_lines_10.csv", csv_text([ol("O5", "2026-01-07T00:00:00Z", "closed")]))
    write(exports, "erp/order_lines_9.csv", csv_text([ol("O5", "2026-01-07T00:00:00Z", "cancelled")]))
    wh.ingest(exports)

    assert wh.quarantine() == []
    assert wh.rows("SELECT count(*) FROM raw.order_lines") == [(13,)]
    assert survivors(wh, "order_lines", "order_id, line_number, status, _file, _row") == [
        ("O1", 1, "shipped", "erp/order_lines_a.csv", 2),
        ("O2", 1, "open", "erp/order_lines_b.csv", 2),
        ("O3", 1, "delivered", "erp/order_lines_a.csv", 5),
        ("O4", 1, "closed", "erp/order_lines_0.csv", 1),
        ("O5", 1, "cancelled", "erp/order_lines_9.csv", 1),
        ("O6", 2, "closed", "erp/order_lines_b.csv", 4),
    ]


def test_null_updated_at_is_the_oldest_version(wh, exports):
    write(exports, "a/vendors.csv", csv_text([
        row("vendors", vendor_id="V1", vendor_name="dated", updated_at="2026-01-01T00:00:00Z"),
        row("vendors", vendor_id="V2", vendor_name="undated first", updated_at=None),
    ]))
    write(exports, "b/vendors.csv", csv_text([
        row("vendors", vendor_id="V1", vendor_name="undated", updated_at=None),
        row("vendors", vendor_id="V2", vendor_name="undated later path", updated_at=None),
    ]))
    wh.ingest(exports)
    assert wh.rows("SELECT count(*) FROM raw.vendors") == [(4,)]
    assert survivors(wh, "vendors", "vendor_id, vendor_name") == [
        ("V1", "dated"), ("V2", "undated later path")]


@pytest.mark.parametrize("entity", ["sites", "carriers", "pay_rates", "fx_rates", "budgets"])
def test_entities_without_updated_at_use_path_then_row(wh, exports, entity):
    field, value = {
        "sites": ("site_name", lambda v: row("sites", site_name=v)),
        "carriers": ("carrier_name", lambda v: row("carriers", carrier_name=v)),
        "pay_rates": ("hourly_rate", lambda v: row("pay_rates", hourly_rate=v)),
        "fx_rates": ("usd_per_unit", lambda v: row("fx_rates", usd_per_unit=v)),
        "budgets": ("budget_amount", lambda v: row("budgets", budget_amount=v)),
    }[entity]
    write(exports, f"b/{entity}.csv", csv_text([value("1"), value("2")]))  # row 2 wins here
    write(exports, f"a/{entity}.csv", csv_text([value("3"), value("4")]))
    wh.ingest(exports)
    assert wh.rows(f"SELECT count(*) FROM raw.{entity}") == [(4,)]
    got = survivors(wh, entity, f"{field}, _file, _row")
    expected = "2" if entity in ("sites", "carriers") else Decimal(2)
    assert got == [(expected, f"b/{entity}.csv", 2)]


def test_a_newer_quarantined_version_leaves_the_older_valid_one(wh, exports):
    write(exports, "wms/shipments_1.csv", entity_csv("shipments", row(
        "shipments", shipped_qty="5", damaged_qty="1", updated_at="2026-01-04T10:00:00Z")))
    write(exports, "wms/shipments_2.csv", entity_csv("shipments", row(
        "shipments", shipped_qty="5", damaged_qty="6", updated_at="2026-01-10T10:00:00Z")))
    wh.ingest(exports)
    quarantine = wh.quarantine("shipments")
    assert [(q["file"], q["row_number"]) for q in quarantine] == [("wms/shipments_2.csv", 1)]
    assert survivors(wh, "shipments", "shipment_id, damaged_qty, _file") == [
        ("SH1", Decimal(1), "wms/shipments_1.csv")]


def test_budget_month_forms_are_one_key(wh, exports):
    write(exports, "fin/budgets_a.csv", csv_text([row("budgets", month="2026-01", budget_amount="1000")]))
    write(exports, "fin/budgets_b.csv", csv_text([
        row("budgets", month="2026-01-15", budget_amount="2000"),
        row("budgets", month="2026-02-28", budget_amount="50"),
    ]))
    wh.ingest(exports)
    assert wh.rows("SELECT month, budget_amount FROM raw.budgets ORDER BY _file, _row") == [
        (date(2026, 1, 1), Decimal(1000)), (date(2026, 1, 1), Decimal(2000)),
        (date(2026, 2, 1), Decimal(50))]
    assert survivors(wh, "budgets", "month, budget_amount") == [
        (date(2026, 1, 1), Decimal(2000)), (date(2026, 2, 1), Decimal(50))]


def test_keys_compare_after_normalisation(wh, exports):
    # currency is stored upper-case and values are trimmed: one fx key
    write(exports, "fin/fx_rates_a.csv", csv_text([row("fx_rates", currency="eur", usd_per_unit="1.1")]))
    write(exports, "fin/fx_rates_b.csv", csv_text([row("fx_rates", currency=" EUR ", usd_per_unit="1.2")]))
    wh.ingest(exports)
    assert survivors(wh, "fx_rates", "rate_date, currency, usd_per_unit") == [
        (date(2026, 1, 1), "EUR", Decimal("1.2"))]


def test_nothing_is_deleted_by_omission(wh, exports):
    write(exports, "tms/carriers_1.csv", csv_text([row("carriers", carrier_id="C1"),
                                                  row("carriers", carrier_id="C2")]))
    wh.ingest(exports, "run1")
    write(exports, "tms/carriers_2.csv", csv_text([row("carriers", carrier_id="C1", mode="ftl")]))
    wh.ingest(exports, "run2")
    assert survivors(wh, "carriers", "carrier_id, mode, _file") == [
        ("C1", "ftl", "tms/carriers_2.csv"), ("C2", "parcel", "tms/carriers_1.csv")]


# --- idempotency ------------------------------------------------------------------------


def small_folder(exports: Path) -> None:
    write(exports, "ref/sites.csv", entity_csv("sites"))
    write(exports, "erp/order_lines.csv", csv_text([
        row("order_lines", order_placed_at="2026-01-02 08:00"),
        row("order_lines", order_id="O2", status="pending"),  # quarantined
    ]))
    write(exports, "tms/carriers.json", json.dumps([{"carrier_id": "C1", "mode": "FTL"}]))
    write(exports, "wms/shipments_resend.csv", "shipment_id,order_id\nSH1,O1\n")  # rejected
    write(exports, "erp/customers.csv", "customer_id\nCU1\n")  # unrecognised
    write(exports, "erp/copy/order_lines_copy.csv", (exports / "erp/order_lines.csv").read_bytes())


def test_ingesting_the_same_folder_twice_changes_nothing(wh, exports):
    small_folder(exports)
    wh.ingest(exports, "run1")
    before = wh.snapshot()
    assert {p: m["status"] for p, m in wh.manifest().items()} == {
        "ref/sites.csv": "loaded",
        "erp/copy/order_lines_copy.csv": "loaded",  # same bytes, first by path
        "erp/order_lines.csv": "skipped_duplicate",
        "tms/carriers.json": "loaded",
        "wms/shipments_resend.csv": "rejected",
        "erp/customers.csv": "unrecognised",
    }
    summary = wh.ingest(exports, "run2")
    assert wh.snapshot() == before
    assert summary.as_dict()["rows_loaded"] == 0
    assert summary.as_dict()["files_loaded"] == 0


def test_a_renamed_byte_copy_only_adds_a_skipped_duplicate_row(wh, exports):
    small_folder(exports)
    wh.ingest(exports, "run1")
    before = wh.snapshot()
    write(exports, "zz/Order_Lines_renamed.csv", (exports / "erp/order_lines.csv").read_bytes())
    wh.ingest(exports, "run2")
    after = wh.snapshot()
    added = set(after["audit.load_manifest"]) - set(before["audit.load_manifest"])
    assert [(r[0], r[5], r[11]) for r in added] == [
        ("zz/Order_Lines_renamed.csv", "skipped_duplicate", "run2")]
    assert set(before["audit.load_manifest"]) <= set(after["audit.load_manifest"])
    assert {t: v for t, v in after.items() if t != "audit.load_manifest"} == {
        t: v for t, v in before.items() if t != "audit.load_manifest"}


def test_a_rejected_file_is_judged_again_but_keeps_one_manifest_row(wh, exports):
    write(exports, "tms/carriers.csv", "carrier_name\nSwift\n")  # no carrier_id
    wh.ingest(exports, "run1")
    assert any("REJECTED tms/carriers.csv" in line for line in wh.logs)
    before = wh.snapshot()
    summary = wh.ingest(exports, "run2")
    assert any("REJECTED tms/carriers.csv" in line for line in wh.logs)  # judged again
    assert [f.status for f in summary.files] == ["rejected"]
    assert wh.snapshot() == before
    rows = wh.dicts("SELECT path, status, run_id FROM audit.load_manifest")
    assert rows == [{"path": "tms/carriers.csv", "status": "rejected", "run_id": "run1"}]
    # fixed under the same name: other bytes, a new file that loads
    write(exports, "tms/carriers.csv", entity_csv("carriers"))
    wh.ingest(exports, "run3")
    assert wh.rows("SELECT path, status, run_id FROM audit.load_manifest ORDER BY run_id") == [
        ("tms/carriers.csv", "rejected", "run1"), ("tms/carriers.csv", "loaded", "run3")]
    assert wh.rows("SELECT carrier_id FROM raw.carriers") == [("C1",)]


def test_a_changed_file_under_the_same_name_is_a_new_file(wh, exports):
    write(exports, "erp/order_lines.csv", csv_text([ol("O1", "2026-01-02T10:00:00Z", "open")]))
    wh.ingest(exports, "run1")
    write(exports, "erp/order_lines.csv", csv_text([ol("O1", "2026-01-03T10:00:00Z", "shipped")]))
    wh.ingest(exports, "run2")
    assert wh.rows("SELECT path, status, run_id, rows_loaded FROM audit.load_manifest ORDER BY run_id") == [
        ("erp/order_lines.csv", "loaded", "run1", 1), ("erp/order_lines.csv", "loaded", "run2", 1)]
    assert wh.rows("SELECT status, _run_id FROM raw.order_lines ORDER BY _run_id") == [
        ("open", "run1"), ("shipped", "run2")]
    assert survivors(wh, "order_lines", "order_id, status") == [("O1", "shipped")]
    # and going back to the first bytes changes nothing: already loaded
    before = wh.snapshot()
    write(exports, "erp/order_lines.csv", csv_text([ol("O1", "2026-01-02T10:00:00Z", "open")]))
    wh.ingest(exports, "run3")
    assert wh.snapshot() == before


# --- the conformance example ------------------------------------------------------------


@pytest.fixture(scope="module")
def conformance(tmp_path_factory):
    root = tmp_path_factory.mktemp("conformance_ingest")
    exports = root / "exports"
    shutil.copytree(CONFORMANCE / "exports", exports)
    for path in [exports, *exports.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)  # the shared copy is read-only
    meta = json.loads((CONFORMANCE / "expected_meta.json").read_text())
    warehouse = Warehouse(root / "ops.duckdb")
    warehouse.ingest(exports, "run1")
    yield warehouse, exports, meta
    warehouse.close()


def test_conformance_quarantine_and_survivors_per_entity(conformance):
    wh, _, meta = conformance
    quarantined = dict(wh.rows("SELECT entity, count(*) FROM audit.quarantine GROUP BY 1"))
    assert quarantined == meta["quarantine"]
    surviving = {e: wh.rows(f"SELECT count(*) FROM ({surviving_sql(e)})")[0][0] for e in ALL_KEYS}
    assert surviving == meta["surviving_rows"]


def test_conformance_file_outcomes(conformance):
    wh, exports, meta = conformance
    manifest = wh.manifest()
    assert len(manifest) == meta["files"] == sum(1 for p in exports.rglob("*") if p.is_file())
    by_status: dict[str, list[str]] = {}
    for path, m in manifest.items():
        by_status.setdefault(m["status"], []).append(path)
    assert sorted(by_status.pop("rejected")) == sorted(meta["rejected"])
    assert sorted(by_status.pop("unrecognised")) == sorted(meta["unrecognised"])
    duplicates = by_status.pop("skipped_duplicate")
    assert sorted(duplicates) == sorted(d for d, _ in meta["duplicates"])
    for duplicate, original in meta["duplicates"]:
        assert original in manifest[duplicate]["reason"]
        assert manifest[original]["status"] == "loaded"
    assert set(by_status) == {"loaded"}
    # every data row of every file is accounted for: loaded, quarantined or in a rejected file
    read = sum(m["rows_read"] for m in manifest.values() if m["status"] == "loaded")
    loaded = sum(m["rows_loaded"] for m in manifest.values() if m["status"] == "loaded")
    assert loaded == sum(wh.rows(f"SELECT count(*) FROM raw.{e}")[0][0] for e in ALL_KEYS)
    assert read - loaded == sum(meta["quarantine"].values())
    in_rejected = sum(
        len(list(csv.reader(io.StringIO((exports / p).read_text())))) - 1 for p in meta["rejected"])
    assert read + in_rejected == meta["rows"]


def test_conformance_quarantined_rows_and_reasons(conformance):
    """expected_meta.json describes each quarantined row as ``column=value`` (or in
    words): the row is in that file and a reason names that column."""
    wh, _, meta = conformance
    for entity, expected in meta["quarantine_rows"].items():
        rows = wh.quarantine(entity)
        assert Counter(q["file"] for q in rows) == Counter(f for f, _ in expected), entity
        unmatched = list(rows)
        for file, note in expected:
            match = re.match(r"^(\w+)=", note)
            column = match.group(1) if match else None
            hit = next(
                (q for q in unmatched if q["file"] == file and (
                    column is None or any(
                        column in [c.strip() for c in r.split(":", 1)[0].split(",")]
                        for r in q["reason_list"]))),
                None)
            assert hit is not None, f"{entity}: no quarantined row of {file} for {note!r}: {rows}"
            unmatched.remove(hit)


def test_conformance_reingestion_changes_nothing(conformance):
    wh, exports, _ = conformance
    before = wh.snapshot()
    summary = wh.ingest(exports, "run2")
    assert wh.snapshot() == before
    assert summary.as_dict()["rows_loaded"] == 0


def test_a_corrected_file_under_the_same_name_wins_without_updated_at(tmp_path) -> None:
    """pay_rates has no updated_at: a re-delivered file under the same name ties with the
    old one on path and row; the later load is the surviving version (dbt staging)."""
    from datetime import UTC, datetime

    from flows.db import connect
    from flows.ingest.load import ingest_exports
    from tests.support.dbt import dbt_build

    exports = tmp_path / "exports"
    exports.mkdir()
    rates = exports / "pay_rates.csv"
    db = tmp_path / "w.duckdb"
    for run, (rate, day) in enumerate([("20", 1), ("21.5", 2)]):
        rates.write_text(f"employee_id,effective_from,hourly_rate,currency\nE1,2026-01-01,{rate},USD\n")
        con = connect(db)
        ingest_exports(con, exports, f"run{run}", datetime(2026, 1, day, tzinfo=UTC), log=lambda _m: None)
        con.close()
    dbt_build(db, date(2026, 1, 31), tmp_path / "artifacts")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT hourly_rate FROM staging.stg_hr__pay_rates").fetchall() == [
        (Decimal("21.5"),)]
    con.close()
