"""A fault-laden export folder through the whole refresh, as the acceptance check does:
it publishes (scattered bad rows are quarantined and reported, not a reason to withhold
every KPI), the published audit tables show exactly the injected faults, and refreshing
the same folder again changes no table."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.refresh import EXIT_PUBLISHED, run_refresh

pytestmark = pytest.mark.slow

TABLES = ["audit.load_manifest", "audit.quarantine", "core.fct_deliveries", "core.fct_order_lines",
          "core.fct_spend", "core.fct_labor", "core.fct_po_lines", "kpi.kpi_daily", "kpi.kpi_weekly"]


def _fingerprints(warehouse: Path) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            t: hashlib.sha256(repr(con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall())
                              .encode()).hexdigest()
            for t in TABLES
        }
    finally:
        con.close()


def test_fault_laden_folder_publishes_its_exact_faults_once(
    prefect_api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.generate import generate_exports

    monkeypatch.setenv("OPSKPI_DBT_TASK_PER_NODE", "false")
    exports, warehouse = tmp_path / "exports", tmp_path / "wh" / "ops.duckdb"
    faults = generate_exports(exports, seed=9, sites=3, days=30, faults=True).faults
    code, message, record = run_refresh(exports, warehouse, as_of=date(2026, 2, 3))
    assert code == EXIT_PUBLISHED, message
    assert "load_signals.quarantined rows" in record["checks_warned"]

    con = duckdb.connect(str(warehouse), read_only=True)
    quarantined = sorted(con.execute("SELECT file, row_number FROM audit.quarantine").fetchall())
    by_status = dict(con.execute(
        "SELECT status, list(path ORDER BY path) FROM audit.load_manifest GROUP BY status").fetchall())
    con.close()
    report = faults.to_dict()
    expected_rows = sorted(
        (r["file"], r["row_number"]) for entity in report["quarantine"].values() for r in entity["rows"]
    )
    assert quarantined == expected_rows and len(quarantined) > 100
    assert by_status["rejected"] == sorted(r["file"] for r in report["rejected"])
    assert by_status["unrecognised"] == sorted(report["unrecognised"])
    assert by_status["skipped_duplicate"] == sorted(copy for copy, _ in report["duplicates"])

    before = _fingerprints(warehouse)
    code, message, _ = run_refresh(exports, warehouse, as_of=date(2026, 2, 3))
    assert code == EXIT_PUBLISHED, message
    assert _fingerprints(warehouse) == before
