"""Ingestion throughput and the value of incremental builds, measured side by side.

Generates an operation (default 10 sites x 180 days), then a week later the same
operation's exports (the last month's files are re-delivered with the new week in
them). Measures, in one run on the same machine:

- ingestion of the first delivery (rows per second);
- dbt build of the later delivery, incremental (on top of the first build) versus a full
  rebuild from the same raw data.

Prints ratios; asserts nothing (timings belong in benchmarks, not tests).

    .venv/bin/python bench/bench_refresh.py [--sites 10] [--days 180]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("OPSKPI_DBT_TASK_PER_NODE", "false")  # dbt's own runner, no Prefect server

from flows.build import run_dbt_build
from flows.db import connect
from flows.generate import generate_exports
from flows.ingest.load import ingest_exports


def ingest(database: Path, exports: Path, run_id: str) -> tuple[float, int]:
    con = connect(database)
    t0 = time.perf_counter()
    summary = ingest_exports(con, exports, run_id, datetime.now(UTC), log=lambda _m: None)
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - t0
    con.close()
    return seconds, summary.rows_loaded + summary.rows_quarantined


def build(database: Path, as_of: date, full: bool, artifacts: Path) -> tuple[float, float]:
    """(wall seconds, seconds dbt spent executing the incremental models themselves)."""
    t0 = time.perf_counter()
    run_dbt_build(database, as_of, full, artifacts)
    wall = time.perf_counter() - t0
    results = json.loads((artifacts / "target" / "run_results.json").read_text())["results"]
    incremental = sum(
        r["execution_time"] for r in results
        if r["unique_id"].split(".")[-1] in INCREMENTAL_MODELS
    )
    return wall, incremental


#: the models built incrementally (staging of the big entities and the four big facts)
INCREMENTAL_MODELS = {
    "stg_erp__order_lines", "stg_wms__shipments", "stg_erp__purchase_order_lines",
    "stg_wms__goods_receipts", "stg_erp__invoice_lines", "stg_hr__timesheets",
    "fct_deliveries", "fct_order_lines", "fct_spend", "fct_labor",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--scale", type=float, default=1.0, help="volume per site and day")
    args = parser.parse_args()
    start = date(2026, 1, 5)
    work = Path(tempfile.mkdtemp(prefix="opskpi-bench-"))
    try:
        first, later = work / "first", work / "later"
        generate_exports(first, seed=1, sites=args.sites, days=args.days, start=start,
                         scale=args.scale)
        generate_exports(later, seed=1, sites=args.sites, days=args.days + 7, start=start,
                         scale=args.scale)
        as_of_first = start + timedelta(days=args.days - 1)
        as_of_later = as_of_first + timedelta(days=7)

        inc_db = work / "incremental.duckdb"
        t_ingest, rows = ingest(inc_db, first, "first")
        t_first_build, _ = build(inc_db, as_of_first, False, work / "art-inc")
        t_ingest_more, more_rows = ingest(inc_db, later, "later")
        full_db = work / "full.duckdb"
        shutil.copyfile(inc_db, full_db)  # the same raw data, to be rebuilt from scratch
        t_incremental, m_incremental = build(inc_db, as_of_later, False, work / "art-inc")
        t_full, m_full = build(full_db, as_of_later, True, work / "art-full")

        print(f"operation: {args.sites} sites x {args.days} days (volume x{args.scale}), "
              "then one more week (the current month's files are re-delivered)")
        print(f"ingestion: {rows:,} rows in {t_ingest:.1f} s = {rows / t_ingest:,.0f} rows/s "
              f"(second delivery: {more_rows:,} rows re-read in {t_ingest_more:.1f} s)")
        print(f"first build (everything): {t_first_build:.1f} s")
        print(f"one week later, whole dbt build: incremental {t_incremental:.1f} s vs full "
              f"rebuild {t_full:.1f} s -> incremental/full = {t_incremental / t_full:.2f} "
              "(includes dbt's fixed cost per node, tests and the KPI marts)")
        print(f"one week later, the 10 incremental models: {m_incremental:.2f} s vs "
              f"{m_full:.2f} s -> incremental/full = {m_incremental / m_full:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
