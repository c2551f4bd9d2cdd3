"""raw → staging → facts → KPI marts: ``dbt build`` on the private build database.

dbt runs through prefect-dbt's runner, so every model, seed and test is its own Prefect
task run in the flow's logs, and a failing node names itself and its error. The
business rules live in ``dbt_project/``; Python only points dbt at the right file and
passes the run's as-of date.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flows.settings import get_settings


@dataclass(frozen=True)
class BuildResult:
    nodes: int
    seconds: float
    full_refresh: bool
    full_refresh_reason: str | None


def project_fingerprint(project_dir: Path) -> str:
    """Hash of everything that decides what the models compute (SQL, macros, seeds,
    dbt_project.yml with its vars). Documentation YAML does not count.

    Incremental results are only valid for the code that built them: when this changes,
    the refresh rebuilds every model in full.
    """
    digest = hashlib.sha256()
    files = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds"):
        files += sorted(p for p in (project_dir / folder).rglob("*") if p.suffix in (".sql", ".csv"))
    for path in files:
        digest.update(path.relative_to(project_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def previous_build(database: Path) -> dict[str, str] | None:
    """The last complete build recorded in the database's meta.build_log, if any."""
    import duckdb

    if not Path(database).exists():
        return None
    con = duckdb.connect(str(database), read_only=True)
    try:
        columns = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'meta' AND table_name = 'build_log'"
            ).fetchall()
        }
        if not columns:
            return None
        fingerprint = "fingerprint" if "fingerprint" in columns else "NULL"
        row = con.execute(
            f"SELECT {fingerprint}, cast(as_of AS VARCHAR) FROM meta.build_log "
            "ORDER BY built_at DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return {"fingerprint": row[0], "as_of": row[1]} if row else None


def dbt_environment(database: Path) -> dict[str, str]:
    """Environment dbt needs: the database file its profile opens, telemetry off."""
    return {
        "OPSKPI_DBT_DATABASE": str(Path(database).resolve()),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_args(
    command: str, as_of: date, full_refresh: bool, artifacts_dir: Path, project_dir: Path | None = None
) -> list[str]:
    """Arguments of a dbt invocation for the run (vars, artifacts out of the source tree)."""
    fingerprint = project_fingerprint(project_dir or get_settings().dbt_project_dir)
    args = [
        command,
        "--vars", json.dumps({"as_of": as_of.isoformat(), "opskpi_fingerprint": fingerprint}),
        "--target-path", str(artifacts_dir / "target"),
        "--log-path", str(artifacts_dir / "logs"),
    ]
    if full_refresh and command in ("build", "run"):
        args.append("--full-refresh")
    if command == "build":
        # Unit tests check the SQL, not the data: they run in CI (tests/test_dbt_unit.py),
        # as dbt recommends, not in every nightly refresh.
        args += ["--exclude", "resource_type:unit_test"]
    return args


def run_dbt_build(
    database: Path, as_of: date, full_refresh: bool, artifacts_dir: Path,
    project_dir: Path | None = None,
) -> BuildResult:
    """``dbt build`` (seeds, models, tests, unit tests) against ``database``.

    Raises ValueError naming every failed node and its message (prefect-dbt).
    """
    settings = get_settings()
    project = project_dir or settings.dbt_project_dir
    # Incremental results are only valid for the code that built them.
    reason = None
    if not full_refresh:
        previous = previous_build(database)
        if previous is None:
            reason = "first build"  # every model is built from scratch anyway
        elif previous["fingerprint"] != project_fingerprint(project):
            reason, full_refresh = "the dbt project changed since the previous build", True
    os.environ.update(dbt_environment(database))
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    args = dbt_args("build", as_of, full_refresh, artifacts_dir, project)
    if settings.dbt_task_per_node:
        result = _invoke_with_prefect_tasks(project, args)
    else:
        result = _invoke_logging_nodes(project, args)
    run = getattr(result, "result", None)  # both runners raise on any failed node
    return BuildResult(
        nodes=len(getattr(run, "results", []) or []), seconds=float(getattr(run, "elapsed_time", 0.0)),
        full_refresh=full_refresh, full_refresh_reason=reason,
    )


def _invoke_with_prefect_tasks(project: Path, args: list[str]):
    """prefect-dbt's runner: one Prefect task run per dbt node; raises on any failure,
    naming each failed node and its message."""
    from dbt_common.events.base_types import EventLevel
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    runner = PrefectDbtRunner(
        # dbt's own level, not derived from Prefect's (PREFECT_LOGGING_LEVEL=WARNING
        # would map to 'warning', which is not a dbt level)
        settings=PrefectDbtSettings(project_dir=project, profiles_dir=project, log_level=EventLevel.INFO),
        raise_on_failure=True,
    )
    return runner.invoke(args)


#: dbt events that report one node each (start, result), shown in the run log.
_NODE_EVENTS = {
    "LogStartLine", "LogModelResult", "LogTestResult", "LogSeedResult", "LogHookEndLine",
    "RunResultError", "RunResultFailure", "RunResultWarning", "RunResultErrorNoMessage",
}


def _invoke_logging_nodes(project: Path, args: list[str]):
    """dbt's own runner in one task; each node's start and result line goes to the Prefect
    run log as it happens. Raises like prefect-dbt when a node fails."""
    import logging

    from dbt.cli.main import dbtRunner

    try:
        from prefect import get_run_logger

        logger = get_run_logger()
    except Exception:  # outside a flow (e.g. dbt-level tests)
        logger = logging.getLogger("opskpi.dbt")

    def on_event(event) -> None:
        if event.info.name in _NODE_EVENTS:
            level = {"error": logging.ERROR, "warn": logging.WARNING}.get(event.info.level, logging.INFO)
            logger.log(level, event.info.msg)

    result = dbtRunner(callbacks=[on_event]).invoke(
        [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--log-level", "none"]
    )
    if result.exception is not None:
        raise ValueError(f"Failed to invoke dbt command '{' '.join(args)}': {result.exception}")
    failed = [
        f"{r.node.resource_type.title()} '{r.node.name}' {r.status}: {r.message}"
        for r in (getattr(result.result, "results", None) or [])
        if str(r.status) in ("error", "fail", "runtime error")
    ]
    if failed:
        raise ValueError(
            f"Failures detected during invocation of dbt command '{' '.join(args)}':\n" + "\n".join(failed)
        )
    return result
