"""An incremental build equals a --full-refresh build of the same inputs.

The worked example is delivered month by month (January's files, then February's, then
March's, with corrections and late records: a later version of a shipment, invoices for
old POs, receipts for old PO lines, back-dated pay rates, fx corrections) and the as-of
date moves forward and backward. One step adds records for old dates without moving the
as-of date (LATE below): a snapshot arriving late for an old date, a restated snapshot
row, back-dated fx rates (a first rate for a currency without any), a quality return
for a perfect order line, the order line of a return that named an unknown line. After
every step, each table of `core`, `kpi` and `staging` built incrementally must be
identical, row for row and bit for bit, to a full rebuild from the same raw data.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from flows.db import connect
from flows.ingest.load import ingest_exports
from tests.conftest import CONFORMANCE
from tests.support.dbt import dbt_build

pytestmark = pytest.mark.slow

#: (latest month of export files delivered, as-of date of the build)
STEPS = [
    (1, date(2026, 1, 31)),
    (2, date(2026, 2, 28)),  # service levels whose due instant passed since 01-31 are judged
    (2, date(2026, 2, 10)),  # as-of moves back: deliveries after it are undone
    (2, date(2026, 2, 10)),  # the same as-of date with LATE records for old dates
    (3, date(2026, 3, 20)),  # March files: corrections, back-dated rates, late receipts
    (3, date(2026, 3, 6)),
]
LATE_STEP = 3

#: Late records for old dates, written at LATE_STEP (as of 02-10); what each must change
#: in the facts is noted beside it (values of the worked example).
LATE = {
    "wms/late/inventory_snapshots_late.csv": """\
site_id,sku,snapshot_date,on_hand_qty,unit_cost,currency
S02,SKU-00508,2026-01-20,5,99.5,EUR
S01,SKU-00233,2026-01-20,7,50,USD
""",
    # S02 counts weekly (Thursdays 01-15, 01-22): a snapshot of Tuesday 01-20 arrives late
    #   and is in force on 01-20 and 01-21 (listing one SKU only: the others had nothing);
    #   SH000341 (S02, SKU-00508, shipped 01-20) now costs 99.5 EUR a unit.
    # S01's SKU-00233 row of 01-20 is restated (greater path wins): S01's value on 01-20
    #   and the cost of SH000329 (shipped 01-20) change.
    "fin/late/fx_rates_late.csv": """\
rate_date,currency,usd_per_unit
2026-01-22,CNY,0.14
2026-01-20,EUR,1.5
2026-01-21,EUR,1.5
""",
    # CNY had no rate: S03's 01-22 snapshot (all CNY) gets a value, 14 shipments of 01-22
    #   costed in CNY get a cost of goods; the EUR rates of 01-20 and 01-21 are restated
    #   (the late S02 snapshot, RMA000003 refunded in EUR on 01-21, ...).
    "erp/late/returns_late.csv": """\
return_id,order_id,line_number,site_id,returned_qty,reason,requested_at,received_at,refunded_at,refund_amount,currency,status,updated_at
RMA-LATE-1,SO000115,1,S01,1,defective,2026-02-05 10:00,,,,,requested,2026-02-05 10:00
RMA-LATE-2,SO000120,1,S01,1,wrong_item,2026-02-20 10:00,,,,,requested,2026-02-20 10:00
""",
    # SO000115/1 (perfect, due 01-20) gets a quality return requested before the as-of
    #   date: no longer perfect. SO000120/1's is requested 02-20, after it: the line stays
    #   perfect until the as-of date passes 02-20 (next step).
    "erp/late/order_lines_late.csv": """\
order_id,line_number,site_id,customer_id,sku,ordered_qty,order_placed_at,requested_delivery_date,priority,status,updated_at
SO-GHOST-1,1,S01,CU0001,SKU-00233,3,2026-01-10 09:00,2026-01-15,normal,closed,2026-01-10 09:00
""",
    # RMA000115 named the unknown line SO-GHOST-1/1: it now has a sku.
}


def _deliver(exports: Path, latest_month: int) -> None:
    """Copy the reference files and every monthly file up to ``latest_month``."""
    source = CONFORMANCE / "exports"
    for path in sorted(source.rglob("*")):
        month = re.search(r"2026-(\d\d)", path.name)
        if path.is_file() and (month is None or int(month.group(1)) <= latest_month):
            target = exports / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copy2(path, target)


def _assert_late_records_arrived(database: Path, step: int) -> None:
    """The LATE records loaded and changed what they should (the scenario is real)."""
    con = duckdb.connect(str(database), read_only=True)
    one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    try:
        if step == LATE_STEP:
            # 14 units × 99.5 EUR × 1.5 (the restated rate of 01-20); 36 × 50 USD
            assert one("SELECT cogs_usd FROM core.fct_deliveries WHERE shipment_id = 'SH000341'")[0] == 2089.5
            assert one("SELECT cogs_usd FROM core.fct_deliveries WHERE shipment_id = 'SH000329'")[0] == 1800
            # the late S02 snapshot is in force on 01-20 and 01-21: 5 × 99.5 × 1.5 = 746.25
            assert one("SELECT count(*), min(skus_on_hand), max(inventory_value_usd) FROM "
                       "core.fct_inventory_daily WHERE site_id = 'S02' AND snapshot_date = '2026-01-20'"
                       ) == (2, 1, 746.25)
            assert one("SELECT inventory_value_usd FROM core.fct_inventory_daily "
                       "WHERE site_id = 'S03' AND date = '2026-01-22'")[0] is not None  # CNY rate
            assert one("SELECT refund_amount_usd FROM core.fct_returns WHERE return_id = 'RMA000003'"
                       )[0] == Decimal("27.9")  # 18.6 EUR × 1.5
            assert one("SELECT sku FROM core.fct_returns WHERE return_id = 'RMA000115'")[0] == "SKU-00233"
        perfect = dict(con.execute(
            "SELECT order_id, is_perfect_order FROM core.fct_order_lines "
            "WHERE order_id IN ('SO000115', 'SO000120')").fetchall())
        # SO000120's return (requested 02-20) counts once the as-of date passes it
        assert perfect == {"SO000115": False, "SO000120": step == LATE_STEP}, (step, perfect)
    finally:
        con.close()


def _ingest(database: Path, exports: Path, run_id: str) -> None:
    con = connect(database)
    try:
        ingest_exports(con, exports, run_id, datetime.now(UTC), log=lambda _msg: None)
    finally:
        con.close()


def _differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Rows of each published-layer table found in one database and not the other."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = 'a' AND table_schema IN ('core', 'kpi', 'staging')"
    ).fetchall()
    assert len(tables) >= 30, tables
    out = {}
    for schema, table in tables:
        cols = ", ".join(
            f'"{c}"'
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'a' "
                "AND table_schema = ? AND table_name = ? "
                "AND column_name NOT IN ('load_run_id', 'dbt_invocation_id')",
                [schema, table],
            ).fetchall()
        )
        name = f"{schema}.{table}"
        only_a = con.execute(
            f"SELECT count(*) FROM (SELECT {cols} FROM a.{name} EXCEPT ALL SELECT {cols} FROM b.{name})"
        ).fetchone()[0]
        only_b = con.execute(
            f"SELECT count(*) FROM (SELECT {cols} FROM b.{name} EXCEPT ALL SELECT {cols} FROM a.{name})"
        ).fetchone()[0]
        if only_a or only_b:
            out[name] = (only_a, only_b)
    con.close()
    return out


def test_incremental_build_equals_full_refresh(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    incremental_db = tmp_path / "incremental.duckdb"
    for step, (latest_month, as_of) in enumerate(STEPS):
        _deliver(exports, latest_month)
        if step == LATE_STEP:
            for name, text in LATE.items():
                (exports / name).parent.mkdir(parents=True, exist_ok=True)
                (exports / name).write_text(text, encoding="utf-8")
        _ingest(incremental_db, exports, f"step{step}")
        dbt_build(incremental_db, as_of, tmp_path / "artifacts-inc")

        full_db = tmp_path / f"full{step}.duckdb"
        _ingest(full_db, exports, f"step{step}")
        dbt_build(full_db, as_of, tmp_path / "artifacts-full", full_refresh=True)

        assert _differences(incremental_db, full_db) == {}, f"step {step}: as of {as_of}"
        if step >= LATE_STEP:
            _assert_late_records_arrived(full_db, step)

    # The incremental path really ran: the last step (no new files, as-of moved back two
    # weeks) rebuilt only the rows whose as-of flags can change, not the whole facts.
    con = duckdb.connect(str(incremental_db), read_only=True)
    last = con.execute(
        "SELECT invocation_id FROM meta.build_log ORDER BY built_at DESC LIMIT 1"
    ).fetchone()[0]
    for fact in ("fct_deliveries", "fct_order_lines", "fct_spend"):
        rebuilt, total = con.execute(
            f"SELECT count(*) FILTER (dbt_invocation_id = ?), count(*) FROM core.{fact}", [last]
        ).fetchone()
        assert 0 < rebuilt < total / 2, (fact, rebuilt, total)
    rebuilt, total = con.execute(
        "SELECT count(*) FILTER (dbt_invocation_id = ?), count(*) FROM core.fct_service_tickets", [last]
    ).fetchone()
    assert 0 < rebuilt < total / 2, ("fct_service_tickets", rebuilt, total)
    for fact in ("fct_labor", "fct_returns"):  # nothing in them depends on the as-of date
        assert con.execute(
            f"SELECT count(*) FROM core.{fact} WHERE dbt_invocation_id = ?", [last]
        ).fetchone()[0] == 0, fact
    # moving the as-of date back computes no inventory day: the days after it are dropped
    assert con.execute(
        "SELECT count(*) FILTER (dbt_invocation_id = ?), max(date) FROM core.fct_inventory_daily", [last]
    ).fetchone() == (0, STEPS[-1][1])
    con.close()
