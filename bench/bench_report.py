"""The KPI report at scale: its size, and how fast it loads and answers in Chromium.

Needs a published warehouse. Either pass one (``--warehouse``), or let the script make
one: ``opskpi generate --sites S --days D --scale X`` then ``opskpi refresh`` (50 sites ×
1095 days at scale 1 took about an hour on the 2-core machine; see the figures printed).

Measures, in headless Debian Chromium over CDP (tests/support/cdp.py):

- the time to write the report folder's index.html and its size (and its embedded data);
- load: navigation until the page has drawn every section (``data-ready``);
- interactions: another week, a month, one site only, all sites again, a cell's drivers.

Prints one JSON document; asserts nothing (timings belong in benchmarks, not tests).

    .venv/bin/python bench/bench_report.py --warehouse data/warehouse/ops.duckdb
    .venv/bin/python bench/bench_report.py --sites 50 --days 1095 --scale 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_warehouse(sites: int, days: int, scale: float, work: Path) -> tuple[Path, dict]:
    """Generate exports and refresh them into a published warehouse (timed)."""
    opskpi = str(Path(sys.executable).with_name("opskpi"))
    exports, warehouse = work / "exports", work / "wh" / "ops.duckdb"
    t0 = time.perf_counter()
    subprocess.run([opskpi, "generate", "--out", str(exports), "--sites", str(sites), "--days", str(days),
                    "--scale", str(scale), "--report", str(work / "generated.json")], check=True)
    generated = time.perf_counter() - t0
    env = {**os.environ, "OPSKPI_DBT_TASK_PER_NODE": "false"}
    t0 = time.perf_counter()
    subprocess.run([opskpi, "refresh", "--exports", str(exports), "--warehouse", str(warehouse)],
                   check=True, env=env)
    return warehouse, {"generate_seconds": round(generated, 1),
                       "refresh_seconds": round(time.perf_counter() - t0, 1)}


def measure(warehouse: Path, out: Path) -> dict:
    from flows.report import write_report
    from flows.report.data import read_report_data
    from tests.support.cdp import Browser

    t0 = time.perf_counter()
    data = read_report_data(warehouse)
    read_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    page_path = write_report(warehouse, out)
    write_seconds = time.perf_counter() - t0
    payload = {k: len(json.dumps(v, default=str)) for k, v in data.payload.items()}
    drivers = sum(len(c or "") for g in ("week", "month") for c in data.payload[g]["drivers"])
    figures = {
        "sites": len(data.sites) - 1, "weeks": len(data.payload["week"]["periods"]),
        "months": len(data.payload["month"]["periods"]), "kpis": len(data.payload["kpis"]),
        "read_seconds": round(read_seconds, 2), "write_seconds": round(write_seconds, 2),
        "page_bytes": page_path.stat().st_size,
        "embedded_json_bytes_by_part": payload, "drivers_gzip_base64_bytes": drivers,
    }
    browser = Browser(Path("/usr/bin/chromium"), Path(tempfile.mkdtemp(prefix="bench-chromium-")))
    try:
        page = browser.new_page()
        page.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        t0 = time.perf_counter()
        page.open(page_path.as_uri(), timeout=300)
        page.wait_until("document.documentElement.dataset.ready === '1'", timeout=300)
        figures["load_seconds"] = round(time.perf_counter() - t0, 2)
        page.wait_until("document.documentElement.dataset.charts === '1'", timeout=300)
        figures["load_with_charts_seconds"] = round(time.perf_counter() - t0, 2)
        heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0")
        figures["js_heap_mb"] = round(heap / 1e6, 1)

        def timed(name: str, script: str) -> None:
            t = time.perf_counter()
            page.evaluate(f"(async () => {{ {script}; await window.opskpi.update(); }})()")
            page.wait_until("document.documentElement.dataset.ready === '1'", timeout=300)
            figures[f"{name}_seconds"] = round(time.perf_counter() - t, 3)
            page.wait_until("document.documentElement.dataset.charts === '1'", timeout=300)
            figures[f"{name}_with_charts_seconds"] = round(time.perf_counter() - t, 3)

        weeks = data.payload["week"]["periods"]
        timed("another_week", f"window.opskpi.state.period = '{weeks[len(weeks) // 2]}'")
        timed("month", "document.getElementById('grain-month').click()")
        timed("week_again", "document.getElementById('grain-week').click()")
        first = data.sites[1].site_id if len(data.sites) > 1 else "ALL"
        timed("one_site", f"window.opskpi.state.sites = new Set(['{first}'])")
        timed("all_sites", "window.opskpi.state.sites = new Set(window.opskpi.data.sites.map(s => s.id))")
        t = time.perf_counter()
        page.evaluate("(document.querySelector('#scorecard-table td.cell.red') || "
                      "document.querySelector('#scorecard-table td.cell[data-value]')).click()")
        figures["drivers_panel_seconds"] = round(time.perf_counter() - t, 3)
        figures["cells_on_screen"] = page.evaluate(
            "document.querySelectorAll('#scorecard-table td.cell').length")
        figures["section_ms_last_choices"] = page.evaluate("window.opskpi.timings.slice(-3)")
        figures["console_errors"] = page.console_errors[:5]
    finally:
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, help="a published warehouse (else one is generated)")
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--days", type=int, default=1095)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, help="report folder (default: a temporary one)")
    args = parser.parse_args()
    import flows  # noqa: F401  (telemetry off)

    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    made: dict = {}
    warehouse = args.warehouse
    if warehouse is None:
        warehouse, made = make_warehouse(args.sites, args.days, args.scale, work)
    figures = measure(warehouse, args.out or work / "report")
    print(json.dumps({"warehouse": str(warehouse), **made, **figures}, indent=1))


if __name__ == "__main__":
    main()
