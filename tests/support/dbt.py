"""Run the real dbt project in-process (dbt's own Python API), for dbt-level tests."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from flows.build import dbt_args, dbt_environment
from flows.settings import get_settings


def dbt_build(
    database: Path, as_of: date, artifacts: Path, *, full_refresh: bool = False,
    with_tests: bool = False, extra_vars: dict | None = None,
) -> None:
    """``dbt build`` of the project against ``database``; raises AssertionError on failure."""
    from dbt.cli.main import dbtRunner

    project = get_settings().dbt_project_dir
    os.environ.update(dbt_environment(database))
    args = dbt_args("build", as_of, full_refresh, artifacts)
    if extra_vars:
        i = args.index("--vars")
        args[i + 1] = json.dumps({"as_of": as_of.isoformat(), **extra_vars})
    if not with_tests:
        args[args.index("--exclude") + 1:args.index("--exclude") + 2] = [
            "resource_type:unit_test", "resource_type:test"]
    args += ["--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
    result = dbtRunner().invoke(args)
    failures = [
        f"{r.node.name}: {r.message}"
        for r in (getattr(result.result, "results", None) or [])
        if str(r.status) in ("error", "fail", "runtime error")
    ]
    assert result.success, f"dbt build failed: {result.exception or failures}"
