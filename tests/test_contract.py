"""The contract is written once.

- ``dbt_project/models/staging/_sources.yml`` is generated from ``flows/contract.py``
  (``python -m flows.ingest.dbt_sources``): this fails while the committed file differs;
- the surviving-version order of every entity is the contract's (``Entity.version_order``),
  read by ingestion and by dbt's staging models through the sources' meta;
- the repository carries the contract it implements (``docs/spec``), identical to the
  shared one when that is beside the clone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.contract import ENTITIES, ENTITY_BY_NAME
from flows.ingest.dbt_sources import dbt_sources_yaml, sources_path

ROOT = Path(__file__).resolve().parent.parent
SHARED_SPEC = ROOT.parent / "shared" / "spec"


def test_dbt_sources_are_generated_from_the_contract() -> None:
    assert sources_path().read_text(encoding="utf-8") == dbt_sources_yaml(), (
        "models/staging/_sources.yml differs from flows/contract.py: run "
        "`python -m flows.ingest.dbt_sources`")


def test_sources_carry_every_entity_its_keys_and_version_order() -> None:
    tables = {t["name"]: t for t in yaml.safe_load(dbt_sources_yaml())["sources"][0]["tables"]}
    assert list(tables) == [e.name for e in ENTITIES]
    assert tables["shipments"]["meta"] == {
        "keys": ["shipment_id"], "dbt_source": "wms",
        "version_order": "updated_at desc nulls last, _file desc, _row desc, _loaded_at desc"}
    # no updated_at: path, then row, then the latest load
    assert tables["sites"]["meta"]["version_order"] == "_file desc, _row desc, _loaded_at desc"
    assert tables["budgets"]["meta"]["keys"] == ["site_id", "category", "month"]
    assert [c["name"] for c in tables["cycle_counts"]["columns"]][-4:] == ["_file", "_row", "_run_id",
                                                                          "_loaded_at"]
    # every staging model takes its entity's surviving version through the shared macro
    staging = ROOT / "dbt_project" / "models" / "staging"
    for entity in ENTITIES:
        model = staging / entity.source / f"stg_{entity.source}__{entity.name}.sql"
        if model.exists():
            assert f"surviving_version('{entity.name}'" in model.read_text(), model


def test_version_order_follows_the_contract() -> None:
    assert ENTITY_BY_NAME["timesheets"].version_order.startswith("updated_at DESC NULLS LAST, ")
    assert not ENTITY_BY_NAME["pay_rates"].has_updated_at


@pytest.mark.skipif(not SHARED_SPEC.is_dir(), reason="../shared/spec is not beside this clone")
@pytest.mark.parametrize("name", ["exports.md", "kpis.md", "mappings.md"])
def test_the_repository_carries_the_contract_it_implements(name: str) -> None:
    assert (ROOT / "docs" / "spec" / name).read_text(encoding="utf-8") == (
        SHARED_SPEC / name).read_text(encoding="utf-8"), f"docs/spec/{name} is stale: copy ../shared/spec"
