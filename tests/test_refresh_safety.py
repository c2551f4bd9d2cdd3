"""Write-audit-publish, proven with real processes.

- a blocked run, a failed run and a run killed with SIGKILL at any phase leave the
  published file byte-identical, and the next run recovers with no manual clean-up;
- readers holding the file open, or reopening it in a loop, are never blocked and never
  see a half-published state while refreshes publish;
- two refreshes started at once: one publishes, the other leaves with a clear message.

Each test starts from a copy of one published warehouse built once for the module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.refresh import EXIT_BLOCKED, EXIT_BUSY, EXIT_FAILED, EXIT_PUBLISHED

pytestmark = pytest.mark.slow

AS_OF = date(2026, 1, 25)
START, DAYS = date(2026, 1, 5), 21


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def base(cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/exports (2 sites, 3 weeks, generated) and <root>/wh/ops.duckdb, published."""
    from flows.generate import generate_exports

    root = tmp_path_factory.mktemp("safety_base")
    generate_exports(root / "exports", seed=11, sites=2, days=DAYS, start=START)
    done = _cli(cli_env, "refresh", "--exports", root / "exports", "--warehouse",
                root / "wh" / "ops.duckdb", "--as-of", AS_OF.isoformat())
    assert done.returncode == EXIT_PUBLISHED, done.stderr[-3000:]
    return root


@pytest.fixture
def site(base: Path, tmp_path: Path) -> Path:
    """A private copy of the published warehouse, its state and its exports."""
    shutil.copytree(base, tmp_path / "site")
    return tmp_path / "site"


def _env(cli_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**cli_env, "OPSKPI_DBT_TASK_PER_NODE": "false", **extra}


def _cmd(*args: object) -> list[str]:
    return [sys.executable, "-m", "flows.cli", *map(str, args)]


def _cli(cli_env: dict[str, str], *args: object, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(*args), env=_env(cli_env, **extra), capture_output=True, text=True,
                          timeout=600, check=False)


def _refresh_args(site: Path) -> list[object]:
    return ["refresh", "--exports", site / "exports", "--warehouse", site / "wh" / "ops.duckdb",
            "--as-of", AS_OF.isoformat()]


def _add_shipments(site: Path, name: str, rows: int, bad: int) -> None:
    """A shipments export with ``rows`` rows of which ``bad`` break a row rule."""
    lines = ["shipment_id,order_id,line_number,site_id,carrier_id,shipped_qty,shipped_at,"
             "delivered_at,damaged_qty,freight_cost,currency,status,updated_at"]
    for i in range(rows):
        qty = "-1" if i < bad else "5"  # shipped_qty >= 0
        lines.append(f"NEW{name}{i},NOORDER,1,S01,C1,{qty},2026-01-20 10:00,,,,,in_transit,"
                     "2026-01-20 10:00")
    path = site / "exports" / "wms" / f"shipments_{name}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _runs(site: Path) -> list[dict]:
    log = site / "wh" / ".ops.state" / "runs.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_blocked_run_leaves_published_file_unchanged(site: Path, cli_env: dict[str, str]) -> None:
    warehouse = site / "wh" / "ops.duckdb"
    before = sha256(warehouse)
    _add_shipments(site, "2026-01-bad", rows=100, bad=70)  # 70 % quarantined > 50 %

    done = _cli(cli_env, *_refresh_args(site))

    assert done.returncode == EXIT_BLOCKED, done.stderr[-3000:]
    assert "BLOCKED: nothing published" in done.stderr
    assert "quarantine share shipments 0.70 > 0.50" in done.stderr
    assert sha256(warehouse) == before
    last = _runs(site)[-1]
    assert last["outcome"] == "blocked" and last["checks_failed"]
    assert Path(last["quality_report"]).is_file()
    status = _cli(cli_env, "status", "--warehouse", warehouse, COLUMNS="200")
    assert "BLOCKED" in status.stdout and "quarantine share" in status.stdout

    # The bad export is corrected (new bytes): the next run publishes it, no clean-up needed.
    _add_shipments(site, "2026-01-bad", rows=100, bad=0)
    done = _cli(cli_env, *_refresh_args(site))
    assert done.returncode == EXIT_PUBLISHED, done.stderr[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM core.fct_deliveries WHERE shipment_id LIKE 'NEW%'"
                       ).fetchone()[0] == 100
    con.close()


def test_failed_run_names_the_model_and_leaves_published_file_unchanged(
    site: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from flows.settings import get_settings

    warehouse = site / "wh" / "ops.duckdb"
    before = sha256(warehouse)
    project = tmp_path / "dbt_project"
    shutil.copytree(get_settings().dbt_project_dir, project,
                    ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "marts" / "kpi" / "kpi_broken.sql").write_text(
        "select * from {{ ref('kpi_daily') }} where no_such_column > 0\n")

    done = _cli(cli_env, *_refresh_args(site), OPSKPI_DBT_PROJECT_DIR=str(project))

    assert done.returncode == EXIT_FAILED, done.stderr[-3000:]
    assert "FAILED: nothing published" in done.stderr
    assert "kpi_broken" in done.stderr and "no_such_column" in done.stderr
    assert sha256(warehouse) == before
    assert _runs(site)[-1]["outcome"] == "failed"


def _start(site: Path, cli_env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(_cmd(*_refresh_args(site)), env=_env(cli_env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 300) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def test_sigkill_at_any_phase_leaves_published_file_unchanged(
    site: Path, cli_env: dict[str, str]
) -> None:
    warehouse = site / "wh" / "ops.duckdb"
    state = site / "wh" / ".ops.state"
    before = sha256(warehouse)
    _add_shipments(site, "2026-01-late", rows=30, bad=0)
    # written by dbt as it runs the model, half-way through the build
    fact_sql = state / "dbt/target/run/opskpi/models/marts/core/fct_deliveries.sql"
    phases = {
        "ingest": lambda: (state / "build.duckdb").exists(),
        "dbt build": lambda: fact_sql.exists() and fact_sql.stat().st_mtime > started,
        "publish": lambda: (warehouse.parent / ".ops.duckdb.publishing").exists(),
    }
    killed = []
    for phase, reached in phases.items():
        started = time.time()
        proc = _start(site, cli_env)
        if _wait_for(reached, proc):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            still_publishing = (warehouse.parent / ".ops.duckdb.publishing").exists()
            killed.append(phase)
            if phase != "publish" or still_publishing:
                assert sha256(warehouse) == before, f"published file changed after kill in {phase}"
        else:
            proc.wait()
    assert killed[:2] == ["ingest", "dbt build"], killed

    # the next run recovers by itself and publishes the new shipments
    done = _cli(cli_env, *_refresh_args(site))
    assert done.returncode == EXIT_PUBLISHED, done.stderr[-3000:]
    assert not (state / "build.duckdb").exists()
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM core.fct_deliveries WHERE shipment_id LIKE 'NEW%'"
                       ).fetchone()[0] == 30
    con.close()


READER = r'''
import json, os, sys, time, duckdb
path, mode, stop, out = sys.argv[1:5]
TABLES = ["core.fct_deliveries", "core.fct_labor", "kpi.kpi_daily", "kpi.kpi_weekly"]
errors, seen, n = [], set(), 0
held = duckdb.connect(path, read_only=True) if mode == "hold" else None
while not os.path.exists(stop):
    try:
        con = held or duckdb.connect(path, read_only=True)
        run_id, rows = con.execute(
            "SELECT run_id, rows_published FROM audit.runs WHERE outcome = 'published' "
            "ORDER BY finished_at DESC LIMIT 1").fetchone()
        expected = json.loads(rows)
        for t in TABLES:
            got = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            if got != expected[t]:
                errors.append(f"{run_id} {t}: {got} rows, published {expected[t]}")
        seen.add(run_id)
        if held is None:
            con.close()
    except Exception as exc:
        errors.append(repr(exc))
    n += 1
    time.sleep(0.02)
json.dump({"errors": errors, "seen": sorted(seen), "iterations": n}, open(out, "w"))
'''


def test_readers_are_never_blocked_and_never_see_half_a_publish(
    site: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    warehouse = site / "wh" / "ops.duckdb"
    script = tmp_path / "reader.py"
    script.write_text(READER)
    stop = tmp_path / "stop"
    readers = {
        mode: subprocess.Popen([sys.executable, str(script), str(warehouse), mode, str(stop),
                                str(tmp_path / f"{mode}.json")])
        for mode in ("hold", "reopen")
    }
    try:
        for i in range(2):  # two publishes with new data while the readers query
            _add_shipments(site, f"2026-01-extra{i}", rows=20, bad=0)
            done = _cli(cli_env, *_refresh_args(site))
            assert done.returncode == EXIT_PUBLISHED, done.stderr[-3000:]
        time.sleep(1)
    finally:
        stop.touch()
        for proc in readers.values():
            proc.wait(timeout=60)
    hold = json.loads((tmp_path / "hold.json").read_text())
    reopen = json.loads((tmp_path / "reopen.json").read_text())
    assert hold["errors"] == [] and reopen["errors"] == []
    assert hold["iterations"] > 50 and reopen["iterations"] > 50
    assert len(hold["seen"]) == 1  # a held connection keeps reading the file it opened
    assert len(reopen["seen"]) == 3  # a new connection always sees the latest publish


def test_two_refreshes_at_once_one_publishes_the_other_leaves(
    site: Path, cli_env: dict[str, str]
) -> None:
    warehouse = site / "wh" / "ops.duckdb"
    _add_shipments(site, "2026-01-twice", rows=10, bad=0)
    procs = [
        subprocess.Popen(_cmd(*_refresh_args(site)), env=_env(cli_env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = sorted((p.wait(timeout=600), p.stderr.read()) for p in procs)
    codes = [code for code, _ in outcomes]
    assert codes == [EXIT_PUBLISHED, EXIT_BUSY], outcomes
    assert "another refresh of" in outcomes[1][1] and "is running" in outcomes[1][1]
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM core.fct_deliveries WHERE shipment_id LIKE 'NEW%'"
                       ).fetchone()[0] == 10
    con.close()
