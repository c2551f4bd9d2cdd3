"""raw → staging → facts → KPI marts: ``dbt build`` on the private build database.

dbt owns the business rules (``dbt_project/``); this package only points dbt at the right
file, decides between a full and an incremental build (``mode``), and runs it through
the one dbt runner (``dbt``). ``docs`` generates the project's documentation page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flows.build.dbt import DbtFailed, DbtResult, invoke_dbt
from flows.build.mode import BuildMode, decide_mode, project_fingerprint
from flows.settings import get_settings

__all__ = ["BuildResult", "DbtFailed", "DbtResult", "build_models", "dbt_build_command", "invoke_dbt"]


@dataclass(frozen=True)
class BuildResult:
    nodes: int
    seconds: float
    full_refresh: bool
    reason: str  # why full or incremental


def dbt_build_command(full_refresh: bool, *, with_unit_tests: bool = False,
                      with_data_tests: bool = True) -> list[str]:
    """``dbt build`` arguments. Unit tests check the SQL, not the data: they run in CI
    (tests/test_dbt_unit.py), as dbt recommends, not in every nightly refresh."""
    command = ["build"]
    if full_refresh:
        command.append("--full-refresh")
    excluded = [] if with_unit_tests else ["resource_type:unit_test"]
    if not with_data_tests:
        excluded.append("resource_type:test")
    if excluded:
        command += ["--exclude", *excluded]
    return command


def build_models(
    database: Path,
    as_of: date,
    artifacts_dir: Path,
    *,
    full_refresh: bool = False,
    dbt_vars: dict | None = None,
    project_dir: Path | None = None,
    per_node_tasks: bool | None = None,
    with_data_tests: bool = True,
) -> BuildResult:
    """Build every model, seed and data test of the project on ``database`` as of ``as_of``.

    Raises :class:`DbtFailed` naming every failed node.
    """
    settings = get_settings()
    project = Path(project_dir or settings.dbt_project_dir)
    fingerprint = project_fingerprint(project, dbt_vars)
    mode: BuildMode = decide_mode(database, fingerprint, full_refresh)
    result = invoke_dbt(
        dbt_build_command(mode.full_refresh, with_data_tests=with_data_tests),
        database, artifacts_dir, as_of=as_of, project_dir=project,
        dbt_vars={**(dbt_vars or {}), "opskpi_fingerprint": fingerprint},
        per_node_tasks=settings.dbt_task_per_node if per_node_tasks is None else per_node_tasks,
    )
    return BuildResult(result.nodes, result.seconds, mode.full_refresh, mode.reason)
