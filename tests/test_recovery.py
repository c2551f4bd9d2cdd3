"""Recovery equals an uninterrupted run.

One uninterrupted refresh of tiny exports is timed, with the moment each step ended. Then,
for kill points at 10/30/50/70/90 % of its duration, a refresh of a fresh warehouse from
the same exports is SIGKILLed (its whole process group) at that moment, and a second
refresh recovers. Kill points predicted to land in a step already hit are skipped (the
test stays affordable); the steps really hit are read from what the killed run printed and
must be at least three different ones, among them the dbt build.

The recovered warehouse must equal the uninterrupted one on every published table, except
for the columns that record *which* run loaded or checked a row and when (docs/decisions.md):
``run_id``, ``loaded_at``, ``quarantined_at``, ``dbt_invocation_id`` (the dbt run that
wrote a fact row) everywhere, and in ``audit.runs`` the run's
own ``started_at``, ``finished_at``, ``step_seconds``, ``prefect_flow_run_id``. The run
history tables hold the runs that happened: ``audit.runs`` and ``audit.quality_results``
are compared on the publishing run's rows. A run killed after it published (while it
writes the pages) has published a warehouse equal to the uninterrupted one; the recovery
is then a night with no new files that publishes the same data again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

AS_OF = "2026-01-11"
STEPS = ["start", "prepare", "ingest", "build", "check", "gate page", "publish", "docs", "report"]
FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
#: columns that say which run wrote a row and when: not part of the data
RUN_COLUMNS = {"run_id", "loaded_at", "quarantined_at", "dbt_invocation_id"}
RUNS_OWN_COLUMNS = {"started_at", "finished_at", "step_seconds", "prefect_flow_run_id"}


def _command(root: Path, exports: Path) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "refresh", "--exports", str(exports),
            "--warehouse", str(root / "wh" / "ops.duckdb"), "--as-of", AS_OF]


def _timed_run(cmd: list[str], env: dict[str, str]) -> tuple[int, float, list[tuple[str, float]]]:
    """Run to the end; return (exit code, seconds, [(step, seconds when it ended)])."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    ends = []
    for line in proc.stderr:
        name = line[:9].strip()
        if name in STEPS:
            ends.append((name, time.monotonic() - t0))
    code = proc.wait()
    return code, time.monotonic() - t0, ends


def _killed_run(cmd: list[str], env: dict[str, str], after: float) -> str:
    """Start, SIGKILL the process group ``after`` seconds later; return the step it was in."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    done: list[str] = []

    def read() -> None:
        for line in proc.stderr:
            if line[:9].strip() in STEPS:
                done.append(line[:9].strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(after)
    assert proc.poll() is None, "the run ended before its kill point"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(timeout=10)
    return STEPS[STEPS.index(done[-1]) + 1] if done else "start"


def _snapshot(warehouse: Path) -> dict[str, list]:
    """Every published table, without the columns that name the run that wrote a row."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('core', 'kpi', 'audit') ORDER BY 1").fetchall()
        published_run = con.execute(
            "SELECT run_id FROM audit.runs WHERE outcome = 'published' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()[0]
        out = {}
        for (table,) in tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || "
                f"table_name = '{table}' ORDER BY ordinal_position").fetchall()]
            drop = RUN_COLUMNS | (RUNS_OWN_COLUMNS if table == "audit.runs" else set())
            keep = ", ".join(f'"{c}"' for c in columns if c not in drop)
            where = (f"WHERE run_id = '{published_run}'"
                     if table in HISTORY else "")
            out[table] = con.execute(f"SELECT {keep} FROM {table} {where} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


HISTORY = ("audit.runs", "audit.quality_results")


def _data(snapshot: dict[str, list]) -> dict[str, list]:
    return {t: rows for t, rows in snapshot.items() if t not in HISTORY}


def _assert_same(got: dict[str, list], expected: dict[str, list], what: str) -> None:
    assert got.keys() == expected.keys(), what
    for table in expected:
        assert got[table] == expected[table], f"{what}: {table} differs"


def test_a_recovered_warehouse_equals_an_uninterrupted_one(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    from flows.generate import generate_exports

    exports = tmp_path / "exports"
    generate_exports(exports, seed=21, sites=1, days=7, scale=1)
    env = {**cli_env, "OPSKPI_DBT_TASK_PER_NODE": "false"}

    baseline = tmp_path / "uninterrupted"
    code, seconds, ends = _timed_run(_command(baseline, exports), env)
    assert code == 0
    expected = _snapshot(baseline / "wh" / "ops.duckdb")
    assert expected["core.fct_deliveries"] and expected["kpi.kpi_daily"]

    def predicted_step(at: float) -> str:
        return next((name for name, end in ends if end > at), "report")

    hit: dict[float, str] = {}
    for fraction in FRACTIONS:
        at = fraction * seconds
        if predicted_step(at) in hit.values():
            continue
        root = tmp_path / f"killed-{int(fraction * 100)}"
        step = _killed_run(_command(root, exports), env, at)
        hit[fraction] = step
        warehouse = root / "wh" / "ops.duckdb"
        killed_after_publish = step in ("docs", "report")
        if killed_after_publish:  # it had published: that file is an uninterrupted run's
            _assert_same(_snapshot(warehouse), expected, f"published by the run killed in {step}")
        else:
            assert not warehouse.exists(), f"a run killed in {step} published"

        recovery = subprocess.run(_command(root, exports), env=env, capture_output=True, text=True,
                                  timeout=900, check=False)
        assert recovery.returncode == 0, recovery.stderr[-3000:]
        got = _snapshot(warehouse)
        if killed_after_publish:  # the recovery is a night with no new files
            assert "no new files" in recovery.stdout
            _assert_same(_data(got), _data(expected), f"recovered after a kill in {step}")
            con = duckdb.connect(str(warehouse), read_only=True)
            outcomes = con.execute("SELECT outcome FROM audit.runs").fetchall()
            con.close()
            assert outcomes == [("published",), ("published",)]  # the killed run is history too
        else:
            _assert_same(got, expected, f"recovered after a kill in {step} ({fraction:.0%})")
        shutil.rmtree(root)

    print(f"uninterrupted run {seconds:.0f} s, steps ended at "
          + ", ".join(f"{n} {t:.0f} s" for n, t in ends) + "; kills: "
          + ", ".join(f"{f:.0%} in {s}" for f, s in hit.items()))
    assert "build" in hit.values(), hit
    assert len(set(hit.values())) >= 3, hit
