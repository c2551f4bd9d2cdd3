"""The HTML report in a real browser: headless Debian Chromium, driven over CDP.

A warehouse is built once per session from the conformance exports (as of 2026-03-06),
its report written (with the dbt docs beside it), and the page loaded in Chromium with
the DevTools protocol recording every console message, exception, log entry and
request. The page must render with no error, fetch nothing but itself, and its
scorecard must show exactly what ``kpi.kpi_site_scorecard_weekly`` holds for the
latest complete week. A full-page screenshot is saved to ``tests/artifacts/report.png``.

The CDP client and the browser fixtures are in ``tests/support/cdp.py``.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.support.cdp import Browser, Page, external_requests

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AS_OF = date(2026, 3, 6)

pytestmark = pytest.mark.slow


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def published_warehouse(conformance_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy (published file and working state) of the session's conformance
    warehouse, so nothing another test does to that one can change what this compares."""
    target = tmp_path_factory.mktemp("published") / "ops.duckdb"
    shutil.copyfile(conformance_warehouse, target)
    (target.parent / ".ops.state").mkdir()
    shutil.copyfile(conformance_warehouse.parent / ".ops.state" / "work.duckdb",
                    target.parent / ".ops.state" / "work.duckdb")
    return target


@pytest.fixture(scope="session")
def report(published_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report folder of the published warehouse, with the dbt docs it links to."""
    from flows.build.docs import generate_docs
    from flows.report import publish_report
    from flows.warehouse.paths import state_paths

    paths = state_paths(published_warehouse)
    generate_docs(paths.work_db, AS_OF, paths.dbt_dir / "docs")
    return publish_report(paths)


@pytest.fixture(scope="session")
def report_page(browser: Browser, report: Path) -> Page:
    page = browser.new_page()
    page.call("Emulation.setDeviceMetricsOverride",
              {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    page.open(report.as_uri())
    page.wait_until("document.readyState === 'complete'")
    page.browser.pump(0.5)  # late console messages, if any
    return page


# --- tests --------------------------------------------------------------------------------

def test_report_renders_offline_without_console_errors(report_page: Page) -> None:
    assert report_page.console_errors == []
    assert external_requests(report_page.requests) == []
    assert report_page.requests and report_page.requests[0].startswith("file://")
    title = report_page.evaluate("document.title")
    assert title == "Operations KPI report · as of 6 Mar 2026"
    sections = report_page.evaluate(
        "[...document.querySelectorAll('main > section')].map(s => s.id)")
    assert sections == ["scorecard", "trends", "carriers", "vendors", "budget", "quality"]
    charts = report_page.evaluate("document.querySelectorAll('#trends svg.chart').length")
    assert charts == 29, "one weekly trend chart per KPI"
    report_page.screenshot(ARTIFACTS / "report.png")
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000


def _scorecard_rows(warehouse: Path) -> tuple[date, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        week = con.execute(
            """SELECT max(week_start) FROM kpi.kpi_site_scorecard_weekly
               WHERE week_start + INTERVAL 6 DAY <= $as_of""", {"as_of": AS_OF}
        ).fetchone()[0]
        rows = con.execute(
            """SELECT kpi, site_id, value, target, direction, status
               FROM kpi.kpi_site_scorecard_weekly WHERE week_start = $week""", {"week": week}
        ).fetchall()
    finally:
        con.close()
    return week, rows


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


_UNITS = {row.split(",")[0]: row.split(",")[3] for row in (
    Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "kpi_catalogue.csv"
).read_text(encoding="utf-8").splitlines()[1:]}


def test_scorecard_shows_the_values_in_the_warehouse(report_page: Page, published_warehouse: Path) -> None:
    week, rows = _scorecard_rows(published_warehouse)
    assert week == date(2026, 2, 23), "the latest complete ISO week on or before 2026-03-06"
    assert week + timedelta(days=6) <= AS_OF
    shown_week = report_page.evaluate("document.getElementById('scorecard-week').dataset.weekStart")
    assert shown_week == week.isoformat()
    assert report_page.evaluate("document.getElementById('scorecard-week').textContent") == (
        "Week 9 · 23 Feb – 1 Mar 2026")
    cells = report_page.evaluate(
        """[...document.querySelectorAll('#scorecard-table td.cell[data-status]')].map(td => ({
               kpi: td.dataset.kpi, site: td.dataset.site, value: JSON.parse(td.dataset.value),
               target: JSON.parse(td.dataset.target), status: td.dataset.status,
               cls: td.className, text: td.querySelector('.value').textContent.trim(),
               targetText: td.querySelector('.target').textContent.trim()}))""")
    shown = {(c["kpi"], c["site"]): c for c in cells}
    assert set(shown) == {(kpi, site) for kpi, site, *_ in rows}
    for kpi, site, value, target, direction, status in rows:
        cell = shown[(kpi, site)]
        assert cell["value"] == pytest.approx(value, rel=1e-12), (kpi, site)
        assert cell["target"] == pytest.approx(target, rel=1e-12), (kpi, site)
        assert cell["status"] == status and status in cell["cls"].split(), (kpi, site)
        assert cell["text"] == _expected_text(kpi, value), (kpi, site, cell["text"])
        sign = "≥" if direction == "higher_is_better" else "≤"
        assert cell["targetText"] == f"target {sign} {_expected_text(kpi, target)}", (kpi, site)
    colours = report_page.evaluate(
        """Object.fromEntries(['green', 'amber', 'red'].map(s => {
               const td = document.querySelector(`#scorecard-table td.cell.${s}`);
               return [s, td ? getComputedStyle(td).backgroundColor : null]; }))""")
    present = {status for *_, status in rows}
    assert len({colours[s] for s in present}) == len(present), f"statuses look alike: {colours}"


def test_report_sections_show_warehouse_rows(report_page: Page, published_warehouse: Path) -> None:
    con = duckdb.connect(str(published_warehouse), read_only=True)
    try:
        carriers = con.execute(
            "SELECT carrier_id, month_start, on_time_rate FROM kpi.kpi_carrier_monthly").fetchall()
        quarantined = con.execute(
            "SELECT entity, file, count(*) FROM audit.quarantine GROUP BY ALL").fetchall()
        latest_budget = con.execute(
            "SELECT count(*) FROM kpi.kpi_budget_monthly WHERE month_start = "
            "(SELECT max(month_start) FROM kpi.kpi_budget_monthly)").fetchone()[0]
    finally:
        con.close()
    shown = report_page.evaluate(
        """[...document.querySelectorAll('#carrier-table td.rate-cell[data-month]')].map(td =>
               [td.closest('tr').dataset.carrier, td.dataset.month, JSON.parse(td.dataset.value)])""")
    assert sorted((c, date.fromisoformat(m), v) for c, m, v in shown) == sorted(carriers)
    rows = report_page.evaluate(
        """Object.fromEntries([...document.querySelectorAll('#quarantine tbody tr')].map(tr =>
               [tr.dataset.entity + '|' + tr.dataset.file, tr.children[2].textContent.trim()]))""")
    assert rows == {f"{e}|{f}": f"{n:,}" for e, f, n in quarantined}
    open_budget = report_page.evaluate(
        "document.querySelectorAll('#budget details[open] tbody tr').length")
    assert open_budget == latest_budget


def test_dbt_docs_are_linked_and_work_offline(browser: Browser, report_page: Page, report: Path) -> None:
    href = report_page.evaluate(
        "[...document.querySelectorAll('nav a')].find(a => a.textContent.includes('dbt'))?.href")
    assert href == (report.parent / "dbt-docs" / "index.html").as_uri()
    page = browser.new_page()
    page.open(href + "#!/model/model.opskpi.fct_deliveries")
    page.wait_until("document.body.innerText.includes('fct_deliveries')", timeout=60)
    page.evaluate("location.hash = '#!/model/model.opskpi.kpi_daily'")
    page.wait_until("document.body.innerText.includes('kpi_daily')", timeout=30)
    page.browser.pump(1.0)
    assert external_requests(page.requests) == []
    assert page.console_errors == []
