"""The ``opskpi`` command's contract with an operator, before anything heavy runs:

- every mistake (an unknown option or command, a bad value of an option or of an
  ``OPSKPI_*`` setting, a missing folder) exits 64 with exactly one line on stderr that
  names the option and the value, no traceback, and nothing started or written;
- the help shows plain flags and the defaults of the paths;
- a flow parameter that Prefect passes as text is converted at the flow's entry, and a
  bad one fails there with one line naming it.

Each command runs in its own process, as an operator would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

EXIT_USAGE = 64


def opskpi(*args: object, env: dict[str, str] | None = None, timeout: float = 120,
           cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``opskpi ARGS`` in a new process (``python -m flows.cli``), output captured."""
    full_env = {**os.environ, "COLUMNS": "80", **(env or {})}
    return subprocess.run([sys.executable, "-m", "flows.cli", *map(str, args)], env=full_env,
                          capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<site>/exports (empty), <site>/full (a non-empty folder), <site>/wh (no warehouse)."""
    root = tmp_path_factory.mktemp("usage")
    (root / "exports").mkdir()
    (root / "full").mkdir()
    (root / "full" / "orders.csv").write_text("x\n")
    return root


#: (id, args, extra environment, what the one line must name). {site} is the fixture.
USAGE_ERRORS = [
    ("unknown option", ["refresh", "--bogus"], {}, ["opskpi refresh", "--bogus"]),
    ("unknown command", ["frobnicate"], {}, ["frobnicate"]),
    ("bad --as-of", ["refresh", "--exports", "{site}/exports", "--warehouse", "{site}/wh/ops.duckdb",
                     "--as-of", "2026-13-45"], {}, ["--as-of", "'2026-13-45'"]),
    ("missing --exports folder", ["refresh", "--exports", "{site}/nope", "--warehouse",
                                  "{site}/wh/ops.duckdb"], {}, ["--exports", "{site}/nope"]),
    ("--exports is a file", ["refresh", "--exports", "{site}/full/orders.csv", "--warehouse",
                             "{site}/wh/ops.duckdb"], {}, ["--exports", "{site}/full/orders.csv"]),
    ("bad OPSKPI_LOCK_TIMEOUT_SECONDS", ["refresh", "--exports", "{site}/exports", "--warehouse",
                                        "{site}/wh/ops.duckdb"],
     {"OPSKPI_LOCK_TIMEOUT_SECONDS": "abc"}, ["OPSKPI_LOCK_TIMEOUT_SECONDS", "'abc'"]),
    ("bad OPSKPI_AS_OF", ["refresh", "--exports", "{site}/exports", "--warehouse",
                          "{site}/wh/ops.duckdb"], {"OPSKPI_AS_OF": "yesterday"},
     ["OPSKPI_AS_OF", "'yesterday'"]),
    ("flag given a value", ["refresh", "--full-refresh=yes"], {}, ["--full-refresh"]),
    ("option without its value", ["status", "--warehouse"], {}, ["--warehouse"]),
    ("extra argument", ["status", "--json", "extra"], {}, ["extra"]),
    ("query without SQL", ["query"], {}, ["opskpi query", "'sql'"]),
    ("query --format xml", ["query", "SELECT 1", "--format", "xml", "--warehouse",
                            "{site}/wh/ops.duckdb"], {}, ["--format", "'xml'"]),
    ("report of a missing warehouse", ["report", "--warehouse", "{site}/wh/ops.duckdb"], {},
     ["--warehouse", "{site}/wh/ops.duckdb"]),
    ("generate into a non-empty folder", ["generate", "--out", "{site}/full"], {},
     ["--out", "{site}/full"]),
    ("generate --sites 0", ["generate", "--out", "{site}/gen", "--sites", "0"], {}, ["--sites", "0"]),
    ("generate --scale -1", ["generate", "--out", "{site}/gen", "--scale", "-1"], {},
     ["--scale", "-1"]),
    ("generate --sites abc", ["generate", "--out", "{site}/gen", "--sites", "abc"], {},
     ["opskpi generate", "--sites", "'abc'"]),
    ("generate --start 2026-02-30", ["generate", "--out", "{site}/gen", "--start", "2026-02-30"], {},
     ["--start", "'2026-02-30'"]),
    ("serve a missing --exports folder", ["serve", "--exports", "{site}/nope", "--warehouse",
                                          "{site}/wh/ops.duckdb"], {}, ["--exports", "{site}/nope"]),
    ("serve --cron 61 * * * *", ["serve", "--exports", "{site}/exports", "--warehouse",
                                 "{site}/wh/ops.duckdb", "--cron", "61 * * * *"], {},
     ["--cron", "'61 * * * *'"]),
    ("serve --timezone Mars/Olympus", ["serve", "--exports", "{site}/exports", "--warehouse",
                                       "{site}/wh/ops.duckdb", "--timezone", "Mars/Olympus"], {},
     ["--timezone", "'Mars/Olympus'"]),
    ("bad OPSKPI_PREFECT_PORT", ["serve", "--exports", "{site}/exports", "--warehouse",
                                 "{site}/wh/ops.duckdb"], {"OPSKPI_PREFECT_PORT": "http"},
     ["OPSKPI_PREFECT_PORT", "'http'"]),
]


@pytest.mark.parametrize(("args", "env", "named"), [c[1:] for c in USAGE_ERRORS],
                         ids=[c[0] for c in USAGE_ERRORS])
def test_a_usage_error_is_one_line_and_exit_64(site: Path, args: list[str], env: dict[str, str],
                                               named: list[str]) -> None:
    done = opskpi(*(a.format(site=site) for a in args), env=env, timeout=60)

    assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ")
    for word in named:
        assert word.format(site=site) in lines[0], (word, lines[0])
    assert "Traceback" not in done.stderr and done.stdout == ""
    # nothing ran: no warehouse folder, no state, no generated files, no Prefect server
    assert not (site / "wh").exists() and not (site / "gen").exists()
    assert sorted(p.name for p in site.iterdir()) == ["exports", "full"]
    assert list((site / "exports").iterdir()) == []


def test_status_of_a_warehouse_never_refreshed_is_one_line_and_exit_1(site: Path) -> None:
    done = opskpi("status", "--warehouse", site / "wh" / "ops.duckdb")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"Error: no warehouse at {site}/wh/ops.duckdb and no run history in {site}/wh/.ops.state: "
        "nothing has been refreshed there (check --warehouse / OPSKPI_STATE_DIR)"]


def _help(command: str) -> str:
    done = opskpi(command, "--help")
    assert done.returncode == 0 and done.stderr == ""
    return " ".join(done.stdout.split())  # unwrap the 80-column lines


def test_refresh_help_shows_plain_flags_and_the_default_paths() -> None:
    from flows.settings import Settings

    text = _help("refresh")
    defaults = Settings.model_construct()
    assert "<bool>" not in text
    assert "--full-refresh Rebuild" in text and "-v, --verbose Show" in text
    assert f"[default: OPSKPI_EXPORTS_DIR or {defaults.exports_dir}]" in text
    assert f"[default: OPSKPI_WAREHOUSE or {defaults.warehouse}]" in text
    assert "[default: OPSKPI_STATE_DIR or '.<warehouse name>.state' beside the warehouse]" in text
    assert "--as-of YYYY-MM-DD" in text and "[default: OPSKPI_AS_OF or today in UTC]" in text
    assert ("Exit 0 published, 1 failed, 2 blocked by the gate, 3 busy, 64 usage error "
            "(also a broken source mapping" in text)


def test_status_help_shows_plain_flags_and_the_default_paths() -> None:
    from flows.settings import Settings

    text = _help("status")
    assert "<bool>" not in text
    assert "--json Machine-readable output." in text
    assert f"[default: OPSKPI_WAREHOUSE or {Settings.model_construct().warehouse}]" in text
    assert "Exit 1 when the warehouse has never been published." in text


# --- flow parameters as Prefect passes them (text) ------------------------------------------

def test_parameters_from_prefect_are_converted_at_the_flow_entry() -> None:
    from flows.refresh import BadParameter, RefreshParameters

    params = RefreshParameters.parse("/x/exports", "/x/ops.duckdb", "2026-04-04", "false", None)
    assert params.as_of == date(2026, 4, 4) and params.full_refresh is False
    assert params.exports_dir == Path("/x/exports") and params.state_dir is None
    assert RefreshParameters.parse("e", "w", None, "true", "/s").full_refresh is True
    assert RefreshParameters.parse("e", "w", "", True).as_of is None
    with pytest.raises(BadParameter, match=r"^as_of: '2026-13-45' is not a date \(YYYY-MM-DD\)$"):
        RefreshParameters.parse("e", "w", "2026-13-45")
    with pytest.raises(BadParameter, match=r"^full_refresh: 'maybe' is not true or false$"):
        RefreshParameters.parse("e", "w", None, "maybe")
    with pytest.raises(BadParameter, match=r"^exports_dir: missing$"):
        RefreshParameters.parse("", "w")


def test_a_bad_parameter_fails_the_flow_before_any_work(prefect_api_url: str, tmp_path: Path) -> None:
    """The flow itself, called with text as a deployment run passes it: the run fails with
    the one line and nothing is created (no state folder, no run history, no warehouse)."""
    from flows.refresh import BadParameter, refresh_flow

    (tmp_path / "exports").mkdir()
    state = refresh_flow(str(tmp_path / "exports"), str(tmp_path / "wh" / "ops.duckdb"),
                         as_of="2026-13-45", return_state=True)
    assert state.is_failed()
    assert state.message == "refresh not started: as_of: '2026-13-45' is not a date (YYYY-MM-DD)"
    assert isinstance(state.result(raise_on_failure=False), BadParameter)
    assert not (tmp_path / "wh").exists()
