"""The dbt unit tests (`unit_tests:` in the models' YAML) run here, in CI.

The nightly refresh leaves them out (they test the SQL, not the night's data, as dbt
recommends); this test builds the models on an empty raw schema so their parents
exist, then runs every unit test, and fails if any fails or if they are not all found.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flows.build import dbt_environment
from flows.db import connect
from flows.ingest.load import ensure_schema
from flows.settings import get_settings


def test_every_dbt_unit_test_passes(tmp_path: Path) -> None:
    from dbt.cli.main import dbtRunner

    database = tmp_path / "empty.duckdb"
    con = connect(database)
    ensure_schema(con)
    con.close()
    project = get_settings().dbt_project_dir
    os.environ.update(dbt_environment(database))
    result = dbtRunner().invoke([
        "build", "--exclude", "resource_type:test",
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
        "--vars", json.dumps({"as_of": "2026-03-06"}), "--quiet",
    ])
    results = result.result.results if result.result else []
    unit = [r for r in results if r.node.resource_type == "unit_test"]
    failed = [f"{r.node.name}: {r.status} {r.message}" for r in unit if str(r.status) != "pass"]
    assert result.success and not failed, failed or result.exception
    declared = 0
    for path in project.joinpath("models").rglob("*.yml"):
        text = path.read_text()
        if "unit_tests:" in text:
            declared += text[text.index("unit_tests:"):].count("\n  - name: ")
    assert len(unit) == declared >= 20
