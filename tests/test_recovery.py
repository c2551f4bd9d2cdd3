"""Recovery equals an uninterrupted run.

One uninterrupted refresh of tiny exports is timed, with the moment each step ended. Then,
for kill points at 10/30/50/70/90 % of its duration, a refresh of a fresh warehouse from
the same exports is SIGKILLed (its whole process group) at that point, and a second
refresh recovers. A kill point is placed in the step of the timed run it falls in: so
far into that step (at most half of it) after the killed run says it finished the step
before, so that a run that goes faster or slower than the timed one is still killed in
that step. One kill per step (fractions falling in a step already hit are skipped: the
test stays affordable); the steps really hit are read from what the killed run printed,
printed at the end, and must include the dbt build and the docs step after the publish.

The recovered warehouse must equal the uninterrupted one on every published table, except
for the columns that record *which* run loaded or checked a row and when (docs/decisions.md):
``run_id``, ``loaded_at``, ``quarantined_at``, ``dbt_invocation_id`` (the dbt run that
wrote a fact row), ``alerted_at`` (when a KPI alert was raised) everywhere, and in ``audit.runs`` the run's
own ``started_at``, ``finished_at``, ``published_at``, ``step_seconds``, ``prefect_flow_run_id``. The run
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
STEPS = ["start", "prepare", "ingest", "build", "check", "gate page", "alerts", "publish", "docs", "report"]
FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
#: columns that say which run wrote a row and when: not part of the data
RUN_COLUMNS = {"run_id", "loaded_at", "quarantined_at", "dbt_invocation_id", "alerted_at"}
RUNS_OWN_COLUMNS = {"started_at", "finished_at", "published_at", "step_seconds", "prefect_flow_run_id"}


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


def _killed_run(cmd: list[str], env: dict[str, str], anchor: str | None, delay: float) -> str:
    """Start; ``delay`` seconds after it says it finished step ``anchor`` (None: after it
    started), SIGKILL its process group; return the step it was in."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    done: list[str] = []
    reached = threading.Event()
    if anchor is None:
        reached.set()

    def read() -> None:
        for line in proc.stderr:
            if line[:9].strip() in STEPS:
                done.append(line[:9].strip())
                if done[-1] == anchor:
                    reached.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert reached.wait(timeout=900), done
    time.sleep(delay)
    if proc.poll() is not None:
        reader.join(timeout=10)
        return "finished"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(timeout=10)
    return STEPS[STEPS.index(done[-1]) + 1] if done else "prepare"


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

    def kill_point(fraction: float) -> tuple[str, str | None, float]:
        """The step the fraction of the run falls in, the step before it, and how far into
        it (at most half the step, so that a faster run is still killed inside it)."""
        at, start, previous = fraction * seconds, 0.0, None
        for name, end in ends:
            if end > at:
                return name, previous, min(at - start, (end - start) / 2)
            start, previous = end, name
        return ends[-1][0], previous, 0.0

    hit: dict[str, str] = {}
    for fraction in FRACTIONS:
        step_of_baseline, anchor, delay = kill_point(fraction)
        if step_of_baseline in hit.values():
            continue  # one kill per step: affordable
        root = tmp_path / f"killed-{int(fraction * 100)}"
        step = _killed_run(_command(root, exports), env, anchor, delay)
        hit[f"{fraction:.0%}"] = step
        warehouse = root / "wh" / "ops.duckdb"
        assert step != "finished", f"the run finished before its kill point at {fraction:.0%}"
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
          + ", ".join(f"{label} in {s}" for label, s in hit.items()))
    # which steps the fractions fall in depends on the machine's speed; a kill before the
    # publish (in the build) and one after it (in the docs) must always be among them
    # (kills inside the publish itself: tests/test_refresh_safety.py)
    assert {"build", "docs"} <= set(hit.values()), hit
