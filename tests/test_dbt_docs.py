"""The dbt project documents itself: every model (and the seed) has a description, and
every column a built model actually has is documented, with nothing documented that the
model doesn't have.

The columns come from a real build of the models on an *empty* raw schema (the tables of
flows/contract.py, no rows): a few seconds, and it sees exactly what the SQL produces,
so a column added to a model without a description fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.db import connect
from tests.support.dbt import dbt, empty_raw_database

PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
LAYERS = {"staging", "intermediate", "marts"}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, set[str]]]:
    """(manifest.json of ``dbt parse``, columns of every built relation by node name)."""
    work = tmp_path_factory.mktemp("dbt_docs")
    database = empty_raw_database(work / "empty.duckdb")
    dbt(["parse"], database, work)  # needs no database
    manifest = json.loads((work / "target" / "manifest.json").read_text())

    # seeds and models only: the data and unit tests are the build's business
    dbt(["build", "--resource-type", "seed", "--resource-type", "model"], database, work)
    con = connect(database, read_only=True)
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
    ).fetchall()
    con.close()
    by_relation: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        by_relation.setdefault((schema, table), set()).add(column)

    built: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed"):
            built[node["name"]] = by_relation.get((node["schema"], node["alias"]), set())
    return manifest, built


def _documented_nodes(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]


def test_every_model_and_seed_has_a_description(docs: tuple[dict, dict]) -> None:
    manifest, _ = docs
    nodes = _documented_nodes(manifest)
    assert len([n for n in nodes if n["resource_type"] == "model"]) >= 40
    missing = sorted(n["name"] for n in nodes if not n["description"].strip())
    assert not missing, f"models without a description: {missing}"
    outside = sorted(n["name"] for n in nodes if n["resource_type"] == "model" and n["fqn"][1] not in LAYERS)
    assert not outside, f"models outside staging/intermediate/marts: {outside}"


def test_every_built_column_is_documented_and_nothing_else(docs: tuple[dict, dict]) -> None:
    manifest, built = docs
    problems = []
    for node in sorted(_documented_nodes(manifest), key=lambda n: n["name"]):
        actual = built[node["name"]]
        assert actual, f"{node['name']} was not built"
        documented = {name for name, col in node["columns"].items() if col["description"].strip()}
        undocumented = sorted(actual - documented)
        stale = sorted(set(node["columns"]) - actual)
        if undocumented:
            problems.append(f"{node['name']}: undocumented columns {undocumented}")
        if stale:
            problems.append(f"{node['name']}: documented columns the model doesn't have {stale}")
    assert not problems, "\n".join(problems)


def test_every_unit_test_explains_its_rule(docs: tuple[dict, dict]) -> None:
    manifest, _ = docs
    unit_tests = manifest["unit_tests"].values()
    assert len(unit_tests) >= 15
    missing = sorted(u["name"] for u in unit_tests if not (u.get("description") or "").strip())
    assert not missing, f"unit tests without a description: {missing}"
