"""The dbt unit tests (`unit_tests:` in the models' YAML) run here, in CI.

The nightly refresh leaves them out (they test the SQL, not the night's data, as dbt
recommends); this test builds the models on an empty raw schema so their parents
exist, then runs every unit test, and fails if any fails or if they are not all found.
"""

from __future__ import annotations

from pathlib import Path

from flows.settings import get_settings
from tests.support.dbt import dbt, empty_raw_database


def test_every_dbt_unit_test_passes(tmp_path: Path) -> None:
    database = empty_raw_database(tmp_path / "empty.duckdb")
    result = dbt(["build", "--exclude", "resource_type:test"], database, tmp_path)
    unit = [r for r in result.results if r.node.resource_type == "unit_test"]
    assert all(str(r.status) == "pass" for r in unit)  # a failure raises DbtFailed above
    declared = 0
    for path in get_settings().dbt_project_dir.joinpath("models").rglob("*.yml"):
        text = path.read_text()
        if "unit_tests:" in text:
            declared += text[text.index("unit_tests:"):].count("\n  - name: ")
    assert len(unit) == declared >= 20
