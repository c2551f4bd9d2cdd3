"""Loading through a source mapping versus the same rows in the contract's own shape,
measured side by side in one run.

Generates an operation (default 10 sites x 90 days), writes the entities of each example
dialect (mappings/examples/) twice: in the dialect (SAP: Latin-1 ';' CSV with German
names, decimal commas, dd.mm.yyyy, status codes, an sql expression; NetSuite: XLSX with
a title block, a totals row, US dates, currency symbols) and in the contract's shape as
the same kind of file (CSV, or XLSX). Each folder is ingested into a fresh database,
alternately, ``--repeat`` times; the best time of each counts. Prints rows per second and
the ratio mapped / contract (the goal: at least 0.80). Asserts nothing: timings belong
in benchmarks, not in tests.

    PYTHONPATH=. .venv/bin/python bench/bench_mappings.py [--sites 10] [--days 90] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.dialects writes the dialects

from flows.db import connect  # noqa: E402
from flows.generate import generate_exports  # noqa: E402
from flows.ingest.load import ingest_exports  # noqa: E402
from flows.ingest.mappings import load_mappings  # noqa: E402
from tests.support.dialects import NETSUITE, SAP, Dialect, contract_csv, rewrite  # noqa: E402


def ingest(exports: Path, database: Path, mappings) -> tuple[float, int]:
    database.unlink(missing_ok=True)
    con = connect(database)
    t0 = time.perf_counter()
    summary = ingest_exports(con, exports, "bench", datetime.now(UTC), log=lambda _m: None,
                             mappings=mappings)
    seconds = time.perf_counter() - t0
    con.close()
    assert not summary.count("rejected") and not summary.rows_quarantined, summary.as_dict()
    return seconds, summary.rows_loaded


def as_xlsx(dialect: Dialect) -> Dialect:
    """The contract's shape written as plain XLSX (no title, no totals)."""
    from dataclasses import replace

    return replace(dialect, fmt="xlsx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=3, help="at most 3 (the example "
                        "mappings map three plants / locations)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", type=float, default=8.0, help="volume per site and day")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opskpi-bench-mappings-"))
    mappings, problems = load_mappings(ROOT / "mappings" / "examples")
    assert not problems, problems
    try:
        generated = work / "generated"
        generate_exports(generated, seed=3, sites=min(args.sites, 3), days=args.days,
                         start=date(2026, 1, 5), scale=args.scale)
        print(f"{'':<10} {'rows':>9} {'contract s':>11} {'mapped s':>9} "
              f"{'contract rows/s':>16} {'mapped rows/s':>14} {'ratio':>6}")
        for dialect in (SAP, NETSUITE):
            entities = list(dialect.extracts)
            plain = contract_csv(entities)
            if dialect.fmt == "xlsx":
                plain = as_xlsx(plain)
            folders = {"mapped": work / dialect.name, "contract": work / f"{dialect.name}-contract"}
            rewrite(generated, folders["mapped"], dialect, only_dialect=True)
            rewrite(generated, folders["contract"], plain, only_dialect=True)
            best = {"mapped": float("inf"), "contract": float("inf")}
            rows = {}
            for _ in range(args.repeat):
                for kind in ("contract", "mapped"):
                    seconds, rows[kind] = ingest(folders[kind], work / f"{kind}.duckdb", mappings)
                    best[kind] = min(best[kind], seconds)
            assert rows["mapped"] == rows["contract"], rows
            rate = {k: rows[k] / best[k] for k in best}
            print(f"{dialect.name:<10} {rows['mapped']:>9,} {best['contract']:>11.2f} "
                  f"{best['mapped']:>9.2f} {rate['contract']:>16,.0f} {rate['mapped']:>14,.0f} "
                  f"{rate['mapped'] / rate['contract']:>6.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
