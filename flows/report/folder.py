"""The report folder beside the warehouse: the KPI report (``index.html``), the quality
gate's pages of the published run (``quality/``) and the dbt docs (``dbt-docs/``).

Each part is replaced whole, so the folder always describes one publication. ``opskpi
report --out DIR`` writes the same complete folder anywhere, from the state folder's
copies of the gate pages and the docs page.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from flows.db import open_read_only
from flows.report.dbt_docs import DBT_DOCS_DIR, write_dbt_docs
from flows.report.kpi_report import write_report
from flows.warehouse.paths import StatePaths

QUALITY_DIR = "quality"


def publish_report(paths: StatePaths, out_dir: Path | None = None, *,
                   quality_docs: Path | None = None) -> Path:
    """Write the complete report folder of the published warehouse; return its index.

    ``quality_docs``: the gate's page folder of the publishing run (default: that of the
    run that published the file, found in the state folder).
    """
    out = Path(out_dir) if out_dir is not None else paths.report_dir
    out.mkdir(parents=True, exist_ok=True)
    docs_page = paths.dbt_dir / "docs" / "target" / "static_index.html"
    if docs_page.is_file():
        write_dbt_docs(docs_page, out / DBT_DOCS_DIR)
    gate_docs = quality_docs or _published_run_gate_docs(paths)
    if gate_docs is not None and gate_docs.is_dir():
        target = out / QUALITY_DIR
        staging = out / f".{QUALITY_DIR}.new"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(gate_docs, staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return write_report(paths.warehouse, out)


def _published_run_gate_docs(paths: StatePaths) -> Path | None:
    if not paths.warehouse.is_file():
        return None
    con = open_read_only(paths.warehouse)
    try:
        row = con.execute(
            "SELECT run_id FROM audit.runs WHERE outcome = 'published' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return paths.quality_reports_dir / row[0] if row else None
