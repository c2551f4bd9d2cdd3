"""The HTML report in a real browser: headless Debian Chromium, driven over CDP.

A warehouse is built once per session from the conformance exports (as of 2026-03-06),
its report folder written (with the dbt docs and the gate's page beside it), and the page
loaded in Chromium with the DevTools protocol recording every console message, exception,
log entry and request. The page must render with no error and fetch nothing but itself;
what it shows for any week, month and choice of sites must be what the marts hold
(``kpi_site_scorecard_weekly`` / ``_monthly``, ``kpi_drivers_weekly``, the vendor mart);
it prints to PDF with every column, and fits a 390 px phone. Screenshots go to
``tests/artifacts/``.

The CDP client and the browser fixtures are in ``tests/support/cdp.py``.
"""

from __future__ import annotations

import base64
import csv
import io
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.support.cdp import Browser, Page, external_requests
from tests.support.warehouse import copy_published

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AS_OF = date(2026, 3, 6)

pytestmark = pytest.mark.slow


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def published_warehouse(conformance_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy (published file and working state) of the session's conformance
    warehouse, so nothing another test does to that one can change what this compares."""
    return copy_published(conformance_warehouse, tmp_path_factory.mktemp("published") / "ops.duckdb")


@pytest.fixture(scope="session")
def report(published_warehouse: Path) -> Path:
    """The report folder of the published warehouse, with the dbt docs and gate page."""
    from flows.build.docs import generate_docs
    from flows.report import publish_report
    from flows.warehouse.paths import state_paths

    paths = state_paths(published_warehouse)
    generate_docs(paths.work_db, AS_OF, paths.dbt_dir / "docs")
    return publish_report(paths)


#: the page has drawn every section for the current choice (charts and print layout too)
DRAWN = "document.documentElement.dataset.ready === '1' && document.documentElement.dataset.charts === '1'"


def open_report(browser: Browser, url: str, width: int = 1400) -> Page:
    page = browser.new_page()
    page.call("Emulation.setDeviceMetricsOverride",
              {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": width < 600})
    page.open(url)
    page.wait_until(DRAWN)
    page.browser.pump(0.3)  # late console messages, if any
    return page


@pytest.fixture(scope="session")
def report_page(browser: Browser, report: Path) -> Page:
    return open_report(browser, report.as_uri())


def query(warehouse: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def choose(page: Page, *, grain: str | None = None, period: str | None = None) -> None:
    """Use the period controls as a person would (button, select), then wait for the redraw."""
    if grain:
        page.evaluate(f"document.getElementById('grain-{grain}').click()")
        page.wait_until(DRAWN)
    if period:
        page.evaluate(f"""(() => {{ const s = document.getElementById('period-select');
            s.value = '{period}'; s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()""")
        page.wait_until(f"{DRAWN} && "
                        f"document.getElementById('scorecard-period').dataset.periodStart === '{period}'")


def scorecard_cells(page: Page) -> dict[tuple[str, str], dict]:
    cells = page.evaluate(
        """[...document.querySelectorAll('#scorecard-table td.cell[data-value]')].map(td => ({
               kpi: td.dataset.kpi, site: td.dataset.site, value: JSON.parse(td.dataset.value),
               target: JSON.parse(td.dataset.target), status: td.dataset.status,
               change: JSON.parse(td.dataset.change), cls: td.className,
               text: td.querySelector('.value').textContent.trim(),
               move: td.querySelector('.move').textContent.trim(),
               verdict: td.querySelector('.move').className,
               targetText: td.querySelector('.target').textContent.trim()}))""")
    return {(c["kpi"], c["site"]): c for c in cells}


_UNITS = {row.split(",")[0]: row.split(",")[3] for row in (
    ROOT / "dbt_project" / "seeds" / "kpi_catalogue.csv").read_text(encoding="utf-8").splitlines()[1:]}


def _expected_text(kpi: str, value: float) -> str:
    """The value as an analyst reads it, spelled out independently of the report code
    (by the KPI's unit in seeds/kpi_catalogue.csv)."""
    unit = _UNITS[kpi]
    formats = {
        "rate": f"{value * 100:,.1f}%",
        "days": f"{value:,.2f} days",
        "hours": f"{value:,.1f} h",
        "per_hour": f"{value:,.2f} units/h",
        "usd_unit": f"${value:,.2f}",
        "usd_order": f"${value:,.2f}/order",
        "per_200k_hours": f"{value:,.2f} per 200k h",
    }
    if unit not in formats:
        raise AssertionError(f"no expected format for {kpi} ({unit})")
    return formats[unit]


def assert_scorecard_is(page: Page, warehouse: Path, grain: str, start: date) -> None:
    """The page's scorecard cells are exactly the mart's rows of that period, with the
    change against the period before and its arrow judged by the KPI's direction."""
    table, column = (("kpi_site_scorecard_weekly", "week_start") if grain == "week"
                     else ("kpi_site_scorecard_monthly", "month_start"))
    rollup = "kpi_weekly" if grain == "week" else "kpi_monthly"
    previous = start - timedelta(days=7) if grain == "week" else (start - timedelta(days=1)).replace(day=1)
    rows = query(warehouse, f"SELECT kpi, site_id, value, target, direction, status FROM kpi.{table} "
                            f"WHERE {column} = $p", {"p": start})
    before = dict(((k, s), v) for k, s, v in query(
        warehouse, f"SELECT kpi, site_id, value FROM kpi.{rollup} WHERE {column} = $p", {"p": previous}))
    assert rows, f"no scorecard rows for {grain} {start}"
    shown = scorecard_cells(page)
    targeted = {key: c for key, c in shown.items() if c["status"]}
    assert set(targeted) == {(k, s) for k, s, *_ in rows}
    for kpi, site, value, target, direction, status in rows:
        cell = targeted[(kpi, site)]
        assert cell["value"] == pytest.approx(value, rel=1e-12), (kpi, site)
        assert cell["target"] == pytest.approx(target, rel=1e-12), (kpi, site)
        assert cell["status"] == status and status in cell["cls"].split(), (kpi, site)
        assert cell["text"] == _expected_text(kpi, value), (kpi, site, cell["text"])
        sign = "≥" if direction == "higher_is_better" else "≤"
        assert cell["targetText"] == f"target {sign} {_expected_text(kpi, target)}", (kpi, site)
        prev = before.get((kpi, site))
        if prev is None:
            assert cell["change"] is None, (kpi, site)
            continue
        change = value - prev
        assert cell["change"] == pytest.approx(change, rel=1e-9, abs=1e-12), (kpi, site)
        better = change > 0 if direction == "higher_is_better" else change < 0
        if abs(change) > 1e-12:
            assert ("better" if better else "worse") in cell["verdict"].split(), (kpi, site, cell)
            assert cell["move"].startswith("▲" if change > 0 else "▼"), (kpi, site, cell["move"])


# --- the page as it opens -------------------------------------------------------------------

def test_report_renders_offline_without_console_errors(report_page: Page) -> None:
    assert report_page.console_errors == []
    assert external_requests(report_page.requests) == []
    assert report_page.requests and report_page.requests[0].startswith("file://")
    title = report_page.evaluate("document.title")
    assert title == "Operations KPI report · as of 6 Mar 2026"
    sections = report_page.evaluate(
        "[...document.querySelectorAll('main > section')].map(s => s.id)")
    assert sections == ["trust", "scorecard", "trends", "carriers", "vendors", "budget", "quality"]
    charts = report_page.evaluate("document.querySelectorAll('#trends .chart canvas').length")
    assert charts == 29, "one trend chart per KPI (uPlot, inlined)"
    assert report_page.evaluate("typeof uPlot") == "function"
    report_page.screenshot(ARTIFACTS / "report.png")
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000


def test_scorecard_opens_on_the_latest_complete_week(report_page: Page, published_warehouse: Path) -> None:
    week = query(published_warehouse, """
        SELECT max(week_start) FROM kpi.kpi_site_scorecard_weekly
        WHERE week_start + INTERVAL 6 DAY <= $as_of""", {"as_of": AS_OF})[0][0]
    assert week == date(2026, 2, 23), "the latest complete ISO week on or before 2026-03-06"
    start = report_page.evaluate("document.getElementById('scorecard-period').dataset.periodStart")
    assert start == "2026-02-23"
    assert report_page.evaluate("document.getElementById('scorecard-period').textContent") == (
        "Week 9 · 23 Feb – 1 Mar 2026")
    assert_scorecard_is(report_page, published_warehouse, "week", week)
    colours = report_page.evaluate(
        """Object.fromEntries(['green', 'amber', 'red'].map(s => {
               const td = document.querySelector(`#scorecard-table td.cell.${s}`);
               return [s, td ? getComputedStyle(td).backgroundColor : null]; }))""")
    assert len({colours[s] for s in ("green", "amber", "red")}) == 3, f"statuses look alike: {colours}"


def test_any_week_and_any_month_show_the_warehouse_values(
        browser: Browser, report: Path, published_warehouse: Path) -> None:
    page = open_report(browser, report.as_uri())
    choose(page, period="2026-02-02")
    assert_scorecard_is(page, published_warehouse, "week", date(2026, 2, 2))
    assert page.evaluate("location.hash").startswith("#grain=week&period=2026-02-02")
    choose(page, grain="month")
    # the month of the chosen week's Thursday
    assert page.evaluate("document.getElementById('scorecard-period').dataset.periodStart") == "2026-02-01"
    assert_scorecard_is(page, published_warehouse, "month", date(2026, 2, 1))
    choose(page, period="2026-03-01")
    assert_scorecard_is(page, published_warehouse, "month", date(2026, 3, 1))
    assert "partial" in page.evaluate("document.getElementById('scorecard-period').textContent")
    assert "partial month" in page.evaluate("document.getElementById('budget-period').textContent")
    assert page.console_errors == [] and external_requests(page.requests) == []


def test_filtering_a_site_hides_the_others(browser: Browser, report: Path) -> None:
    page = open_report(browser, report.as_uri())
    page.evaluate("document.getElementById('site-filter').open = true")
    page.evaluate("document.querySelector('#site-list button[data-only=S02]').click()")
    one_column = "document.querySelectorAll('#scorecard-table thead th[data-site]').length === 1"
    page.wait_until(f"{DRAWN} && {one_column}")
    sites = page.evaluate("[...document.querySelectorAll('#scorecard-table thead th[data-site]')]"
                          ".map(th => th.dataset.site)")
    assert sites == ["S02"]
    cells = page.evaluate("[...new Set([...document.querySelectorAll('#scorecard-table td.cell')]"
                          ".map(td => td.dataset.site))]")
    assert cells == ["S02"]
    legends = page.evaluate("[...new Set([...document.querySelectorAll('#trends .u-legend .u-label')]"
                            ".map(l => l.textContent))]")
    assert "S02" in legends and not {"S01", "S03", "All sites"} & set(legends)
    budget_sites = page.evaluate(
        "[...new Set([...document.querySelectorAll('#budget-table tbody tr[data-site]')]"
        ".map(tr => tr.dataset.site))]")
    assert budget_sites == ["S02"]
    assert "DC Berlin (S02)" in page.evaluate("document.getElementById('carriers-period').textContent")
    others = "#why-table tbody tr[data-site]:not([data-site=S02])"
    assert page.evaluate(f"document.querySelectorAll('{others}').length") == 0
    assert page.evaluate("location.hash").endswith("sites=S02")
    assert page.console_errors == []


# --- drivers --------------------------------------------------------------------------------

def test_drivers_shown_for_a_red_cell_equal_the_mart(report_page: Page, published_warehouse: Path) -> None:
    row = report_page.evaluate("""(() => { const tr = [...document.querySelectorAll('#why-table tbody tr')]
        .find(tr => tr.querySelector('.badge.red') && JSON.parse(tr.dataset.members).length >= 2);
        return {kpi: tr.dataset.kpi, site: tr.dataset.site, dimension: tr.dataset.dimension,
                members: JSON.parse(tr.dataset.members),
                text: tr.querySelector('.sentence').textContent}; })()""")
    kpi, site, dimension = row["kpi"], row["site"], row["dimension"]
    mart = query(published_warehouse, """
        SELECT member, contribution, change FROM kpi.kpi_drivers_weekly
        WHERE kpi = $kpi AND site_id = $site AND week_start = DATE '2026-02-23' AND dimension = $dim
        ORDER BY driver_rank""", {"kpi": kpi, "site": site, "dim": dimension})
    change = mart[0][2]
    movers = [(m, c) for m, c, _ in mart if (c > 0) == (change > 0) and c != 0][:3]
    assert [m for m, _ in row["members"]] == [m for m, _ in movers], row
    for (_, shown), (_, contribution) in zip(row["members"], movers, strict=True):
        assert shown == pytest.approx(contribution, rel=1e-5)
    # the dimension chosen is the one whose top mover explains most of the change
    tops = query(published_warehouse, """
        SELECT dimension, max(abs(contribution)) FILTER (WHERE sign(contribution) = sign(change))
        FROM kpi.kpi_drivers_weekly
        WHERE kpi = $kpi AND site_id = $site AND week_start = DATE '2026-02-23' AND driver_rank <= 3
        GROUP BY dimension""", {"kpi": kpi, "site": site})
    assert dict(tops)[dimension] == pytest.approx(max(t[1] or 0 for t in tops), rel=1e-5)
    # one click on the cell opens all its dimensions' top members, as in the mart
    cell = f"#scorecard-table td.cell[data-kpi={kpi}][data-site={site}]"
    report_page.evaluate(f"document.querySelector('{cell}').click()")
    panel = report_page.evaluate("""[...document.querySelectorAll('#drivers-panel table.drivers')].map(t =>
        [t.dataset.dimension, [...t.querySelectorAll('tbody tr')].map(tr =>
            [tr.dataset.member, JSON.parse(tr.dataset.contribution)])])""")
    top3 = query(published_warehouse, """
        SELECT dimension, member, contribution FROM kpi.kpi_drivers_weekly
        WHERE kpi = $kpi AND site_id = $site AND week_start = DATE '2026-02-23' AND driver_rank <= 3
        ORDER BY dimension, driver_rank""", {"kpi": kpi, "site": site})
    expected: dict[str, list] = {}
    for dim, member, c in top3:
        expected.setdefault(dim, []).append((member, c))
    assert {d for d, _ in panel} == set(expected)
    for dim, members in panel:
        assert [m for m, _ in members] == [m for m, _ in expected[dim]]
        assert [c for _, c in members] == pytest.approx([c for _, c in expected[dim]], rel=1e-5)
    report_page.evaluate("document.getElementById('drivers-close').click()")


# --- vendors, carriers, budget --------------------------------------------------------------

def test_vendors_and_budget_open_on_the_last_complete_month(
        report_page: Page, published_warehouse: Path) -> None:
    vendors_period = report_page.evaluate("document.getElementById('vendors-period').textContent")
    assert vendors_period.startswith("February 2026")
    assert report_page.evaluate("document.getElementById('budget-period').textContent") == "February 2026"
    vendors = query(published_warehouse, """
        SELECT vendor_id, spend_usd, supplier_otif_rate, three_way_match_rate
        FROM kpi.kpi_vendor_monthly WHERE month_start = DATE '2026-02-01'""")
    shown = report_page.evaluate("""Object.fromEntries(
        [...document.querySelectorAll('#vendor-table tbody tr[data-vendor]')]
        .map(tr => [tr.dataset.vendor, [...tr.querySelectorAll('td')].map(td => td.dataset.csv)]))""")
    assert set(shown) == {v for v, *_ in vendors}
    def same(text: str, value: float | None) -> bool:
        return (value is None and text == "") or (value is not None and text != ""
                                                  and float(text) == pytest.approx(value, rel=1e-6))

    for vendor, spend, otif, match in vendors:
        cells = shown[vendor]
        assert same(cells[1], spend) and same(cells[2], otif) and same(cells[4], match), (vendor, cells)
    budget = query(published_warehouse, """SELECT count(*) FROM kpi.kpi_budget_monthly
                                           WHERE month_start = DATE '2026-02-01'""")[0][0]
    rows = report_page.evaluate("document.querySelectorAll('#budget-table tbody tr[data-site]').length")
    assert rows == budget
    carriers = query(published_warehouse, """
        SELECT carrier_id, on_time_shipments, delivered_shipments FROM kpi.kpi_carrier_monthly
        WHERE month_start = DATE '2026-02-01'""")
    page_carriers = report_page.evaluate("""(async () => {
        document.getElementById('grain-month').click();
        await window.opskpi.update();
        const out = Object.fromEntries([...document.querySelectorAll('#carrier-table tbody tr[data-carrier]')]
            .map(tr => [tr.dataset.carrier, tr.querySelector('td.sub').textContent]));
        document.getElementById('grain-week').click();
        await window.opskpi.update();
        return out; })()""")
    assert page_carriers == {c: f"{n:,} / {d:,}" for c, n, d in carriers}


def test_every_table_downloads_as_csv(browser: Browser, report: Path, tmp_path: Path) -> None:
    page = open_report(browser, report.as_uri())
    browser.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path),
                                                 "eventsEnabled": True})
    buttons = page.evaluate("[...document.querySelectorAll('button.csv')].map(b => b.dataset.table)")
    assert {"scorecard-table", "why-table", "carrier-table", "vendor-table", "budget-table",
            "coverage-table", "quarantine", "runs"} <= set(buttons)
    page.evaluate("document.querySelector('button.csv[data-table=\"scorecard-table\"]').click()")
    deadline = time.monotonic() + 20
    while not list(tmp_path.glob("scorecard-*.csv")) and time.monotonic() < deadline:
        browser.pump(0.2)
    (path,) = tmp_path.glob("scorecard-*.csv")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["KPI", "All sites"]
    on_time = next(r for r in rows if r[0].startswith("On-time delivery"))
    shown = page.evaluate("document.querySelector('#scorecard-table td.cell[data-kpi=on_time_delivery_rate]"
                          "[data-site=ALL]').dataset.value")
    assert float(on_time[1]) == pytest.approx(float(shown), rel=1e-12)
    assert page.console_errors == [] and external_requests(page.requests) == []


# --- print, phone ---------------------------------------------------------------------------

def test_prints_to_pdf_with_every_column(report_page: Page, published_warehouse: Path) -> None:
    from pypdf import PdfReader

    pdf = report_page.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                           timeout=120)
    data = base64.b64decode(pdf["data"])
    (ARTIFACTS / "report.pdf").write_bytes(data)
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]
    text = "\n".join(pages)
    assert "Site scorecard" in pages[0], "page 1 holds more than the header"
    for header in ("Carrier", "Mode", "Contracted target", "On-time", "On time / delivered", "Verdict",
                   "Vendor", "Category", "Spend", "Supplier OTIF", "PO lines OTIF / due", "Three-way match",
                   "Matched / lines with PO", "Price variance", "Budget", "Actual", "Variance %"):
        assert header in text, header
    for site in ("DC Chicago (S01)", "DC Berlin (S02)", "DC Singapore (S03)"):
        assert site in text, site
    vendors = query(published_warehouse, """SELECT vendor_id FROM kpi.kpi_vendor_monthly
                                            WHERE month_start = DATE '2026-02-01'""")
    for (vendor,) in vendors:
        assert vendor in text, vendor
    # a legend on every page with a chart
    chart_pages = [p for p in pages if "Units per labor hour" in p or "Perfect orders" in p or "Spend" in p]
    trends = [p for p in pages if "Trends" in p or any(k in p for k in ("First-response SLA",))]
    assert trends
    for p in pages[pages.index(next(p for p in pages if "Trends" in p)):]:
        if "Carriers: on-time" in p:
            break
        assert "All sites" in p, "each chart page shows its legend"
    assert chart_pages


def test_fits_a_390_px_phone(browser: Browser, report: Path) -> None:
    page = open_report(browser, report.as_uri(), width=390)
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 390, f"the page is {overflow} px wide on a 390 px screen"
    clipped = page.evaluate("""[...document.querySelectorAll('figcaption')].filter(f =>
        f.scrollWidth > f.clientWidth + 1).length""")
    assert clipped == 0
    page.screenshot(ARTIFACTS / "report-phone.png", width=390)
    assert page.console_errors == []


# --- links between the pages ----------------------------------------------------------------

def test_pages_link_both_ways(browser: Browser, report_page: Page, report: Path) -> None:
    folder = report.parent
    hrefs = report_page.evaluate("""({dbt: document.getElementById('nav-dbt-docs').href,
        gate: document.getElementById('gate-link').href, gx: document.getElementById('gx-link').href})""")
    assert hrefs == {"dbt": (folder / "dbt-docs" / "index.html").as_uri(),
                     "gate": (folder / "quality" / "index.html").as_uri(),
                     "gx": (folder / "quality" / "data-docs" / "index.html").as_uri()}
    gate = browser.new_page()
    gate.open(hrefs["gate"])
    back = gate.evaluate("document.getElementById('back-to-report').href")
    assert back == (folder / "index.html").as_uri() and Path(folder / "index.html").is_file()
    assert gate.evaluate("document.getElementById('gate-dbt-docs').href") == hrefs["dbt"]
    docs = browser.new_page()
    docs.open(hrefs["dbt"])
    docs.wait_until("document.body.innerText.includes('The KPI catalogue')", timeout=60)
    text = docs.evaluate("document.body.innerText")
    assert "The data flow" in text and "on_time_delivery_rate" in text
    assert docs.evaluate("[...document.querySelectorAll('a')].some(a => a.href === "
                         f"'{(folder / 'index.html').as_uri()}')")
    docs.evaluate("location.hash = '#!/model/model.opskpi.kpi_drivers_weekly'")
    docs.wait_until("document.body.innerText.includes('kpi_drivers_weekly')", timeout=30)
    docs.browser.pump(1.0)
    assert external_requests(docs.requests) == [] and docs.console_errors == []


def test_report_out_writes_a_complete_folder(report: Path, published_warehouse: Path, tmp_path: Path) -> None:
    """``opskpi report --out DIR``: the same folder anywhere (report, gate pages with GE's
    Data Docs, dbt docs), linked to each other by relative paths."""
    import os
    import subprocess
    import sys

    out = tmp_path / "elsewhere"
    done = subprocess.run([str(Path(sys.executable).with_name("opskpi")), "report", "--warehouse",
                           str(published_warehouse), "--out", str(out)],
                          capture_output=True, text=True, env=os.environ, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report written: {out / 'index.html'}"
    for rel in ("index.html", "quality/index.html", "quality/data-docs/index.html", "dbt-docs/index.html"):
        assert (out / rel).is_file(), rel
    html = (out / "index.html").read_text(encoding="utf-8")
    for rel in ("quality/index.html", "quality/data-docs/index.html", "dbt-docs/index.html"):
        assert f'href="{rel}"' in html, rel


def test_run_duration_is_the_one_opskpi_status_shows(report_page: Page, published_warehouse: Path) -> None:
    from flows.ops.status import run_seconds
    from flows.warehouse.history import read_runs
    from flows.warehouse.paths import state_paths

    runs = {r["run_id"]: r for r in read_runs(state_paths(published_warehouse))}
    shown = report_page.evaluate("""[...document.querySelectorAll('#runs tbody tr')].map(tr =>
        [tr.dataset.run, tr.querySelector('[data-seconds]').dataset.seconds])""")
    published = [(run, float(s)) for run, s in shown if runs.get(run, {}).get("outcome") == "published"]
    assert published
    for run, seconds in published:
        assert seconds == pytest.approx(run_seconds(runs[run]), abs=1e-3), run


# --- a stale feed ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stale_report(conformance_warehouse: Path, conformance_exports: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The conformance exports refreshed with an as-of date 8 months after their data."""
    from flows.refresh import EXIT_PUBLISHED, run_refresh

    warehouse = copy_published(conformance_warehouse, tmp_path_factory.mktemp("stale") / "ops.duckdb")
    code, message, _ = run_refresh(conformance_exports, warehouse, as_of=date(2026, 11, 27))
    assert code == EXIT_PUBLISHED, message
    return warehouse.parent / "report" / "index.html"


def test_a_stale_feed_says_so_at_the_top_and_opens_on_its_data(browser: Browser, stale_report: Path) -> None:
    warehouse = stale_report.parent.parent / "ops.duckdb"
    freshness = query(warehouse, "SELECT entity, newest_event_date FROM audit.data_freshness")
    latest = max(d for _, d in freshness)  # the freshest export (the facts run past 6 Mar)
    gap_days = (date(2026, 11, 27) - latest).days
    assert gap_days > 200
    page = open_report(browser, stale_report.as_uri())
    gap = page.evaluate("document.getElementById('trust-gap').textContent")
    latest_text = f"{latest.day} {latest:%b %Y}"
    assert "27 Nov 2026" in gap and latest_text in gap and f"{gap_days} days" in gap, gap
    assert "opens on" in gap
    stale = page.evaluate("document.getElementById('trust-stale').textContent")
    assert all(entity in stale for entity, _ in freshness), stale
    # the latest complete week the data covers, not the empty weeks up to the as-of date
    week = latest - timedelta(days=latest.weekday() + 7 * (latest.weekday() < 6))
    start = page.evaluate("document.getElementById('scorecard-period').dataset.periodStart")
    assert start == week.isoformat()
    assert "Nov" not in page.evaluate("document.getElementById('trends-period').textContent")
    month = (latest.replace(day=1) - timedelta(days=1)).replace(day=1) if latest.month == (
        latest + timedelta(days=1)).month else latest.replace(day=1)
    assert page.evaluate("document.getElementById('budget-period').textContent") == f"{month:%B %Y}"
    page.screenshot(ARTIFACTS / "report-stale.png")
    assert page.console_errors == [] and external_requests(page.requests) == []
