"""The real dbt project, run in-process through the pipeline's one dbt runner, for the
dbt-level tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows.build import build_models, invoke_dbt
from flows.db import connect
from flows.ingest.load import ensure_schema


def dbt_build(
    database: Path, as_of: date, artifacts: Path, *, full_refresh: bool = False,
    with_tests: bool = False, extra_vars: dict | None = None, project_dir: Path | None = None,
) -> None:
    """``dbt build`` of the project against ``database`` (full or incremental, decided as
    in the refresh); raises ``DbtFailed`` naming every failed node."""
    build_models(database, as_of, artifacts, full_refresh=full_refresh, dbt_vars=extra_vars,
                 project_dir=project_dir, per_node_tasks=False, with_data_tests=with_tests)


def empty_raw_database(path: Path) -> Path:
    """A DuckDB file with the raw and audit tables of the contract and no rows."""
    con = connect(path)
    ensure_schema(con)
    con.close()
    return path


def dbt(command: list[str], database: Path, artifacts: Path, as_of: date = date(2026, 3, 6)):
    """Any dbt command on ``database`` (DbtResult; raises DbtFailed on failure)."""
    return invoke_dbt(command, database, artifacts, as_of=as_of)
