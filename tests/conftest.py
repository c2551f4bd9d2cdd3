"""Shared fixtures: one Prefect test server and one conformance warehouse per session.

Everything here is real: Prefect's own test server (SQLite), real DuckDB files, the real
dbt build and the real quality gate. Expensive things are built once per session.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

# Before Prefect is imported anywhere: its home (SQLite DB, profiles) in a throwaway
# folder, no UI, no analytics.
_PREFECT_HOME = tempfile.mkdtemp(prefix="opskpi-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_UI_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)

import flows  # noqa: E402,F401  (telemetry off before anything else)
from tests.support.cdp import browser, chromium  # noqa: E402,F401  (one Chromium per session)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFORMANCE = FIXTURES / "conformance"


@pytest.fixture(scope="session")
def prefect_api_url() -> str:
    """Prefect's test server, started once for the whole session.

    In-process flows use it through Prefect's settings; subprocesses (CLI tests) get
    the URL in PREFECT_API_URL so they don't each start a temporary server.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def cli_env(prefect_api_url: str) -> dict[str, str]:
    """Environment for running the ``opskpi`` CLI in a subprocess against the test server."""
    env = dict(os.environ)
    env["PREFECT_API_URL"] = prefect_api_url
    return env


@pytest.fixture(scope="session")
def conformance_meta() -> dict:
    return json.loads((CONFORMANCE / "expected_meta.json").read_text())


@pytest.fixture(scope="session")
def conformance_exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private, writable copy of the worked example's exports."""
    target = tmp_path_factory.mktemp("conformance") / "exports"
    shutil.copytree(CONFORMANCE / "exports", target)
    return target


@pytest.fixture(scope="session")
def conformance_warehouse(
    prefect_api_url: str, conformance_exports: Path, conformance_meta: dict,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The worked example refreshed once by the real flow; returns the published file."""
    from flows.refresh import EXIT_PUBLISHED, run_refresh

    warehouse = tmp_path_factory.mktemp("conformance_wh") / "ops.duckdb"
    code, message, _ = run_refresh(
        conformance_exports, warehouse, as_of=date.fromisoformat(conformance_meta["as_of"])
    )
    assert code == EXIT_PUBLISHED, message
    return warehouse


@pytest.fixture
def wh(tmp_path: Path):
    """A fresh DuckDB file with the raw and audit tables, for ingestion tests."""
    from tests.ingest_helpers import Warehouse

    warehouse = Warehouse(tmp_path / "ops.duckdb")
    yield warehouse
    warehouse.close()


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """An empty exports folder."""
    path = tmp_path / "exports"
    path.mkdir()
    return path


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter teardown once pytest is done (exit status kept).

    DuckDB's bindings print pages of "nanobind: leaked instance" at teardown after dbt or
    SQLAlchemy ran in the process; it's noise that would bury the test report in CI logs.
    """
    import atexit

    from flows.cli import exit_now

    if _EXIT_STATUS and not os.environ.get("OPSKPI_TEST_NORMAL_EXIT"):
        atexit._run_exitfuncs()
        exit_now(_EXIT_STATUS[0])
