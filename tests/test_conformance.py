"""The worked example of ../shared/conformance, run through the real refresh flow.

Every published KPI mart and fact must equal the independent implementation's
`expected/` tables under the comparison rules of conformance/README.md, and the audit
tables must show exactly the expected quarantine, rejections and duplicates.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import CONFORMANCE
from tests.support.compare import KEYS, compare_warehouse

pytestmark = pytest.mark.slow


def test_every_published_table_matches_the_expected_tables(conformance_warehouse: Path) -> None:
    diffs = compare_warehouse(conformance_warehouse, CONFORMANCE / "expected")
    assert {d.table for d in diffs} == set(KEYS), "every expected table was compared"
    assert all(d.expected_rows > 0 for d in diffs)
    bad = [d.summary() for d in diffs if not d.ok]
    assert not bad, "\n".join(bad)


def test_audit_tables_match_the_expected_faults(conformance_warehouse: Path, conformance_meta: dict) -> None:
    con = duckdb.connect(str(conformance_warehouse), read_only=True)
    quarantine = dict(
        con.execute("SELECT entity, count(*) FROM audit.quarantine GROUP BY entity").fetchall()
    )
    assert quarantine == conformance_meta["quarantine"]
    by_status = {
        status: sorted(path for (path,) in con.execute(
            "SELECT path FROM audit.load_manifest WHERE status = ?", [status]).fetchall())
        for status in ("rejected", "unrecognised", "skipped_duplicate")
    }
    assert by_status["rejected"] == conformance_meta["rejected"]
    assert by_status["unrecognised"] == conformance_meta["unrecognised"]
    assert by_status["skipped_duplicate"] == [copy for copy, _ in conformance_meta["duplicates"]]
    loaded = con.execute("SELECT count(*) FROM audit.load_manifest WHERE status = 'loaded'").fetchone()[0]
    assert loaded == conformance_meta["files"] - 3
    # every quarantined row names its file, row and the column at fault
    for entity, rows in conformance_meta["quarantine_rows"].items():
        files = {f for f, _ in rows}
        got = con.execute(
            "SELECT DISTINCT file FROM audit.quarantine WHERE entity = ?", [entity]).fetchall()
        assert {f for (f,) in got} == files
    assert con.execute(
        "SELECT count(*) FROM audit.quarantine WHERE row_number < 1 OR reasons = '' OR raw IS NULL"
    ).fetchone()[0] == 0
    runs = con.execute("SELECT outcome, as_of_date, rows_published FROM audit.runs").fetchall()
    fct_rows = con.execute("SELECT count(*) FROM core.fct_deliveries").fetchone()[0]
    con.close()
    assert [(o, str(d)) for o, d, _ in runs] == [("published", conformance_meta["as_of"])]
    assert json.loads(runs[0][2])["core.fct_deliveries"] == fct_rows == 1735
