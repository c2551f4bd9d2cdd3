"""raw → staging → facts → KPI marts: ``dbt build`` on the private build database.

dbt runs through prefect-dbt's runner, so every model, seed and test is its own Prefect
task run in the flow's logs, and a failing node names itself and its error. The
business rules live in ``dbt_project/``; Python only points dbt at the right file and
passes the run's as-of date.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flows.settings import get_settings


@dataclass(frozen=True)
class BuildResult:
    nodes: int
    failures: list[str]
    seconds: float


def dbt_environment(database: Path) -> dict[str, str]:
    """Environment dbt needs: the database file its profile opens, telemetry off."""
    return {
        "OPSKPI_DBT_DATABASE": str(Path(database).resolve()),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_args(command: str, as_of: date, full_refresh: bool, artifacts_dir: Path) -> list[str]:
    """Arguments of a dbt invocation for the run (vars, artifacts out of the source tree)."""
    args = [
        command,
        "--vars", json.dumps({"as_of": as_of.isoformat()}),
        "--target-path", str(artifacts_dir / "target"),
        "--log-path", str(artifacts_dir / "logs"),
    ]
    if full_refresh and command in ("build", "run"):
        args.append("--full-refresh")
    return args


def run_dbt_build(
    database: Path, as_of: date, full_refresh: bool, artifacts_dir: Path,
    project_dir: Path | None = None,
) -> BuildResult:
    """``dbt build`` (seeds, models, tests, unit tests) against ``database``.

    Raises ValueError naming every failed node and its message (prefect-dbt).
    """
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    project = project_dir or get_settings().dbt_project_dir
    os.environ.update(dbt_environment(database))
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    runner = PrefectDbtRunner(
        settings=PrefectDbtSettings(project_dir=project, profiles_dir=project),
        raise_on_failure=True,
    )
    result = runner.invoke(dbt_args("build", as_of, full_refresh, artifacts_dir))
    run = getattr(result, "result", None)
    results = list(getattr(run, "results", []) or [])
    failures = [
        f"{r.node.resource_type} {r.node.name}: {r.message}"
        for r in results
        if str(r.status) in ("error", "fail", "runtime error")
    ]
    return BuildResult(
        nodes=len(results), failures=failures, seconds=float(getattr(run, "elapsed_time", 0.0))
    )
