"""``flows.report.dbt_docs.generate_dbt_docs``: the static dbt docs page the report links.

(``tests/test_dbt_docs.py`` checks the project's documentation itself; this module
checks the page generated from it.)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from flows.report.dbt_docs import DbtDocsError, generate_dbt_docs

AS_OF = date(2026, 3, 6)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def work_database(conformance_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session's conformance working database (dbt's models built in it)."""
    copy = tmp_path_factory.mktemp("dbt-docs") / "work.duckdb"
    shutil.copyfile(conformance_warehouse.parent / ".ops.state" / "work.duckdb", copy)
    return copy


def test_generates_a_static_page_listing_the_models(work_database: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(work_database.read_bytes()).hexdigest()
    env_before = os.environ.get("OPSKPI_DBT_DATABASE")
    out, artifacts = tmp_path / "report" / "dbt-docs", tmp_path / "artifacts"

    page = generate_dbt_docs(work_database, AS_OF, out, artifacts)

    assert page == out / "index.html"
    html = page.read_text(encoding="utf-8")
    for model in ("fct_deliveries", "kpi_daily"):
        assert f'"model.opskpi.{model}"' in html, model
    # the catalog (columns read from the database) is embedded too
    catalog = json.loads((artifacts / "docs-target" / "catalog.json").read_text())
    kpi_daily = catalog["nodes"]["model.opskpi.kpi_daily"]
    assert {"kpi", "site_id", "date", "numerator", "denominator", "value"} <= set(kpi_daily["columns"])
    assert "model.opskpi.fct_deliveries" in catalog["nodes"]
    # offline: usage tracker off, and the two local-file bugs of dbt-docs' page patched
    assert '"send_anonymous_usage_stats": false' in html
    assert "${require(" not in html
    assert '<use xlink:href="{{ getIcon(' not in html
    assert '<use ng-attr-xlink:href="{{ getIcon(' in html
    # dbt's artifacts went to artifacts_dir, the database was only read, env restored
    assert (artifacts / "docs-target" / "static_index.html").is_file()
    assert hashlib.sha256(work_database.read_bytes()).hexdigest() == before
    assert os.environ.get("OPSKPI_DBT_DATABASE") == env_before


def test_a_failing_generation_raises(tmp_path: Path) -> None:
    with pytest.raises(DbtDocsError, match="dbt docs generate failed"):
        generate_dbt_docs(tmp_path / "none.duckdb", AS_OF, tmp_path / "out", tmp_path / "art",
                          project_dir=tmp_path / "no-project")
    assert not (tmp_path / "out" / "index.html").exists()
