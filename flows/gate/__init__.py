"""The quality gate: may this build be published?

The checks live in ``expectations/*.yml`` (``checks``), each an ``error`` (blocks
publication) or a ``warning`` (published, reported). They run as one Great Expectations
checkpoint on the private build (``checkpoint``, with the DuckDB patch of
``gx_duckdb``) and come back as one result per check with the columns of
``audit.quality_results`` (``results``). The gate writes no HTML: its pages are the
report's (flows/report/gate_page.py).
"""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path

from flows.gate.checkpoint import build_data_docs, run_checkpoint
from flows.gate.checks import Check, load_checks, render_sql, sql_params, text_params
from flows.gate.results import GateResult, audit_row, one_line, result_of
from flows.settings import Settings

__all__ = ["Check", "GateResult", "load_checks", "run_quality_gate"]

logger = logging.getLogger(__name__)


def run_quality_gate(
    database: Path, *, as_of: date, run_id: str, settings: Settings, data_docs_dir: Path
) -> GateResult:
    """Run every check on ``database`` (opened read-only); GE's Data Docs of the run go to
    ``data_docs_dir``.

    The file must not be open for writing by anyone (DuckDB: one writer or many readers).
    """
    t0 = time.perf_counter()
    database = Path(database).resolve()
    if not database.exists():
        raise FileNotFoundError(database)
    checks = load_checks(settings.expectations_dir)
    params = sql_params(as_of, run_id, settings)
    texts = text_params(as_of, run_id, settings)
    queries = [render_sql(c, params) if c.kind != "row_count" else "" for c in checks]

    outcomes, table_rows, context = run_checkpoint(database, checks, queries, run_id)
    results = [
        audit_row(result_of(check, outcome, table_rows.get(check.table), run_id, texts))
        for check, outcome in zip(checks, outcomes, strict=True)
    ]
    gate = GateResult(results=results, sql=queries, as_of=as_of, run_id=run_id, database=database)
    t_docs = time.perf_counter()
    try:
        gate.data_docs_path = build_data_docs(context, Path(data_docs_dir))
    except Exception as exc:  # the verdict stands without its rendering; the page says why
        gate.data_docs_error = one_line(f"{type(exc).__name__}: {exc}")[:300]
        logger.warning("Great Expectations Data Docs not built: %s", gate.data_docs_error)
    gate.data_docs_seconds = round(time.perf_counter() - t_docs, 3)
    gate.seconds = round(time.perf_counter() - t0, 3)
    return gate
