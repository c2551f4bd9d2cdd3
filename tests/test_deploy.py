"""The repository's ``prefect.yaml`` deploys the nightly refresh, and a worker runs it.

Against a real local Prefect server (loopback, a free port), exactly as README's
"Scheduling" says: create the work pool, ``prefect deploy --all`` from the repository
root, ``prefect deployment run 'opskpi-refresh/nightly' --param ...`` (parameters arrive
as text), a real process worker (``--run-once``) executes it:

- with ``as_of=2026-01-11`` the warehouse is published as of that date (the defect: a
  run with a parameter crashed, ``'str' object has no attribute 'isoformat'``);
- with ``as_of=2026-13-45`` the run fails with one line naming the parameter and the
  value (the flow run's state message), before any work: nothing published, no run
  recorded, and the flow itself raises nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import duckdb
import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prefect_yaml_declares_the_nightly_deployment() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (nightly,) = spec["deployments"]
    assert nightly["name"] == "nightly" and nightly["entrypoint"] == "flows/refresh.py:refresh_flow"
    assert nightly["work_pool"]["name"] == "opskpi"
    assert nightly["schedules"] == [{"cron": "0 2 * * *", "timezone": "UTC"}]
    # the flow's parameters, named as the flow names them
    import inspect

    from flows.refresh import refresh_flow

    assert set(nightly["parameters"]) == {"exports_dir", "warehouse", "as_of"}
    assert set(nightly["parameters"]) <= set(inspect.signature(refresh_flow.fn).parameters)


def test_deploy_run_with_parameters_and_a_worker_publishes(tmp_path: Path) -> None:
    from flows.generate import generate_exports
    from flows.ops.serve import local_prefect_server

    exports, warehouse = tmp_path / "exports", tmp_path / "wh" / "ops.duckdb"
    generate_exports(exports, seed=7, sites=1, days=7, scale=1)  # 2026-01-05 .. 2026-01-11
    with local_prefect_server(tmp_path / "server-home", _free_port()) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OPSKPI_"))}
        env.update({"PREFECT_API_URL": url, "PREFECT_HOME": str(tmp_path / "cli-home"),
                    "PATH": f"{VENV_BIN}:{env.get('PATH', '')}", "OPSKPI_DBT_TASK_PER_NODE": "false"})

        def prefect(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
            done = subprocess.run(["prefect", *args], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=timeout, check=False)
            assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
            return done

        def run_nightly(as_of: str) -> tuple[str, str]:
            done = prefect("deployment", "run", "opskpi-refresh/nightly",
                           "--param", f"exports_dir={exports}", "--param", f"warehouse={warehouse}",
                           "--param", f"as_of={as_of}")
            flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", done.stdout).group(1)
            worker = prefect("worker", "start", "--pool", "opskpi", "--run-once", timeout=900)
            return flow_run_id, worker.stdout + worker.stderr

        def flow_run(flow_run_id: str) -> dict:
            with urllib.request.urlopen(f"{url}/flow_runs/{flow_run_id}", timeout=30) as r:
                return json.loads(r.read())

        prefect("work-pool", "create", "opskpi", "--type", "process")
        deployed = prefect("deploy", "--all")
        assert "Deployment 'opskpi-refresh/nightly' successfully created" in deployed.stdout

        flow_run_id, _ = run_nightly("2026-01-11")
        assert flow_run(flow_run_id)["state"]["type"] == "COMPLETED"
        con = duckdb.connect(str(warehouse), read_only=True)
        runs = con.execute(
            "SELECT as_of_date::VARCHAR, outcome, prefect_flow_run_id FROM audit.runs").fetchall()
        con.close()
        assert runs == [("2026-01-11", "published", flow_run_id)]

        before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
        history = (tmp_path / "wh" / ".ops.state" / "runs.jsonl").read_text()
        flow_run_id, worker_log = run_nightly("2026-13-45")
        state = flow_run(flow_run_id)["state"]
        assert state["type"] == "FAILED"
        assert state["message"] == "refresh not started: as_of: '2026-13-45' is not a date (YYYY-MM-DD)"
        # the flow logs the one line and raises nothing (Prefect's engine wrapper still logs
        # the failed state's exception, as for any failed flow run under a worker)
        assert "refresh not started: as_of: '2026-13-45' is not a date (YYYY-MM-DD)" in worker_log
        assert "Encountered exception during execution" not in worker_log, worker_log[-3000:]
        assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
        assert (tmp_path / "wh" / ".ops.state" / "runs.jsonl").read_text() == history
