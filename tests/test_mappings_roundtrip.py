"""The promise of mappings.md: a mapped file gives exactly the same warehouse as the same
data in the contract's own shape.

Exports are generated in the contract's shape (flows.generate), rewritten by
tests/support/dialects.py into the two example dialects (a German SAP extract and
NetSuite saved-search workbooks) and read through mappings/examples/. Each folder is
ingested and built by dbt; every raw, staging, intermediate, fact and KPI table must hold
exactly the same rows (lineage columns aside: file paths differ by design, row numbers
do not). Then bad rows written in a dialect are quarantined showing the user's own
values, and the committed samples data/sample/sap|netsuite are what the writer writes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from flows.db import connect
from flows.generate import generate_exports
from flows.ingest.load import ingest_exports
from flows.ingest.mappings import load_mappings
from tests.support.dbt import dbt_build
from tests.support.dialects import NETSUITE, SAP, rewrite

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "mappings" / "examples"
START, DAYS = date(2026, 1, 5), 85  # across the DST switches of Chicago (03-08) and Berlin (03-29)
AS_OF = START + timedelta(days=DAYS - 1)

#: Columns that say where a row came from, not what it is.
LINEAGE = ("_file", "_run_id", "_loaded_at", "source_file", "dbt_invocation_id")


def _ingest(exports: Path, database: Path) -> dict:
    mappings, problems = load_mappings(EXAMPLES)
    assert not problems, [str(p) for p in problems]
    con = connect(database)
    summary = ingest_exports(con, exports, "rt", datetime(2026, 4, 1, tzinfo=UTC),
                             log=lambda _line: None, mappings=mappings)
    con.close()
    return summary.as_dict()


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("roundtrip")
    generate_exports(root / "contract", seed=11, sites=3, days=DAYS, start=START, scale=0.5)
    rewrite(root / "contract", root / "sap", SAP)
    rewrite(root / "contract", root / "netsuite", NETSUITE)
    out = {}
    for name in ("contract", "sap", "netsuite"):
        database = root / f"{name}.duckdb"
        counts = _ingest(root / name, database)
        assert counts["files_rejected"] == 0 and counts["rows_quarantined"] == 0, counts
        dbt_build(database, AS_OF, root / f"dbt_{name}")
        out[name] = database
    return out


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["sap", "netsuite"])
def test_every_table_is_the_same_as_from_the_contract_shape(warehouses, dialect) -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{warehouses['contract']}' AS contract (READ_ONLY)")
    con.execute(f"ATTACH '{warehouses[dialect]}' AS mapped (READ_ONLY)")
    tables = con.execute(  # tables and views (the intermediate models are views)
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = 'contract' "
        "AND table_schema IN ('raw', 'staging', 'intermediate', 'core', 'kpi') ORDER BY 1, 2"
    ).fetchall()
    schemas = {s for s, _ in tables}
    assert schemas == {"raw", "staging", "intermediate", "core", "kpi"}
    assert sum(1 for s, _ in tables if s == "kpi") >= 6
    compared, differing = 0, []
    for schema, table in tables:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'contract' "
            "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]
        ).fetchall() if c not in LINEAGE]
        select = ", ".join(f'"{c}"' for c in columns)
        rows = con.execute(f"SELECT count(*) FROM contract.{schema}.{table}").fetchone()[0]
        only = [con.execute(f"SELECT count(*) FROM (SELECT {select} FROM {a}.{schema}.{table} "
                            f"EXCEPT ALL SELECT {select} FROM {b}.{schema}.{table})").fetchone()[0]
                for a, b in (("contract", "mapped"), ("mapped", "contract"))]
        compared += rows
        if any(only):
            differing.append((schema, table, rows, *only))
    assert differing == []
    assert compared > 20_000  # the comparison did compare something
    # the dialect's files were loaded through its mapping, each with its entry's hash
    mapped = dict(con.execute(
        "SELECT mapping, count(*) FROM mapped.audit.load_manifest WHERE status = 'loaded' "
        "GROUP BY ALL").fetchall())
    expected = {"sap": "sap_s4", "netsuite": "netsuite"}[dialect]
    assert set(mapped) == {None, expected} and mapped[expected] >= 10


def _rewrite_line(path: Path, old: str, new: str, encoding: str) -> None:
    text = path.read_bytes().decode(encoding)
    assert text.count(old) == 1, old
    path.write_bytes(text.replace(old, new).encode(encoding))


def test_bad_rows_in_a_dialect_are_quarantined_with_the_users_own_values(tmp_path) -> None:
    """A row of each dialect broken the way its system would break it: the quarantine
    keeps the row as the system wrote it, the reasons name contract and source column."""
    generate_exports(tmp_path / "contract", seed=4, sites=1, days=10, start=START, scale=0.5)
    rewrite(tmp_path / "contract", tmp_path / "exports", SAP, only_dialect=True)
    rewrite(tmp_path / "contract", tmp_path / "exports", NETSUITE, only_dialect=True)
    # SAP: an unknown status code and a quantity in English notation
    deliveries = tmp_path / "exports" / "sap" / "LIEFERUNGEN_2026-01.csv"
    lines = deliveries.read_bytes().decode("latin-1").splitlines()
    header = lines[0].split(";")
    # a shipment not delivered yet (ZUGESTELLT_AM empty), so no rule but ours breaks
    number, line = next((n, x) for n, x in enumerate(lines[1:], start=1)
                        if x.split(";")[header.index("ZUGESTELLT_AM")] == "")
    broken = line.split(";")
    broken[header.index("MENGE")], broken[header.index("STATUS")] = "1.5", "77"
    _rewrite_line(deliveries, line, ";".join(broken), "latin-1")
    database = tmp_path / "w.duckdb"
    _ingest(tmp_path / "exports", database)
    con = duckdb.connect(str(database), read_only=True)
    rows = con.execute("SELECT file, row_number, reason_list, raw FROM audit.quarantine").fetchall()
    con.close()
    assert len(rows) == 1
    file, row, reasons, raw = rows[0]
    assert (file, row) == ("sap/LIEFERUNGEN_2026-01.csv", number)
    assert reasons == [
        "shipped_qty (from MENGE): '1.5' is not a number (decimal ',', thousands '.')",
        "status (from STATUS via map): '77' is not one of in_transit|delivered|cancelled"]
    assert json.loads(raw) == {k: (v or None) for k, v in zip(header, broken, strict=True)}


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_committed_dialect_samples_are_what_the_writer_writes(tmp_path) -> None:
    """data/sample/sap and data/sample/netsuite: January of data/sample in the two
    dialects (data/sample/README.md says how they were made)."""
    sample = ROOT / "data" / "sample"
    for dialect in (SAP, NETSUITE):
        rewrite(sample, tmp_path, dialect, only_dialect=True, months={"2026-01"})
        assert _digests(tmp_path / dialect.folder) == _digests(sample / dialect.folder)
