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


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, GenerationReport, duckdb.DuckDBPyConnection]:
    """The committed sample's parameters (3 sites, 90 days from 5 Jan 2026, seed 42)."""
    out = tmp_path_factory.mktemp("sample")
    report = generate_exports(out, seed=42, sites=3, days=90, start=date(2026, 1, 5))
    con = _ingest(out, tmp_path_factory.mktemp("db") / "sample.duckdb")
    yield out, report, con
    con.close()


def _latest(entity: str, key: str) -> str:
    """The surviving version of each record (exports.md's versioning rule)."""
    return (f"(SELECT * FROM raw.{entity} QUALIFY row_number() OVER (PARTITION BY {key} "
            "ORDER BY updated_at DESC NULLS LAST, _file DESC, _row DESC) = 1)")


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


def _faults(required: str, key: str = "", **kinds: str) -> set[tuple[str, str]]:
    """(rule, column) faults: key and required columns, then kind → space-separated columns."""
    out = {("key", c) for c in key.split()} | {("required", c) for c in required.split()}
    return out | {(kind, c) for kind, cols in kinds.items() for c in cols.split()}


#: Every row rule of the five newer entities, written out from exports.md (not read from
#: flows.contract, so a rule the contract misses fails here too).
NEWER_ENTITY_FAULTS = {
    "inventory_snapshots": _faults(
        "on_hand_qty unit_cost currency", key="site_id sku snapshot_date",
        type="snapshot_date on_hand_qty unit_cost", minimum="on_hand_qty unit_cost",
        currency="currency"),
    "cycle_counts": _faults(
        "site_id sku counted_at system_qty counted_qty unit_cost currency", key="count_id",
        type="counted_at system_qty counted_qty unit_cost updated_at",
        minimum="system_qty counted_qty unit_cost", currency="currency"),
    "returns": _faults(
        "order_id line_number site_id returned_qty reason requested_at status updated_at",
        key="return_id",
        type="line_number returned_qty requested_at received_at refunded_at refund_amount "
             "updated_at",
        minimum="returned_qty refund_amount", allowed="reason status", currency="currency",
        received_after_requested="received_at", refunded_after_requested="refunded_at"),
    "service_tickets": _faults(
        "site_id priority opened_at status updated_at", key="ticket_id",
        type="opened_at first_response_at resolved_at updated_at", allowed="priority status",
        first_response_after_opened="first_response_at", resolved_after_opened="resolved_at",
        resolved_status_needs_date="status"),
    "safety_incidents": _faults(
        "site_id occurred_at severity updated_at", key="incident_id",
        type="occurred_at days_lost updated_at", minimum="days_lost", allowed="severity",
        days_lost_only_when_lost_time="days_lost"),
}


def test_every_row_rule_of_the_newer_entities_is_faulted_once(faulty):
    _, report, con = faulty
    for entity, expected in NEWER_ENTITY_FAULTS.items():
        rows = report.faults.quarantine[entity]
        assert {(q.rule, q.column) for q in rows} == expected, entity
        assert len(rows) == len(expected), entity  # one row per rule
        # and each fault row breaks that rule only
        reasons = con.execute("SELECT len(reason_list) FROM audit.quarantine WHERE entity = ?",
                              [entity]).fetchall()
        assert [n for (n,) in reasons] == [1] * len(expected), entity


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


# --- the five newer domains -------------------------------------------------------------
def test_inventory_snapshots_daily_weekly_sell_outs_and_order_skus(sample):
    _, _, con = sample
    by_site = con.execute("""
        SELECT site_id, count(DISTINCT snapshot_date), list(DISTINCT dayofweek(snapshot_date)),
               count(*) FILTER (WHERE on_hand_qty = 0), list(DISTINCT currency)
        FROM raw.inventory_snapshots GROUP BY 1 ORDER BY 1""").fetchall()
    # S01 and S03 daily, missing a night now and then (of 90 days); S02 (every third site)
    # on Sundays only (dayofweek 0)
    assert [s for s, *_ in by_site] == ["S01", "S02", "S03"]
    assert 80 <= by_site[0][1] < 90 and 80 <= by_site[2][1] < 90 and by_site[1][1] == 12
    assert by_site[1][2] == [0]
    assert sum(zeros for *_, zeros, _ in by_site) > 0, "zero balances are listed"
    # local currencies with fx rates, and at every other site a consignment SKU in MXN,
    # which has none
    assert [sorted(c) for *_, c in by_site] == [["MXN", "USD"], ["EUR"], ["AUD", "MXN"]]
    assert con.execute("SELECT count(*) FROM raw.inventory_snapshots i WHERE currency "
                       "NOT IN ('USD', 'MXN') AND NOT EXISTS (SELECT 1 FROM raw.fx_rates f "
                       "WHERE f.currency = i.currency AND f.rate_date <= i.snapshot_date)"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.fx_rates WHERE currency = 'MXN'"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.inventory_snapshots "
                       "WHERE on_hand_qty <> round(on_hand_qty)").fetchone()[0] > 0, "kg"
    # a few balances re-stated in a corrections file whose path sorts after the month's
    restated = con.execute("""
        SELECT a._file, b._file, a.on_hand_qty <> b.on_hand_qty
        FROM raw.inventory_snapshots a JOIN raw.inventory_snapshots b
          USING (site_id, sku, snapshot_date)
        WHERE a._file <> b._file AND b._file LIKE '%_corrections.csv'""").fetchall()
    assert restated and all(a < b and changed for a, b, changed in restated)
    # a SKU on one snapshot and missing from the site's next one: sold out, dropped
    dropped = con.execute("""
        WITH dates AS (SELECT DISTINCT site_id, snapshot_date FROM raw.inventory_snapshots),
        nxt AS (SELECT site_id, snapshot_date,
                       lead(snapshot_date) OVER (PARTITION BY site_id ORDER BY snapshot_date) AS d
                FROM dates)
        SELECT count(*) FROM raw.inventory_snapshots i JOIN nxt USING (site_id, snapshot_date)
        WHERE nxt.d IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM raw.inventory_snapshots j
            WHERE j.site_id = i.site_id AND j.sku = i.sku AND j.snapshot_date = nxt.d)""")
    assert dropped.fetchone()[0] > 0
    # every SKU ordered is stocked at the fulfilling site, and almost every shipment from
    # the site's first snapshot on finds a cost of goods there (not those of a SKU sold out
    # since before its site's first snapshot)
    assert con.execute("SELECT count(*) FROM raw.order_lines o WHERE NOT EXISTS (SELECT 1 FROM "
                       "raw.inventory_snapshots i WHERE i.site_id = o.site_id AND i.sku = o.sku)"
                       ).fetchone()[0] == 0
    shipments, costed = con.execute("""
        WITH s AS (SELECT DISTINCT s.shipment_id, s.site_id, o.sku, s.shipped_at::DATE AS d
                   FROM raw.shipments s JOIN raw.order_lines o USING (order_id, line_number)),
        f AS (SELECT site_id, min(snapshot_date) AS first FROM raw.inventory_snapshots GROUP BY 1)
        SELECT count(*), count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM raw.inventory_snapshots i
            WHERE i.site_id = s.site_id AND i.sku = s.sku AND i.snapshot_date <= s.d))
        FROM s JOIN f USING (site_id) WHERE s.d >= f.first""").fetchone()
    assert shipments > 1000 and shipments * 0.99 <= costed < shipments


def test_cycle_counts_mostly_exact_with_shrinkage_and_recounts(sample):
    _, _, con = sample
    counts, exact, short, over, unstamped = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE counted_qty = system_qty),
               count(*) FILTER (WHERE counted_qty < system_qty),
               count(*) FILTER (WHERE counted_qty > system_qty),
               count(*) FILTER (WHERE updated_at IS NULL)
        FROM {_latest("cycle_counts", "count_id")}""").fetchone()
    assert 0.7 < exact / counts < 0.95 and short > over > 0 and unstamped > 0
    # recounts: a second version of the count, counted and stamped later (an unstamped
    # first version sorts oldest anyway)
    recounts = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE a.counted_at < b.counted_at
                                          AND coalesce(a.updated_at < b.updated_at, true))
        FROM raw.cycle_counts a JOIN raw.cycle_counts b USING (count_id)
        WHERE (a._file, a._row) < (b._file, b._row)""").fetchone()
    assert recounts[0] > 0 and recounts[0] == recounts[1]


def test_returns_cite_order_lines_in_every_reason_and_status(sample):
    _, _, con = sample
    returns = _latest("returns", "return_id")
    assert {r for (r,) in con.execute(f"SELECT DISTINCT reason FROM {returns}").fetchall()} == \
        {"damaged", "defective", "wrong_item", "late", "not_needed", "other"}
    assert {r for (r,) in con.execute(f"SELECT DISTINCT status FROM {returns}").fetchall()} == \
        {"requested", "received", "refunded", "rejected", "cancelled"}
    total, known, other_site = con.execute(f"""
        SELECT count(*), count(o.order_id), count(*) FILTER (WHERE o.site_id <> r.site_id)
        FROM {returns} r LEFT JOIN (SELECT DISTINCT order_id, line_number, site_id
                                    FROM raw.order_lines) o USING (order_id, line_number)
        """).fetchone()
    assert other_site == 0 and 0 < total - known <= total * 0.05, (total, known)
    refunds = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE refund_amount > 0 AND currency IS NOT NULL),
               count(*) FILTER (WHERE received_at IS NULL)
        FROM {returns} WHERE status = 'refunded'""").fetchone()
    assert refunds[0] == refunds[1] and refunds[2] > 0, refunds  # some refunded unreturned
    assert con.execute(f"SELECT count(*) FROM {returns} WHERE status = 'refunded' AND "
                       "refunded_at IS NULL").fetchone()[0] == 0
    # registered ahead: requested after the last generated day (4 April, any site's zone)
    assert con.execute(f"SELECT count(*) FROM {returns} WHERE requested_at >= "
                       "TIMESTAMPTZ '2026-04-05 12:00:00+00'").fetchone()[0] > 0


SLA = "(VALUES ('urgent', 1, 8), ('high', 4, 24), ('normal', 8, 72), ('low', 24, 168)) " \
      "AS sla(priority, response_h, resolution_h)"


def test_service_tickets_meet_miss_and_hit_the_deadlines_exactly(sample):
    _, _, con = sample
    tickets = _latest("service_tickets", "ticket_id")
    rows = con.execute(f"""
        SELECT priority,
          count(*) FILTER (WHERE epoch(first_response_at) - epoch(opened_at) = response_h * 3600),
          count(*) FILTER (WHERE epoch(first_response_at) - epoch(opened_at) > response_h * 3600),
          count(*) FILTER (WHERE first_response_at IS NULL),
          count(*) FILTER (WHERE epoch(resolved_at) - epoch(opened_at) = resolution_h * 3600),
          count(*) FILTER (WHERE epoch(resolved_at) - epoch(opened_at) > resolution_h * 3600),
          list(DISTINCT status ORDER BY status)
        FROM {tickets} JOIN {SLA} USING (priority) GROUP BY 1 ORDER BY 1""").fetchall()
    assert [r[0] for r in rows] == ["high", "low", "normal", "urgent"]
    for priority, *counts, statuses in rows:
        assert all(counts), (priority, counts)  # exact, late and unanswered; exact and late
        assert {"resolved", "closed", "cancelled"} <= set(statuses), priority
    assert {s for (s,) in con.execute(f"SELECT DISTINCT status FROM {tickets}").fetchall()} == \
        {"open", "pending", "resolved", "closed", "cancelled"}
    # resolved exactly at the deadline across a clock change: elapsed hours are the service
    # level's, wall-clock hours one more or less
    across = con.execute(f"""
        SELECT count(*) FROM {tickets} t JOIN {SLA} USING (priority) JOIN raw.sites s USING (site_id)
        WHERE epoch(resolved_at) - epoch(opened_at) = resolution_h * 3600
          AND abs(epoch(timezone(s.timezone, resolved_at)) - epoch(timezone(s.timezone, opened_at))
                  - resolution_h * 3600) = 3600""").fetchone()[0]
    assert across > 0


def test_service_ticket_files_hold_wall_clock_times_without_offset(sample):
    root, report, _ = sample
    naive = re.compile(r'(?:^|[,;|\t"])(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)'
                       r'(?=["]?(?:[,;|\t]|$))', re.M)
    csv = next(f for f in report.files if f.startswith("crm/service_tickets_") and
               f.endswith(".csv"))
    assert naive.search((root / csv).read_text(encoding="utf-8-sig"))


def test_safety_incidents_every_severity_days_lost_only_for_lost_time(sample):
    _, _, con = sample
    rows = con.execute(f"""
        SELECT severity, count(*), min(days_lost), max(days_lost), count(employee_id)
        FROM {_latest("safety_incidents", "incident_id")} GROUP BY 1 ORDER BY 1""").fetchall()
    assert [r[0] for r in rows] == ["first_aid", "lost_time", "near_miss", "recordable"]
    for severity, n, low, high, named in rows:
        assert (low > 0) == (severity == "lost_time") and (high > 0) == (severity == "lost_time")
        assert (named < n) == (severity == "near_miss"), severity  # near misses name nobody
    assert con.execute("SELECT count(*) FROM raw.safety_incidents i JOIN raw.employees e "
                       "USING (employee_id) WHERE e.home_site_id <> i.site_id").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.safety_incidents i WHERE employee_id IS NOT NULL "
                       "AND employee_id NOT IN (SELECT employee_id FROM raw.employees)"
                       ).fetchone()[0] == 0
    # a lost-time injury is first reported as recordable, then re-sent with the days lost;
    # a first-aid case is re-classified recordable
    for before, after in (("recordable", "lost_time"), ("first_aid", "recordable")):
        assert con.execute("""
            SELECT count(*) FROM raw.safety_incidents a JOIN raw.safety_incidents b
              USING (incident_id)
            WHERE a.severity = ? AND a.days_lost = 0 AND b.severity = ?
              AND (b.days_lost > 0) = (b.severity = 'lost_time') AND a.updated_at < b.updated_at
            """, [before, after]).fetchone()[0] > 0, (before, after)


# --- determinism --------------------------------------------------------------------------
def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


#: Folders of data/sample written from the sample in other systems' notation (through
#: tests/support/dialects.py; tests/test_mappings_roundtrip.py checks them), not by the
#: generator.
DIALECT_SAMPLES = ("sap/", "netsuite/")


def test_committed_sample_is_what_the_generator_writes(sample):
    """data/sample/README.md says how it was made; regenerating gives the same bytes."""
    root, _, _ = sample
    committed = Path(__file__).resolve().parent.parent / "data" / "sample"
    expected = {f: d for f, d in _digests(committed).items()
                if f != "README.md" and not f.startswith(DIALECT_SAMPLES)}
    assert _digests(root) == expected


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
