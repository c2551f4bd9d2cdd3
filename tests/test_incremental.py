"""An incremental build equals a --full-refresh build of the same inputs.

The worked example is delivered month by month (January's files, then February's, then
March's, with corrections and late records: a later version of a shipment, invoices for
old POs, receipts for old PO lines, back-dated pay rates, fx corrections) and the as-of
date moves forward and backward. After every step, each table of `core`, `kpi` and
`staging` built incrementally must be identical, row for row and bit for bit, to a
full rebuild from the same raw data.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, date, datetime
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
    (2, date(2026, 2, 28)),
    (2, date(2026, 2, 10)),  # as-of moves back: deliveries after it are undone
    (3, date(2026, 3, 20)),  # March files: corrections, back-dated rates, late receipts
    (3, date(2026, 3, 6)),
]


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
        _ingest(incremental_db, exports, f"step{step}")
        dbt_build(incremental_db, as_of, tmp_path / "artifacts-inc")

        full_db = tmp_path / f"full{step}.duckdb"
        _ingest(full_db, exports, f"step{step}")
        dbt_build(full_db, as_of, tmp_path / "artifacts-full", full_refresh=True)

        assert _differences(incremental_db, full_db) == {}, f"step {step}: as of {as_of}"

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
    assert con.execute(
        "SELECT count(*) FROM core.fct_labor WHERE dbt_invocation_id = ?", [last]
    ).fetchone()[0] == 0  # labor has no as-of dependent column
    con.close()
