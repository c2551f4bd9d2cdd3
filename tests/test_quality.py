"""The quality gate, end to end: the real GE checkpoint on real (tiny) DuckDB files.

Each warehouse is built by SQL with only the columns the checks read; the KPI marts are
derived from the facts by SQL, so a clean warehouse reconciles. Every scenario changes
one thing and asserts exactly which checks fail. GE is imported once for the module;
each scenario is one checkpoint run, done once (module-scoped cache).

GE's Data Docs of a run are checked on disk (every page there, nothing loaded from the
network) and in headless Chromium (``tests/support/cdp.py``): no console error, no
request leaving the machine, styled by the vendored CSS. The validation page's
screenshot is saved to ``tests/artifacts/gx-data-docs.png``.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb
import pytest

from flows.gate import GateResult, load_checks, run_quality_gate
from flows.report.gate_page import write_gate_page
from flows.report.gx_docs import make_data_docs_offline
from flows.settings import PROJECT_ROOT, Settings
from tests.support.cdp import Browser, external_requests

AS_OF = date(2026, 3, 6)
RUN_ID = "run-1"
DATA_DOCS_DIR = "data-docs"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

FACTS = """
CREATE SCHEMA core; CREATE SCHEMA kpi; CREATE SCHEMA audit;

CREATE TABLE core.fct_deliveries AS SELECT * FROM (VALUES
  ('S1', 'O1', 1, 'delivered',  10.0, 0.0, 'C1', true, 5.0, 'USD', 5.0,
   DATE '2026-03-01', DATE '2026-03-02', DATE '2026-03-03', true),
  ('S2', 'O1', 2, 'delivered',   5.0, 1.0, 'C1', true, 3.0, 'EUR', 3.3,
   DATE '2026-03-02', DATE '2026-03-05', DATE '2026-03-04', false),
  ('S3', 'O2', 1, 'in_transit',  4.0, 0.0, 'C2', true, 2.0, 'USD', 2.0,
   DATE '2026-03-05', NULL,              DATE '2026-03-10', NULL),
  ('S4', 'O3', 1, 'delivered',   6.0, 0.0, 'C2', true, 4.0, 'USD', 4.0,
   DATE '2026-02-20', DATE '2026-02-25', DATE '2026-02-26', true),
  ('S5', 'O3', 2, 'delivered',   2.0, 0.0, 'C1', true, 1.0, 'USD', 1.0,
   DATE '2026-03-05', DATE '2026-03-08', DATE '2026-03-09', NULL)
) v(shipment_id, order_id, line_number, status, shipped_qty, damaged_qty, carrier_id,
    has_known_order_line, freight_cost, currency, freight_cost_usd,
    shipped_date, delivered_date, due_date, is_on_time);

-- every shipment at site S01, costed from its sku's inventory snapshot
ALTER TABLE core.fct_deliveries ADD COLUMN site_id VARCHAR DEFAULT 'S01';
ALTER TABLE core.fct_deliveries ADD COLUMN sku VARCHAR DEFAULT 'SKU1';
ALTER TABLE core.fct_deliveries ADD COLUMN cogs_usd DOUBLE DEFAULT 20.0;

CREATE TABLE core.fct_order_lines AS SELECT * FROM (VALUES
  ('O1', 1, 'delivered', 10.0, DATE '2026-02-25', DATE '2026-03-03', true),
  ('O1', 2, 'delivered',  5.0, DATE '2026-02-25', DATE '2026-03-04', false),
  ('O2', 1, 'open',       4.0, DATE '2026-03-01', DATE '2026-03-10', false),
  ('O3', 1, 'closed',     6.0, DATE '2026-02-15', DATE '2026-02-26', true),
  ('O3', 2, 'shipped',    2.0, DATE '2026-03-01', DATE '2026-03-09', false),
  ('O4', 1, 'cancelled',  3.0, DATE '2026-02-10', DATE '2026-02-20', false)
) v(order_id, line_number, status, ordered_qty, order_placed_date, due_date, is_otif);

CREATE TABLE core.fct_spend AS SELECT * FROM (VALUES
  ('I1', 1, 'P1', 1,    true,  DATE '2026-03-02', 100.0, 'USD', 100.0),
  ('I1', 2, 'P1', 2,    true,  DATE '2026-03-02',  50.0, 'EUR',  55.0),
  ('I2', 1, 'P1', 1,    true,  DATE '2026-03-04', -20.0, 'USD', -20.0),
  ('I3', 1, 'P2', 1,    true,  DATE '2026-03-10',  70.0, 'USD',  70.0)
) v(invoice_id, invoice_line, po_id, po_line, has_known_po, invoice_date, amount, currency, amount_usd);

CREATE TABLE core.fct_labor AS SELECT * FROM (VALUES
  ('L1', 'E1', DATE '2026-03-02', 8.0::DOUBLE, 20.0, 'USD', 160.0),
  ('L2', 'E2', DATE '2026-03-05', 7.5, 18.0, 'EUR', 150.0),
  ('L3', 'E1', DATE '2026-03-09', 6.0, 20.0, 'USD', 120.0)
) v(entry_id, employee_id, work_date, hours_worked, hourly_rate, rate_currency, labor_cost_usd);

CREATE TABLE core.fct_po_lines AS SELECT * FROM (VALUES
  ('P1', 1, 'closed',    10.0, 10.0, TIMESTAMPTZ '2026-02-20 10:00:00+00', DATE '2026-03-01', true),
  ('P1', 2, 'closed',     5.0,  3.0, TIMESTAMPTZ '2026-02-20 10:00:00+00', DATE '2026-03-02', false),
  ('P2', 1, 'open',       8.0,  0.0, TIMESTAMPTZ '2026-03-02 09:00:00+00', DATE '2026-03-12', false),
  ('P3', 1, 'cancelled',  4.0,  0.0, TIMESTAMPTZ '2026-02-10 08:00:00+00', DATE '2026-02-25', false)
) v(po_id, po_line, status, ordered_qty, qty_accepted, ordered_at, expected_date, is_otif);

CREATE TABLE core.fct_inventory_daily AS SELECT * FROM (VALUES
  ('S01', DATE '2026-03-01', DATE '2026-03-01', 0),
  ('S01', DATE '2026-03-02', DATE '2026-03-01', 0),
  ('S01', DATE '2026-03-03', DATE '2026-03-03', 0)
) v(site_id, date, snapshot_date, snapshot_rows_without_fx_rate);

CREATE TABLE core.fct_cycle_counts AS SELECT * FROM (VALUES
  ('K1', 'USD', DATE '2026-03-02', 100.0),
  ('K2', 'EUR', DATE '2026-03-03', 55.0)
) v(count_id, currency, count_date, system_value_usd);

CREATE TABLE core.fct_returns AS SELECT * FROM (VALUES
  ('R1', 'O1', 1, true),
  ('R2', 'O3', 1, true)
) v(return_id, order_id, line_number, has_known_order_line);

CREATE TABLE core.fct_service_tickets AS SELECT * FROM (VALUES
  ('T1', 'urgent', true),
  ('T2', 'low', true)
) v(ticket_id, priority, has_service_level);

CREATE TABLE core.fct_safety_incidents AS SELECT * FROM (VALUES ('INC1')) v(incident_id);

CREATE TABLE audit.load_manifest AS SELECT * FROM (VALUES
  ('wms/shipments_1.csv',   'shipments',   'loaded',       100,  5,    'run-1'),
  ('erp/order_lines_1.csv', 'order_lines', 'loaded',        80,  0,    'run-1'),
  ('ref/sites.csv',         'sites',       'loaded',         6,  0,    'run-1'),
  ('wms/shipments_0.csv',   'shipments',   'loaded',       100, 60,    'run-0'),
  ('x/customers.csv',       NULL,          'unrecognised', NULL, NULL, 'run-0')
) v(path, entity, status, rows_read, rows_quarantined, run_id);
"""

# The marts, derived from the facts exactly as kpis.md defines the reconciled KPIs.
KPIS = """
CREATE TABLE kpi.kpi_daily AS
WITH d AS (
  SELECT 'spend_usd' AS kpi, invoice_date AS date, sum(amount_usd) AS numerator, NULL AS denominator
  FROM core.fct_spend WHERE invoice_date <= DATE '2026-03-06' AND amount_usd IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'po_coverage_rate', invoice_date, coalesce(sum(amount_usd) FILTER (WHERE has_known_po), 0),
         sum(amount_usd)
  FROM core.fct_spend WHERE invoice_date <= DATE '2026-03-06' AND amount_usd IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'labor_hours', work_date, sum(hours_worked), NULL
  FROM core.fct_labor WHERE work_date <= DATE '2026-03-06' GROUP BY ALL
  UNION ALL
  SELECT 'on_time_delivery_rate', delivered_date, count(*) FILTER (WHERE is_on_time), count(*)
  FROM core.fct_deliveries
  WHERE status = 'delivered' AND delivered_date <= DATE '2026-03-06' AND due_date IS NOT NULL GROUP BY ALL
  UNION ALL
  SELECT 'otif_rate', due_date, count(*) FILTER (WHERE is_otif), count(*)
  FROM core.fct_order_lines WHERE status <> 'cancelled' AND due_date <= DATE '2026-03-06' GROUP BY ALL
  UNION ALL
  SELECT 'supplier_otif_rate', expected_date, count(*) FILTER (WHERE is_otif), count(*)
  FROM core.fct_po_lines WHERE status <> 'cancelled' AND expected_date <= DATE '2026-03-06' GROUP BY ALL
)
SELECT kpi, 'S01' AS site_id, date, numerator::DOUBLE AS numerator, denominator::DOUBLE AS denominator,
       CASE WHEN denominator IS NULL THEN numerator WHEN denominator = 0 THEN NULL
            ELSE numerator / denominator END::DOUBLE AS value
FROM d;

CREATE MACRO rollup(period) AS TABLE
  WITH s AS (SELECT kpi, site_id, date_trunc(period, date)::DATE AS p,
                    sum(numerator) AS numerator, sum(denominator) AS denominator
             FROM kpi.kpi_daily GROUP BY ALL),
       a AS (SELECT kpi, 'ALL' AS site_id, p, sum(numerator) AS numerator, sum(denominator) AS denominator
             FROM s GROUP BY ALL)
  SELECT *, CASE WHEN denominator IS NULL THEN numerator WHEN denominator = 0 THEN NULL
                 ELSE numerator / denominator END AS value
  FROM (SELECT * FROM s UNION ALL SELECT * FROM a);
CREATE TABLE kpi.kpi_weekly AS
  SELECT kpi, site_id, p AS week_start, numerator, denominator, value FROM rollup('week');
CREATE TABLE kpi.kpi_monthly AS
  SELECT kpi, site_id, p AS month_start, numerator, denominator, value FROM rollup('month');

CREATE TABLE kpi.kpi_carrier_monthly AS
  SELECT carrier_id, date_trunc('month', delivered_date)::DATE AS month_start,
         count(*) AS delivered_shipments, count(*) FILTER (WHERE is_on_time) AS on_time_shipments,
         (count(*) FILTER (WHERE is_on_time) / count(*))::DOUBLE AS on_time_rate
  FROM core.fct_deliveries
  WHERE status = 'delivered' AND delivered_date <= DATE '2026-03-06' AND due_date IS NOT NULL
    AND carrier_id IS NOT NULL
  GROUP BY ALL;
CREATE TABLE kpi.kpi_vendor_monthly AS SELECT * FROM (VALUES
  ('V1', DATE '2026-03-01', 0.5, 1.0), ('V2', DATE '2026-02-01', NULL, 0.0)
) v(vendor_id, month_start, supplier_otif_rate, three_way_match_rate);
CREATE TABLE kpi.kpi_budget_monthly AS SELECT * FROM (VALUES
  ('S01', 'freight', DATE '2026-02-01'), ('S01', 'freight', DATE '2026-03-01')
) v(site_id, category, month_start);
CREATE TABLE kpi.kpi_site_scorecard_weekly AS SELECT * FROM (VALUES
  ('S01', DATE '2026-03-02', 'otif_rate'), ('S01', DATE '2026-02-23', 'otif_rate')
) v(site_id, week_start, kpi);
CREATE TABLE kpi.kpi_targets AS SELECT * FROM (VALUES ('otif_rate', '*')) v(kpi, site_id);

-- as the dbt model audit.data_freshness defines it
CREATE TABLE audit.data_freshness AS
WITH e AS (
  SELECT 'shipments' AS entity, 'shipped_date' AS event, shipped_date AS d FROM core.fct_deliveries
  UNION ALL SELECT 'invoice_lines', 'invoice_date', invoice_date FROM core.fct_spend
  UNION ALL SELECT 'timesheets', 'work_date', work_date FROM core.fct_labor
)
SELECT entity, event, max(d) FILTER (WHERE d <= DATE '2026-03-06') AS newest_event_date,
       DATE '2026-03-06' - max(d) FILTER (WHERE d <= DATE '2026-03-06') AS days_behind
FROM e GROUP BY ALL;
"""

# name -> (SQL before the marts are derived, SQL after)
SCENARIOS: dict[str, tuple[str, str]] = {
    "clean": ("", ""),
    "rate 1.2": ("", "UPDATE kpi.kpi_daily SET value = 1.2 "
                     "WHERE kpi = 'on_time_delivery_rate' AND date = DATE '2026-03-02'"),
    "stale feed": ("", "UPDATE audit.data_freshness SET newest_event_date = DATE '2026-02-20', "
                       "days_behind = 14 WHERE entity = 'timesheets'"),
    # a fact changes after the marts were built: the marts are consistent, the facts not
    "spend not reconciling": ("", "UPDATE core.fct_spend SET amount_usd = 155 "
                                  "WHERE invoice_id = 'I1' AND invoice_line = 2"),
    "quarantine share": ("", "UPDATE audit.load_manifest SET rows_quarantined = 40 "
                             "WHERE path = 'wms/shipments_1.csv'"),
    "warnings": ("""
        UPDATE core.fct_deliveries SET has_known_order_line = false WHERE shipment_id IN ('S3', 'S5');
        UPDATE core.fct_deliveries SET freight_cost_usd = NULL WHERE shipment_id = 'S2';
        UPDATE core.fct_spend SET amount_usd = NULL WHERE invoice_id = 'I1' AND invoice_line = 2;
        UPDATE core.fct_spend SET has_known_po = false WHERE invoice_id = 'I3';
        -- a credit note without a PO: po_coverage_rate above 1 in its week and month
        UPDATE core.fct_spend SET po_id = NULL, po_line = NULL, has_known_po = false WHERE invoice_id = 'I2';
        UPDATE core.fct_labor SET labor_cost_usd = NULL WHERE entry_id = 'L2';
        INSERT INTO core.fct_labor VALUES ('L4', 'E3', DATE '2026-03-04', 4.0, NULL, NULL, NULL);
        UPDATE audit.load_manifest SET rows_quarantined = 3 WHERE entity = 'sites';
        INSERT INTO audit.load_manifest VALUES ('wms/bad.xlsx', 'shipments', 'rejected', NULL, NULL, 'run-1');
        UPDATE core.fct_returns SET has_known_order_line = false WHERE return_id = 'R2';
        UPDATE core.fct_deliveries SET cogs_usd = NULL WHERE shipment_id = 'S3';
        UPDATE core.fct_service_tickets SET has_service_level = false WHERE ticket_id = 'T1';
        -- the 03-01 snapshot has rows without a rate (also on the day it is carried to)
        UPDATE core.fct_inventory_daily SET snapshot_rows_without_fx_rate = 2
        WHERE snapshot_date = DATE '2026-03-01';
        UPDATE core.fct_cycle_counts SET system_value_usd = NULL WHERE count_id = 'K2';
        -- S4 shipped on 02-20 from S02, a site without any inventory snapshot
        UPDATE core.fct_deliveries SET site_id = 'S02' WHERE shipment_id = 'S4';
        """, ""),
    "broken schema": ("", "DROP TABLE kpi.kpi_targets; ALTER TABLE core.fct_labor DROP COLUMN rate_currency"),
}


def build_warehouse(path: Path, before_kpis: str = "", after: str = "") -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute(FACTS)
        if before_kpis:
            con.execute(before_kpis)
        con.execute(KPIS)
        con.execute("DROP MACRO TABLE rollup")
        if after:
            con.execute(after)
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(expectations_dir=PROJECT_ROOT / "expectations", max_quarantine_share=0.2,
                    quarantine_min_rows=50, freshness_max_days=7, reconciliation_tolerance=1e-6)


@pytest.fixture(scope="module")
def gate(tmp_path_factory, settings):
    """gate(name) -> (GateResult, docs_dir): the scenario's warehouse, checked once."""
    cache: dict[str, tuple[GateResult, Path]] = {}
    root = tmp_path_factory.mktemp("gate")

    def run(name: str) -> tuple[GateResult, Path]:
        if name not in cache:
            before, after = SCENARIOS[name]
            folder = root / re.sub(r"\W+", "_", name)
            folder.mkdir()
            db = build_warehouse(folder / "build.duckdb", before, after)
            docs = folder / "docs"
            result = run_quality_gate(db, as_of=AS_OF, run_id=RUN_ID, settings=settings,
                                      data_docs_dir=docs / DATA_DOCS_DIR)
            write_gate_page(result, docs)
            cache[name] = (result, docs)
        return cache[name]

    return run


def failed(result: GateResult, severity: str) -> dict[str, dict]:
    rows = result.errors if severity == "error" else result.warnings
    return {r["check"]: r for r in rows}


# --- a clean warehouse ------------------------------------------------------------------

def test_clean_warehouse_passes(gate):
    result, _ = gate("clean")
    assert not result.blocked, result.reason()
    assert result.errors == [] and result.warnings == []
    assert result.reason().startswith("all ") and "error checks passed" in result.reason()
    by_check = {(r["check"], r["table_name"]): r for r in result.results}
    assert by_check[("fct_deliveries has rows", "core.fct_deliveries")]["observed"] == "5 rows"
    assert by_check[("shipments with unknown order lines", "core.fct_deliveries")]["observed"] == (
        "0 of 5 shipments")
    assert by_check[("freshness", "audit.data_freshness")]["observed"] == (
        "every entity has an event within 7 days of the as-of date")
    assert by_check[("spend_usd = Σ fct_spend.amount_usd", "kpi.kpi_daily")]["success"]


def test_every_result_has_the_audit_columns(gate):
    from flows.warehouse.audit import QUALITY_COLUMNS

    result, _ = gate("clean")
    assert len(result.results) == len(load_checks(PROJECT_ROOT / "expectations"))
    for r in result.results:
        assert list(r) == list(QUALITY_COLUMNS)
        assert r["run_id"] == RUN_ID and r["severity"] in ("error", "warning")
        assert isinstance(r["success"], bool) and r["observed"] and "\n" not in r["observed"]
    suites = {r["suite"] for r in result.results}
    # keys, ranges and dates after as-of are dbt's tests (tests/test_dbt_invariants.py)
    assert suites == {"reconciliation", "timeliness", "load_signals", "volume"}


# --- each error check blocks, alone -------------------------------------------------------

@pytest.mark.parametrize(
    ("scenario", "expected", "observed"),
    [
        ("rate 1.2", {"kpi_daily value = numerator / denominator"}, "1 of 14 rows (7.1 %)"),
        ("spend not reconciling", {"spend_usd = Σ fct_spend.amount_usd"}, "kpi 135.00 vs facts 235.00"),
        ("quarantine share", {"quarantine share"}, "shipments 0.40 > 0.20 (40 of 100 rows)"),
    ],
)
def test_error_check_blocks(gate, scenario, expected, observed):
    result, _ = gate(scenario)
    errors = failed(result, "error")
    assert set(errors) == expected, result.reason()
    assert result.blocked
    first = sorted(expected)[0]
    assert errors[first]["observed"] == observed
    plural = "s" if len(expected) > 1 else ""
    assert result.reason().startswith(f"{len(expected)} error check{plural} failed: ")
    for name in expected:
        assert f"{name} {errors[name]['observed']}" in result.reason()
    assert "\n" not in result.reason()
    assert failed(result, "warning") == {}


def test_quarantine_of_an_earlier_run_does_not_count(gate):
    """The clean warehouse's manifest holds run-0 with 60 % quarantined shipments."""
    result, _ = gate("clean")
    share = next(r for r in result.results if r["check"] == "quarantine share")
    assert share["success"] and share["severity"] == "error"


# --- warnings are reported with counts, and do not block ------------------------------------

def test_warnings_do_not_block_and_count_exactly(gate):
    result, _ = gate("warnings")
    assert not result.blocked, result.reason()
    assert result.errors == []
    warnings = {name: r["observed"] for name, r in failed(result, "warning").items()}
    assert warnings == {
        "shipments with unknown order lines": "2 of 5 shipments (40.0 %)",
        "shipments without fx rate for freight": "1 of 5 shipments (20.0 %)",
        "invoice lines without fx rate": "1 of 4 invoice lines (25.0 %)",
        "invoice lines citing unknown PO lines": "1 of 4 invoice lines (25.0 %)",
        "kpi_weekly po_coverage_rate: credit notes exceed invoices": "2 of 18 rows (11.1 %)",
        "kpi_monthly po_coverage_rate: credit notes exceed invoices": "2 of 16 rows (12.5 %)",
        "timesheet entries without fx rate": "1 of 4 entries (25.0 %)",
        "timesheet entries without pay rate": "1 of 4 entries (25.0 %)",
        "quarantined rows": "sites 0.50 > 0.05 (3 of 6 rows)",
        "files rejected or unrecognised": "wms/bad.xlsx (rejected)",
        "returns for unknown order lines": "1 of 2 returns (50.0 %)",
        "shipments without cost of goods": "1 of 5 shipments (20.0 %)",
        "tickets without service level": "1 of 2 tickets (50.0 %)",
        # counted once, on the snapshot's own date, not on the day it is carried to
        "inventory snapshots without fx rate": "1 of 3 site-days (33.3 %)",
        "cycle counts without fx rate": "1 of 2 counts (50.0 %)",
        "sites with shipments but no inventory snapshot": "S02 (1 shipments)",
    }
    unknown = failed(result, "warning")["shipments with unknown order lines"]
    assert "shipment_id=S3" in unknown["details"] and "shipment_id=S5" in unknown["details"]
    assert result.reason() == f"all {sum(r['severity'] == 'error' for r in result.results)} " \
                              "error checks passed, 16 warnings"


def test_a_stale_entity_is_a_warning_naming_it(gate):
    result, _ = gate("stale feed")
    assert not result.blocked
    assert {name: r["observed"] for name, r in failed(result, "warning").items()} == {
        "freshness": "1 stale entity: timesheets: newest work_date 2026-02-20 "
                     "(14 days before the as-of date)"}


# --- a check that cannot run fails closed ---------------------------------------------------

def test_missing_table_or_column_is_an_error(gate):
    result, _ = gate("broken schema")
    errors = failed(result, "error")
    assert {"kpi_targets has rows", "timesheet entries without fx rate"} <= set(errors)
    assert errors["kpi_targets has rows"]["observed"] == (
        "could not evaluate: table kpi.kpi_targets not found")
    assert errors["timesheet entries without fx rate"]["observed"].startswith("could not evaluate: ")
    assert "rate_currency" in errors["timesheet entries without fx rate"]["observed"]
    assert "declared severity: warning" in errors["timesheet entries without fx rate"]["details"]


# --- the report -----------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["clean", "quarantine share"])
def test_report_is_offline_html(gate, scenario):
    result, docs = gate(scenario)
    page = docs / "index.html"
    assert page.is_file() and (docs / "results.json").is_file()
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", html), "the report must not reference the network"
    assert not re.search(r"<(script|link|img|iframe)\b|\bsrc=|url\(|@import", html, re.I)
    assert ("BLOCKED" in html) == result.blocked
    for r in result.results:
        assert r["check"].replace("&", "&amp;") in html
    if result.blocked:
        assert "shipments 0.40 &gt; 0.20" in html
    assert '<a class="button" id="gx-data-docs" href="data-docs/index.html">' in html


# --- GE's Data Docs ------------------------------------------------------------------------------

REMOTE = re.compile(r"^\s*(?:https?:)?//", re.I)
CSS_REFS = re.compile(r"""url\(\s*['"]?([^'")]*)|@import\s+(?:url\()?\s*['"]?([^'");\s]*)""", re.I)


class _References(HTMLParser):
    """What a page loads (src, non-anchor href, srcset, inline CSS url()/@import) and
    where its anchors point."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.anchors: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name == "href" and tag == "a":
                self.anchors.append(value)
            elif name in ("src", "href", "poster", "data", "action"):
                self.loads.append(value)
            elif name == "srcset":
                self.loads += [part.split()[0] for part in value.split(",") if part.strip()]
            elif name == "style":
                self.loads += _css_refs(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.loads += _css_refs(data)


def _css_refs(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)  # comments load nothing
    return [a or b for a, b in CSS_REFS.findall(css)]


def _local_target(base: Path, ref: str) -> Path | None:
    """The file a relative reference points to (None for fragments and data: URLs)."""
    path = urlsplit(ref).path
    if not path or ref.startswith(("data:", "#")):
        return None
    return (base.parent / unquote(path)).resolve()


def _tables() -> list[str]:
    return sorted({c.table for c in load_checks(PROJECT_ROOT / "expectations")})


@pytest.mark.parametrize("scenario", ["clean", "quarantine share"])
def test_data_docs_are_built_for_every_table(gate, scenario):
    result, docs = gate(scenario)
    site = docs / DATA_DOCS_DIR
    assert result.data_docs_error == ""
    assert result.data_docs_path == site / "index.html" and result.data_docs_path.is_file()
    index = result.data_docs_path.read_text(encoding="utf-8")
    report = (docs / "index.html").read_text(encoding="utf-8")
    for table in _tables():
        schema, name = table.split(".")
        assert (site / "expectations" / schema / f"{name}.html").is_file(), table
        (page,) = (site / "validations" / schema / name / RUN_ID).glob(f"*/warehouse-{table}.html")
        text = page.read_text(encoding="utf-8")
        for r in result.results:
            if r["table_name"] == table:  # each check, by the name and description it was given
                assert re.sub(r"\s+", " ", r["check"]).replace("&", "&amp;") in text, (table, r["check"])
        assert page.relative_to(site).as_posix() in index
        href = page.relative_to(docs).as_posix()
        assert f'<a href="{href}" title="its validation result in the Data Docs">{table}</a>' in report
    # GE's status agrees with the gate's severity: a table whose failures are all
    # warnings passed with a warning, it did not fail
    failed = {r["table_name"] for r in result.results if not r["success"]}
    errors = {r["table_name"] for r in result.results if not r["success"] and r["severity"] == "error"}
    assert index.count("ge-failed-icon") == len(errors)
    assert index.count("ge-warning-icon") == len(failed - errors)
    for table in failed - errors:
        schema, name = table.split(".")
        (page,) = (site / "validations" / schema / name / RUN_ID).glob(f"*/warehouse-{table}.html")
        text = page.read_text(encoding="utf-8")
        assert "Passed with a warning" in text and "</i> Failed" not in text, table
    for table in errors:
        schema, name = table.split(".")
        (page,) = (site / "validations" / schema / name / RUN_ID).glob(f"*/warehouse-{table}.html")
        assert "</i> Failed" in page.read_text(encoding="utf-8"), table


@pytest.mark.parametrize("scenario", ["clean", "quarantine share"])
def test_data_docs_load_nothing_from_the_network(gate, scenario):
    """Every page, stylesheet and script of the site: what it loads is a file of the
    site (scripts are opaque here: the browser test below watches their requests)."""
    _, docs = gate(scenario)
    site = docs / DATA_DOCS_DIR
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 2 * len(_tables())
    for page in pages:
        refs = _References()
        refs.feed(page.read_text(encoding="utf-8"))
        assert refs.loads, page
        assert [u for u in refs.loads + refs.anchors if REMOTE.match(u)] == [], page
        # the bar on top links to the gate's page (beside the site) and to the report
        # and dbt docs of the report folder the pages are published in
        outside = {docs.resolve() / "index.html", docs.resolve().parent / "index.html",
                   docs.resolve().parent / "dbt-docs" / "index.html"}
        links = {_local_target(page, ref) for ref in refs.anchors}
        assert outside <= links, page
        assert (docs / "index.html").is_file()
        for ref in refs.loads + [a for a in refs.anchors if _local_target(page, a) not in outside]:
            target = _local_target(page, ref)
            assert target is None or target.is_file(), (page.relative_to(site), ref)
            assert target is None or site.resolve() in target.parents, (page.relative_to(site), ref)
    for css in site.rglob("*.css"):
        for ref in _css_refs(css.read_text(encoding="utf-8")):
            assert not REMOTE.match(ref), (css, ref)
            target = _local_target(css, ref)
            assert target is None or target.is_file(), (css, ref)
    for js in site.rglob("*.js"):
        assert not re.search(r"sourceMappingURL=(?:https?:)?//", js.read_text(encoding="utf-8")), js
    # lean: GE's unused static files (fonts, animated GIFs ...) are gone
    assert sorted(p.name for p in (site / "static").iterdir()) == ["images", "vendor"]
    assert sorted(p.name for p in (site / "static" / "images").iterdir()) == ["favicon.ico", "logo-long.png"]
    assert sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) < 6_000_000


def test_make_data_docs_offline_rewrites_what_ge_writes(tmp_path):
    """The rewriting rules on a made-up site: vendored CDN files, SRI attributes, GE's
    logo, an unknown remote script, links to the web, miscounted ../, unused statics."""
    site = tmp_path / "site"
    (site / "static" / "images").mkdir(parents=True)
    for name in ("favicon.ico", "logo-long.png", "glossary_scroller.gif"):
        (site / "static" / "images" / name).write_bytes(b"x")
    page = site / "validations" / "core" / "t" / "run" / "time" / "b.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<html><head><link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>\n<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/'
        'popper.min.js" integrity="sha384-x" crossorigin="anonymous"></script>\n'
        '<script src="https://example.com/tracker.js"></script>\n'
        '<link rel="shortcut icon" href="../../../../static/images/favicon.ico" type="image/x-icon"/>\n'
        "<style>.navbar-brand a { background: url('https://great-expectations-web-assets.s3.us-east-2"
        ".amazonaws.com/full_logo_dark.png') 0 0 no-repeat; }</style></head><body>\n"
        '<a href="../../../../../index.html"><img src="https://great-expectations-web-assets.s3.us-east-2'
        '.amazonaws.com/logo-long.png?d=20260306T000000Z&amp;dataContextId=abc"></a>\n'
        '<p>Made with <a href="https://greatexpectations.io">Great Expectations</a>.</p>\n'
        '<footer><p>Stay current with our newsletter <a href="https://greatexpectations.io/newsletter">'
        "Subscribe</a></p></footer></body></html>\n", encoding="utf-8")
    make_data_docs_offline(site)
    text = page.read_text(encoding="utf-8")
    up = "../../../../../"
    assert f'href="{up}static/vendor/bootstrap-4.3.1/dist/css/bootstrap.min.css"' in text
    assert (f'<script src="{up}static/vendor/popper.js-1.12.9/dist/umd/popper.min.js"></script>' in text)
    assert "example.com" not in text and "tracker" not in text
    assert f'href="{up}static/images/favicon.ico"' in text
    assert f'<img src="{up}static/images/logo-long.png">' in text
    assert f"url('{up}static/images/logo-long.png')" in text
    assert "<p>Made with Great Expectations.</p>" in text
    assert "newsletter" not in text and "<footer>" not in text
    assert not re.search(r"https?://", text)
    assert sorted(p.name for p in (site / "static" / "images").iterdir()) == ["favicon.ico", "logo-long.png"]
    assert (site / "static" / "vendor" / "README.md").is_file()


@pytest.mark.slow
def test_data_docs_render_offline_in_a_browser(gate, browser: Browser, tmp_path):
    """The Data Docs of a blocked run, opened from a copy of the docs folder (as the flow
    copies it beside the warehouse) through the report's link."""
    result, docs = gate("quarantine share")
    copy = tmp_path / "quality"
    shutil.copytree(docs, copy)

    report = browser.new_page()
    report.open((copy / "index.html").as_uri())
    href = report.evaluate("document.getElementById('gx-data-docs').href")
    assert href == (copy / DATA_DOCS_DIR / "index.html").as_uri()

    index = browser.new_page()
    index.open(href)
    index.wait_until("document.querySelectorAll('.bootstrap-table tbody tr').length > 0")
    index.browser.pump(0.5)
    assert index.console_errors == []
    assert external_requests(index.requests) == []
    assert index.evaluate("document.querySelectorAll('.bootstrap-table').length") == 2
    assert index.evaluate("document.querySelectorAll('.bootstrap-table .ge-failed-icon').length") == 1

    (page_path,) = (copy / DATA_DOCS_DIR / "validations" / "audit").glob("load_manifest/*/*/*.html")
    page = browser.new_page()
    page.call("Emulation.setDeviceMetricsOverride",
              {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    page.open(page_path.as_uri())
    page.wait_until("document.readyState === 'complete'")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.browser.pump(0.5)
    assert page.console_errors == []
    assert external_requests(page.requests) == []
    vendored = [u for u in page.requests if "/static/vendor/" in u]
    assert len(vendored) >= 15, page.requests  # every stylesheet and script, from the copy
    assert all(u.startswith((copy / DATA_DOCS_DIR).as_uri()) for u in vendored)
    styled = page.evaluate("""(() => {
        const css = (selector, prop) => getComputedStyle(document.querySelector(selector))[prop];
        const logo = document.querySelector('.navbar-brand img');
        return {navbar: css('nav.navbar', 'display'), danger: css('.fa-times.text-danger', 'color'),
                icon: getComputedStyle(document.querySelector('.fa-times'), '::before').fontFamily,
                fonts: [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family),
                scripts: [typeof jQuery, typeof jQuery.fn.bootstrapTable, typeof jQuery.fn.modal,
                          typeof vegaEmbed, typeof vega.View, typeof vegaLite.compile],
                logo: logo.complete && logo.naturalWidth > 0};
    })()""")
    assert styled["navbar"] == "flex", styled  # Bootstrap 4's .navbar
    assert styled["danger"] == "rgb(220, 53, 69)", styled  # Bootstrap 4's .text-danger
    assert "Font Awesome 6 Free" in styled["icon"] and "Font Awesome 6 Free" in styled["fonts"], styled
    assert styled["scripts"] == ["function"] * 6, styled
    assert styled["logo"], styled
    text = page.evaluate("document.body.innerText")
    assert "quarantine share" in text and "Failed" in text
    page.screenshot(ARTIFACTS / "gx-data-docs.png")
    assert (ARTIFACTS / "gx-data-docs.png").stat().st_size > 30_000
    print(f"gate {result.seconds:.2f} s, of which Data Docs {result.data_docs_seconds:.2f} s")


# --- the conformance build -------------------------------------------------------------------

def test_conformance_build_passes(tmp_path, settings, conformance_warehouse):
    """The worked example's build (refreshed once per session) passes the gate."""
    db = tmp_path / "work.duckdb"
    shutil.copyfile(conformance_warehouse.parent / ".ops.state" / "work.duckdb", db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        (run_id,) = con.execute(
            "SELECT run_id FROM audit.load_manifest WHERE status = 'loaded' "
            "GROUP BY run_id ORDER BY max(loaded_at) DESC LIMIT 1").fetchone()
    finally:
        con.close()
    result = run_quality_gate(db, as_of=date(2026, 3, 6), run_id=run_id, settings=settings,
                              data_docs_dir=tmp_path / "docs" / DATA_DOCS_DIR)
    assert not result.blocked, result.reason()
    assert result.errors == []
    assert result.data_docs_path and result.data_docs_path.is_file(), result.data_docs_error
    assert result.data_docs_seconds < 10, "building the Data Docs should take about a second"
    print(f"conformance gate: {result.seconds:.2f} s (Data Docs {result.data_docs_seconds:.2f} s), "
          f"{len(result.results)} checks, {len(result.warnings)} warnings: "
          f"{[w['check'] for w in result.warnings]}")


# --- the suite files themselves (no GE) ------------------------------------------------------

def test_suite_files_are_valid():
    checks = load_checks(PROJECT_ROOT / "expectations")
    assert len({(c.name, c.table) for c in checks}) == len(checks)
    assert all(c.severity in ("error", "warning") for c in checks)
    assert all("{batch}" in c.sql for c in checks if c.kind != "row_count")


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        ("checks:\n  - {name: a, table: core.t, rows: 'x > {nope}'}\n", "bad placeholder"),
        ("checks:\n  - {name: a, table: core.t, rows: x > 1, severity: fatal}\n", "severity"),
        ("checks:\n  - {name: a, table: t, rows: x > 1}\n", "schema.table"),
        ("checks:\n  - {name: a, table: core.t, rows: x > 1}\n  - {name: a, table: core.t, rows: x > 2}\n",
         "defined twice"),
    ],
)
def test_suite_file_mistakes_are_reported(tmp_path, yml, message):
    (tmp_path / "s.yml").write_text(yml)
    with pytest.raises(ValueError, match=message):
        load_checks(tmp_path)
