"""The nightly refresh, as a Prefect flow: ingest → build → check → publish → record.

Write-audit-publish: everything is written into a private build database (a copy of the
last published working state); only when every step has passed is the published file
replaced, atomically. A blocked, failed or killed run leaves the published file and the
working state exactly as they were.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

from flows.build import run_dbt_build
from flows.db import connect
from flows.ingest.load import ingest_exports
from flows.notify import notify_unpublished
from flows.publish import replace_published, write_published_copy
from flows.settings import Settings, get_settings
from flows.state import (
    RefreshBusy,
    StatePaths,
    append_run,
    commit_build,
    read_runs,
    refresh_lock,
    start_private_build,
    state_paths,
    write_quality_results,
)

EXIT_PUBLISHED, EXIT_FAILED, EXIT_BLOCKED, EXIT_BUSY = 0, 1, 2, 3


class PublicationBlocked(RuntimeError):
    """The quality gate found an error-level problem; nothing was published."""


@dataclass
class RunRecord:
    """One refresh, as kept in the run history and ``audit.runs``."""

    run_id: str
    as_of_date: date
    started_at: datetime
    exports_dir: str
    full_refresh: bool
    finished_at: datetime | None = None
    outcome: str = "running"
    reason: str | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    rows_published: dict[str, int] = field(default_factory=dict)
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    prefect_flow_run_id: str | None = None
    quality_report: str | None = None
    report: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


# --- steps -------------------------------------------------------------------------------

@task(name="prepare private build", retries=2, retry_delay_seconds=2)
def prepare_build(paths: StatePaths) -> Path:
    """Copy the last published working state into a fresh private build database."""
    return start_private_build(paths)


@task(name="ingest exports", retries=2, retry_delay_seconds=5)
def ingest(build_db: Path, exports_dir: Path, run_id: str, now: datetime) -> dict[str, int]:
    """exports → raw: files judged and loaded into the private build (per-file transactions,
    so a retry after a transient fault continues where it stopped)."""
    logger = get_run_logger()
    con = connect(build_db)
    try:
        summary = ingest_exports(con, exports_dir, run_id, now, log=logger.info)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    counts = summary.as_dict()
    logger.info("ingestion: %s", counts)
    return counts


@task(name="dbt build")
def build(build_db: Path, as_of: date, full_refresh: bool, artifacts_dir: Path) -> dict[str, Any]:
    """raw → staging → facts → KPI marts, with dbt's data tests (each node a Prefect task,
    or a line of this task's log: OPSKPI_DBT_TASK_PER_NODE). Not retried: a failing model
    or test fails the same way twice."""
    result = run_dbt_build(build_db, as_of, full_refresh, artifacts_dir)
    mode = "full" if result.full_refresh or result.full_refresh_reason else "incremental"
    why = f": {result.full_refresh_reason}" if result.full_refresh_reason and not full_refresh else ""
    get_run_logger().info("dbt build (%s%s): %d nodes in %.1f s", mode, why, result.nodes, result.seconds)
    return {"nodes": result.nodes, "seconds": result.seconds, "full_refresh": result.full_refresh}


#: HTML pages of the last gate runs kept in the state folder (~4 MB each); the results
#: of every run stay in the run history and audit.quality_results.
QUALITY_REPORTS_KEPT = 20


def prune_quality_reports(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest per-run gate pages (run ids sort by time)."""
    import shutil

    for old in sorted(p for p in folder.iterdir() if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


@task(name="quality gate")
def check(build_db: Path, record: RunRecord, settings: Settings, paths: StatePaths) -> dict[str, Any]:
    """Great Expectations suites of expectations/ on the private build (SQL in DuckDB).

    Results are kept in the run history whatever the outcome; an error-level failure
    blocks publication."""
    from flows.quality import run_quality_gate

    reports = paths.root / "quality-reports"
    gate = run_quality_gate(
        build_db, as_of=record.as_of_date, run_id=record.run_id, settings=settings,
        docs_dir=reports / record.run_id,
    )
    prune_quality_reports(reports, keep=QUALITY_REPORTS_KEPT)
    write_quality_results(paths, record.run_id, gate.results)
    logger = get_run_logger()
    for r in gate.warnings:
        logger.warning("quality warning %s on %s: %s", r["check"], r["table_name"], r["observed"])
    for r in gate.errors:
        logger.error("quality ERROR %s on %s: %s", r["check"], r["table_name"], r["observed"])
    logger.info("quality gate: %d checks, %d errors, %d warnings (%s)",
                len(gate.results), len(gate.errors), len(gate.warnings), gate.docs_path)
    return {
        "blocked": gate.blocked,
        "reason": gate.reason(),
        "errors": [f"{r['suite']}.{r['check']}" for r in gate.errors],
        "warnings": [f"{r['suite']}.{r['check']}" for r in gate.warnings],
        "docs": str(gate.docs_path),
    }


@task(name="publish", retries=2, retry_delay_seconds=2)
def publish(paths: StatePaths, record: RunRecord) -> dict[str, int]:
    """Write the published copy beside the warehouse and swap it in atomically; then the
    private build becomes the working state for the next run."""
    published = {**record.as_dict(), "outcome": "published", "finished_at": datetime.now(UTC)}
    rows = write_published_copy(paths.build_db, paths.publish_tmp, paths, published)
    replace_published(paths.publish_tmp, paths.warehouse)
    commit_build(paths)
    get_run_logger().info("published %s (%d tables)", paths.warehouse, len(rows))
    return rows


@task(name="report and docs", retries=1, retry_delay_seconds=2)
def write_report_and_docs(paths: StatePaths, record: RunRecord, quality_docs: str | None) -> str:
    """After a publish: the KPI report, dbt docs and quality report beside the warehouse.

    dbt docs read the catalog of the (now committed) working database, which nobody else
    writes while the refresh holds its lock."""
    import shutil

    from flows.report import write_report
    from flows.report.build import DBT_DOCS_DIR
    from flows.report.dbt_docs import generate_dbt_docs

    report_dir = paths.warehouse.parent / "report"
    generate_dbt_docs(paths.work_db, record.as_of_date, report_dir / DBT_DOCS_DIR, paths.root / "dbt")
    if quality_docs:  # this run's gate pages replace the previous ones
        shutil.rmtree(report_dir / "quality", ignore_errors=True)
        shutil.copytree(Path(quality_docs).parent, report_dir / "quality")
    index = write_report(paths.warehouse, report_dir)
    get_run_logger().info("report: %s", index)
    return str(index)


# --- the flow ----------------------------------------------------------------------------

@flow(name="opskpi-refresh", log_prints=True, validate_parameters=False)
def refresh_flow(
    exports_dir: str,
    warehouse: str,
    as_of: date | None = None,
    full_refresh: bool = False,
    state_dir: str | None = None,
) -> dict[str, Any]:
    """Refresh the warehouse from the exports folder; returns the run record."""
    settings = get_settings()
    now = datetime.now(UTC)
    paths = state_paths(Path(warehouse), Path(state_dir) if state_dir else settings.state_dir)
    record = RunRecord(
        run_id=new_run_id(now),
        as_of_date=as_of or now.date(),
        started_at=now,
        exports_dir=str(Path(exports_dir).resolve()),
        full_refresh=full_refresh,
        prefect_flow_run_id=str(flow_run.get_id() or ""),
    )
    logger = get_run_logger()
    logger.info("refresh %s as of %s: %s → %s", record.run_id, record.as_of_date,
                record.exports_dir, paths.warehouse)
    with refresh_lock(paths, settings.lock_timeout_seconds):
        try:
            _run_steps(paths, record, settings, now)
            record.outcome = "published"
        except PublicationBlocked as exc:
            record.outcome, record.reason = "blocked", str(exc)
        except Exception as exc:
            record.outcome, record.reason = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record.finished_at = datetime.now(UTC)
            append_run(paths, record.as_dict())
            logger.info("refresh %s: %s%s", record.run_id, record.outcome,
                        f" ({record.reason})" if record.reason else "")
            if record.outcome != "published":
                notify_unpublished(record.as_dict(), settings.notify_command, logger)
    if record.outcome == "blocked":
        raise PublicationBlocked(record.reason)
    return record.as_dict()


def _run_steps(paths: StatePaths, record: RunRecord, settings: Settings, now: datetime) -> None:
    def timed(name: str, fn, *args):
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            record.step_seconds[name] = round(time.perf_counter() - t0, 3)

    build_db = timed("prepare", prepare_build, paths)
    record.files = timed("ingest", ingest, build_db, Path(record.exports_dir), record.run_id, now)
    timed("build", build, build_db, record.as_of_date, record.full_refresh, paths.root / "dbt")
    gate = timed("check", check, build_db, record, settings, paths)
    record.checks_failed, record.checks_warned = gate["errors"], gate["warnings"]
    record.quality_report = gate["docs"]
    if gate["blocked"]:
        raise PublicationBlocked(f"quality gate: {gate['reason']}")
    record.rows_published = timed("publish", publish, paths, record)
    try:
        record.report = timed("report", write_report_and_docs, paths, record, gate["docs"])
    except Exception as exc:  # the warehouse is published; a missing page is not a failed run
        get_run_logger().warning("report not written: %s", exc)


# --- entry point used by the CLI and tests ------------------------------------------------

def run_refresh(
    exports_dir: Path,
    warehouse: Path,
    as_of: date | None = None,
    full_refresh: bool = False,
    state_dir: Path | None = None,
) -> tuple[int, str, dict[str, Any] | None]:
    """Run the flow; return (exit code, one-line message, run record or None)."""
    state = refresh_flow(
        str(exports_dir), str(warehouse), as_of, full_refresh,
        str(state_dir) if state_dir else None, return_state=True,
    )
    paths = state_paths(warehouse, state_dir)
    if state.is_completed():
        rec = state.result()
        report = f"; report: {rec['report']}" if rec.get("report") else ""
        return EXIT_PUBLISHED, (
            f"published {paths.warehouse} (run {rec['run_id']}, as of {rec['as_of_date']}){report}; "
            f"open it read-only: duckdb -readonly {paths.warehouse}; "
            f"state: opskpi status --warehouse {paths.warehouse}"
        ), rec
    exc = state.result(raise_on_failure=False)
    if isinstance(exc, PublicationBlocked):
        last = (read_runs(paths) or [{}])[-1]
        where = last.get("quality_report") or f"opskpi status --warehouse {paths.warehouse}"
        return EXIT_BLOCKED, (
            f"BLOCKED: nothing published, {paths.warehouse} unchanged. {exc} (details: {where})"
        ), None
    if isinstance(exc, RefreshBusy):
        return EXIT_BUSY, f"BUSY: {exc}", None
    return EXIT_FAILED, (
        f"FAILED: nothing published, {paths.warehouse} unchanged. {exc} "
        f"(run log above; history: opskpi status --warehouse {paths.warehouse})"
    ), None
