"""The generator against the real ingestion: what it says it injected is exactly what
``ingest_exports`` quarantines, rejects and skips; valid data is never quarantined and
means the same whatever notation wrote it; output is deterministic by seed."""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from flows.contract import ENTITIES
from flows.db import connect
from flows.generate import GenerationReport, generate_exports
from flows.ingest.load import ingest_exports

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACCEPTED_EXTENSIONS = {".csv", ".txt", ".csv.gz", ".txt.gz", ".json", ".json.gz", ".jsonl",
                       ".jsonl.gz", ".ndjson", ".ndjson.gz", ".parquet", ".xlsx"}


def _ingest(out: Path, db: Path) -> duckdb.DuckDBPyConnection:
    con = connect(db)
    ingest_exports(con, out, "run-1", NOW, log=lambda _msg: None)
    return con


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Path, GenerationReport, duckdb.DuckDBPyConnection]:
    out = tmp_path_factory.mktemp("faulty")
    report = generate_exports(out, seed=7, sites=2, days=20, faults=True)
    con = _ingest(out, tmp_path_factory.mktemp("db") / "faulty.duckdb")
    yield out, report, con
    con.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, GenerationReport, duckdb.DuckDBPyConnection]:
    """Six months without faults: every monthly format of the cycle is used."""
    out = tmp_path_factory.mktemp("clean")
    report = generate_exports(out, seed=11, sites=3, days=155, start=date(2026, 1, 5),
                              scale=0.4)
    con = _ingest(out, tmp_path_factory.mktemp("db") / "clean.duckdb")
    yield out, report, con
    con.close()


def _ext(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    return "." + ".".join(name.split(".")[-2:]) if name.endswith(".gz") else \
        "." + name.rsplit(".", 1)[-1]


# --- faults -------------------------------------------------------------------------------
def test_quarantine_counts_match_manifest(faulty):
    _, report, con = faulty
    actual = dict(con.execute("SELECT entity, count(*) FROM audit.quarantine GROUP BY 1")
                  .fetchall())
    expected = report.faults.expected_quarantine()
    assert {e.name: actual.get(e.name, 0) for e in ENTITIES} == \
        {e.name: expected.get(e.name, 0) for e in ENTITIES}
    assert all(expected.get(e.name) for e in ENTITIES), "every entity gets faults"


def test_quarantined_rows_match_manifest(faulty):
    _, report, con = faulty
    actual = {(e, f, r): reasons for e, f, r, reasons in con.execute(
        "SELECT entity, file, row_number, reason_list FROM audit.quarantine").fetchall()}
    expected = {(e, q.file, q.row_number): q for e, rows in report.faults.quarantine.items()
                for q in rows}
    assert set(actual) == set(expected)
    for key, q in expected.items():
        named = [r for r in actual[key] if q.column in r.split(":")[0]]
        assert named, f"{key} ({q.rule}) reasons {actual[key]} do not name {q.column}"


def test_every_contract_constraint_is_faulted(faulty):
    _, report, _ = faulty
    rules = {(e, q.rule, q.column) for e, rows in report.faults.quarantine.items()
             for q in rows}
    for entity in ENTITIES:
        for rule in entity.rules:
            assert (entity.name, rule.name, rule.columns[0]) in rules
        for col in entity.columns:
            if col.type != "text":
                assert (entity.name, "type", col.name) in rules
            if col.is_required:
                assert (entity.name, "key" if col.key else "required", col.name) in rules
            for flag, rule in ((col.allowed, "allowed"), (col.currency, "currency"),
                               (col.timezone, "timezone"), (col.minimum, "minimum"),
                               (col.maximum, "maximum"), (col.required_when, "required_when")):
                if flag:
                    assert (entity.name, rule, col.name) in rules


def test_file_statuses_match_manifest(faulty):
    _, report, con = faulty
    m = report.faults
    rows = con.execute("SELECT path, status, reason FROM audit.load_manifest").fetchall()
    status = {p: s for p, s, _ in rows}
    reason = {p: r or "" for p, _, r in rows}
    assert {p for p, s in status.items() if s == "rejected"} == {r.file for r in m.rejected}
    for r in m.rejected:
        for word in r.reason_keywords:
            assert word.lower() in reason[r.file].lower(), (r.file, reason[r.file])
    assert set(m.unsupported) <= {r.file for r in m.rejected}
    assert {p for p, s in status.items() if s == "unrecognised"} == set(m.unrecognised)
    assert {p for p, s in status.items() if s == "skipped_duplicate"} == \
        {copy for copy, _ in m.duplicates}
    for copy, original in m.duplicates:
        assert original in reason[copy]
        assert status[original] == "loaded"
    assert set(status) == set(report.files)


def test_boundary_row_loads_and_invalid_newer_version_leaves_older(faulty):
    _, report, con = faulty
    for note in report.faults.boundary_ok:
        key = note["key"]
        where = " AND ".join(f"{k} = ?" for k in key)
        found = con.execute(f"SELECT amount FROM raw.{note['entity']} WHERE {where}",
                            list(key.values())).fetchall()
        assert [float(a) for (a,) in found] == [123.41]
    assert report.faults.superseded_invalid
    for note in report.faults.superseded_invalid:
        key = note["key"]
        where = " AND ".join(f"{k} = ?" for k in key)
        versions = con.execute(
            f"SELECT damaged_qty <= shipped_qty, updated_at FROM raw.{note['entity']} "
            f"WHERE {where}", list(key.values())).fetchall()
        assert versions and all(ok for ok, _ in versions)
        newest = max(u for _, u in versions)
        assert newest < datetime.fromisoformat(str(note["updated_at"]).replace("Z", "+00:00"))


def test_every_entity_loads_and_row_counts_match(faulty):
    _, report, con = faulty
    read = dict(con.execute("SELECT entity, sum(rows_read) FROM audit.load_manifest "
                            "WHERE status = 'loaded' GROUP BY 1").fetchall())
    for entity in ENTITIES:
        assert con.execute(f"SELECT count(*) FROM raw.{entity.name}").fetchone()[0] > 0
        assert read.get(entity.name) == report.rows[entity.name], entity.name


# --- valid data ---------------------------------------------------------------------------
def test_clean_run_loads_everything(clean):
    _, report, con = clean
    assert con.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0] == 0
    statuses = Counter(s for (s,) in con.execute("SELECT status FROM audit.load_manifest")
                       .fetchall())
    assert statuses == {"loaded": len(report.files)}
    drift = {p for (p,) in con.execute("SELECT path FROM audit.load_manifest "
                                       "WHERE schema_drift IS NOT NULL").fetchall()}
    assert drift, "some files carry an extra column"


def test_every_accepted_format_and_delimiter_is_written(clean, faulty):
    assert {_ext(f) for f in clean[1].files} >= ACCEPTED_EXTENSIONS
    # the first month alone (the short faulty run) already covers every extension with
    # files that load (not only with the deliberately broken ones)
    broken = {r.file for r in faulty[1].faults.rejected}
    assert {_ext(f) for f in faulty[1].files if f not in broken} >= ACCEPTED_EXTENSIONS
    delimiters = set()
    root = faulty[0]
    for f in faulty[1].files:
        if _ext(f).startswith((".csv", ".txt")):
            raw = (root / f).read_bytes()
            if f.endswith(".gz"):
                try:
                    raw = gzip.decompress(raw)
                except EOFError:
                    continue  # the deliberately broken one
            head = raw.split(b"\n", 1)[0].decode("utf-8-sig")
            delimiters.add(max(",;|\t", key=head.count))
    assert delimiters == {",", ";", "|", "\t"}


@pytest.mark.parametrize(("entity", "column", "lo", "hi"), [
    ("order_lines", "order_placed_at", 6, 22),
    ("shipments", "delivered_at", 8, 19),
    ("goods_receipts", "received_at", 7, 16),
])
def test_times_mean_the_same_in_every_notation(clean, entity, column, lo, hi):
    """Generated in these local hours; written naive, with Z, ±HH:MM, ±HHMM, natively
    in Parquet/XLSX: read back in the site's zone they must still be in them."""
    _, _, con = clean
    bad = con.execute(f"""
        SELECT count(*) FROM raw.{entity} x JOIN raw.sites s USING (site_id)
        WHERE x.{column} IS NOT NULL
          AND NOT hour(timezone(s.timezone, x.{column})) BETWEEN {lo} AND {hi - 1}
    """).fetchone()[0]
    assert bad == 0


def test_date_only_timestamps_mean_local_midnight(clean):
    """PO ordered_at is a business hour or a bare date (= site-local midnight)."""
    _, _, con = clean
    hours = dict(con.execute("""
        SELECT hour(timezone(s.timezone, p.ordered_at)) BETWEEN 8 AND 16, count(*)
        FROM raw.purchase_order_lines p JOIN raw.sites s USING (site_id)
        WHERE minute(timezone(s.timezone, p.ordered_at)) <> 0
           OR hour(timezone(s.timezone, p.ordered_at)) <> 0
        GROUP BY 1""").fetchall())
    assert hours.get(False, 0) == 0 and hours[True] > 0


def test_amounts_are_exact_and_sites_zones_differ(clean):
    _, _, con = clean
    assert con.execute("SELECT count(*) FROM raw.invoice_lines "
                       "WHERE amount <> quantity * unit_price").fetchone()[0] == 0
    assert con.execute("SELECT count(DISTINCT timezone) FROM raw.sites").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM raw.invoice_lines WHERE quantity < 0"
                       ).fetchone()[0] > 0, "credit notes"
    assert con.execute("SELECT count(*) FROM raw.invoice_lines WHERE po_id IS NULL"
                       ).fetchone()[0] > 0, "invoices without PO"


def test_record_versions_span_files(clean):
    _, _, con = clean
    for entity, key in (("order_lines", "order_id, line_number"), ("shipments", "shipment_id"),
                        ("purchase_order_lines", "po_id, po_line")):
        spanning = con.execute(f"""
            SELECT count(*) FROM (SELECT {key} FROM raw.{entity} GROUP BY {key}
                                  HAVING count(DISTINCT _file) > 1)""").fetchone()[0]
        assert spanning > 0, entity


# --- determinism --------------------------------------------------------------------------
def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, faulty):
    root, report, _ = faulty
    again = generate_exports(tmp_path / "again", seed=7, sites=2, days=20, faults=True)
    assert again.to_json() == report.to_json()
    first, second = _digests(root), _digests(tmp_path / "again")
    assert first == second
    generate_exports(tmp_path / "other", seed=8, sites=2, days=20, faults=True)
    other = _digests(tmp_path / "other")
    changed = [f for f in first if f in other and other[f] != first[f]]
    assert len(changed) >= len(first) * 0.8


def _month_of(rel: str) -> str | None:
    found = re.search(r"_(\d{4}-\d{2})(?:_|\.)", rel.rsplit("/", 1)[-1])
    return found.group(1) if found else None


@pytest.mark.parametrize(("days", "faults"), [(55, False), (80, True)],
                         ids=["ends-on-a-month-end", "ends-mid-month-with-faults"])
def test_a_week_later_the_complete_months_are_byte_identical(tmp_path, days, faults):
    """Same seed, start and sites, 7 days more: the files of every month complete in both
    runs (by site-local dates: 55 days from 5 Jan end on 28 Feb) and the one-piece
    reference files are byte-identical. Only the later months' files, and the yearly fx
    file that gains the new days' rates, may differ. Five sites: zones west and east of
    UTC, so month ends fall at different instants."""
    start = date(2026, 1, 5)
    short = generate_exports(tmp_path / "short", seed=5, sites=5, days=days, start=start,
                             faults=faults, scale=0.5)
    generate_exports(tmp_path / "long", seed=5, sites=5, days=days + 7, start=start,
                     faults=faults, scale=0.5)
    end = start + timedelta(days=days)  # the first day after the shorter run
    complete = {f"2026-{m:02d}" for m in range(1, 12) if date(2026, m + 1, 1) <= end}
    assert complete == {"2026-01", "2026-02"}
    before, after = _digests(tmp_path / "short"), _digests(tmp_path / "long")
    assert set(before) <= set(after)
    changed = {f for f in before if before[f] != after[f]}
    allowed_to_change = {f for f in before if _month_of(f) is not None
                         and _month_of(f) not in complete} | {"fin/fx_rates_2026.csv.gz"}
    assert changed <= allowed_to_change, sorted(changed - allowed_to_change)
    assert "fin/fx_rates_2026.csv.gz" in changed  # the comparison does see changes
    # what is compared: a file of each complete month for every monthly entity
    monthly = {f.rsplit("/", 1)[-1].split("_20")[0] for f in short.files
               if _month_of(f) in complete}
    assert monthly >= {e.name for e in ENTITIES} - {"sites", "carriers", "fx_rates", "budgets"}


def test_refuses_a_folder_with_files(tmp_path):
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(FileExistsError):
        generate_exports(tmp_path, days=5, sites=1)
