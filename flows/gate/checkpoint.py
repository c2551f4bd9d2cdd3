"""Running the checks as one Great Expectations checkpoint on the DuckDB file.

One suite and validation definition per table, every check SQL
(``UnexpectedRowsExpectation``: the rows a query returns are the findings) plus GE's row
count per table; the computation runs inside DuckDB (read-only), never in pandas. GE's
own Data Docs of the run (suites and validation results) are built from the same
context; flows/report/gx_docs.py makes them work offline.

Great Expectations takes seconds to import: it is imported inside these functions only.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

from flows.gate.checks import Check
from flows.gate.results import one_line

_DATASOURCE = "warehouse"
_DATA_DOCS_SITE = "opskpi"

logger = logging.getLogger(__name__)


def run_checkpoint(
    database: Path, checks: list[Check], queries: list[str], run_id: str
) -> tuple[list[dict], dict[str, int], Any]:
    """One GE checkpoint. Returns per check {success, observed_value, rows} or {error},
    the row count of each table, and the (ephemeral) context holding the suites and
    validation results."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from flows.gate import gx_duckdb

    gx_duckdb.install()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_sql(
        name=_DATASOURCE,
        connection_string=f"duckdb:///{database}",
        kwargs={"connect_args": {"read_only": True, "config": {
            "autoinstall_known_extensions": False, "TimeZone": "UTC"}}},
    )
    outcomes: list[dict] = [{} for _ in checks]
    by_table: dict[str, list[int]] = {}
    for i, c in enumerate(checks):
        by_table.setdefault(c.table, []).append(i)

    E = gx.expectations
    severity = {"error": "critical", "warning": "warning"}
    validations = []
    try:
        for table, idxs in by_table.items():
            schema, name = table.split(".", 1)
            try:
                with warnings.catch_warnings():
                    # schema_name is deprecated in GE 1.14+ for dialects that put the
                    # schema in the URL; a DuckDB URL cannot, and the argument works.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    asset = datasource.add_table_asset(name=table, table_name=name, schema_name=schema)
            except Exception as exc:  # GE tests the table when the asset is added
                missing = "does not exist" in str(exc) or "not found" in str(exc)
                problem = f"table {table} not found" if missing else f"{table}: {one_line(str(exc))}"
                for i in idxs:
                    outcomes[i] = {"error": problem}
                continue
            # named after the table: Data Docs pages are validations/<schema>/<table>/...
            suite = context.suites.add(gx.ExpectationSuite(name=table))
            counted = False
            for i in idxs:
                c = checks[i]
                meta = {"opskpi_check": i, "table": table, "suite": c.suite}
                if c.kind == "row_count":
                    counted = True
                    exp = E.ExpectTableRowCountToBeBetween(
                        min_value=c.min_rows, meta=meta, description=c.name,
                        severity=severity[c.severity])
                else:
                    exp = E.UnexpectedRowsExpectation(
                        unexpected_rows_query=queries[i], meta=meta,
                        description=f"{c.name}: {c.description}", severity=severity[c.severity])
                suite.add_expectation(exp)
            if not counted:  # the "of N rows" of row checks
                suite.add_expectation(E.ExpectTableRowCountToBeBetween(
                    min_value=0, meta={"opskpi_check": -1, "table": table}))
            validations.append(context.validation_definitions.add(gx.ValidationDefinition(
                name=f"opskpi {table}", data=asset.add_batch_definition_whole_table("whole table"),
                suite=suite)))
        if validations:
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name="opskpi quality gate", validation_definitions=validations,
                result_format={"result_format": "COMPLETE"}))
            run = checkpoint.run(run_id=RunIdentifier(run_name=run_id))
            table_rows = _collect(run, checks, outcomes)
        else:
            table_rows = {}
    finally:
        _close(datasource)
    return outcomes, table_rows, context


def _collect(run, checks: list[Check], outcomes: list[dict]) -> dict[str, int]:
    """Fill ``outcomes`` from the checkpoint's results; return the row count per table."""
    table_rows: dict[str, int] = {}
    for validation in run.run_results.values():
        for r in validation.results:
            meta = r.expectation_config.meta or {}
            i, res = meta.get("opskpi_check"), r.result or {}
            if (r.expectation_config.type == "expect_table_row_count_to_be_between"
                    and isinstance(res.get("observed_value"), int)):
                table_rows[meta.get("table", "")] = res["observed_value"]
            if not isinstance(i, int) or i < 0:
                continue
            err = _exception_message(r.exception_info)
            outcomes[i] = {"error": err} if err else {
                "success": bool(r.success), "observed_value": res.get("observed_value"),
                "rows": (res.get("details") or {}).get("unexpected_rows") or []}
    return table_rows


def _exception_message(info: Any) -> str:
    """GE reports an exception either directly or keyed by the metric that raised it."""
    if not info:
        return ""
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            return one_line(item.get("exception_message") or "exception")[:300]
    return ""


def _close(datasource) -> None:
    """Close GE's kept-open DuckDB connection (the patch keeps one per engine)."""
    for get in (datasource.get_execution_engine, datasource.get_engine):
        try:
            obj = get()
            engine = getattr(obj, "engine", obj)
            conn = getattr(obj, "_connection", None)
            if conn is not None:
                conn.close()
            engine.dispose()
        except Exception:  # closing is best effort; the process ends soon anyway
            pass


def build_data_docs(context, site: Path) -> Path:
    """Build GE's Data Docs of ``context`` (its suites and validation results) into the
    folder ``site``. Returns the site's ``index.html``."""
    if site.exists():
        shutil.rmtree(site)  # only this run's pages
    context.add_data_docs_site(_DATA_DOCS_SITE, {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,  # GE's walkthrough and links to its online docs
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    context.build_data_docs(site_names=[_DATA_DOCS_SITE])
    index = site / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"Great Expectations wrote no {index}")
    return index


