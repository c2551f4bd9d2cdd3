"""`opskpi serve` really schedules: with no PREFECT_API_URL it starts its own local
Prefect server, serves the flow on a one-minute cron, a scheduled run fires and
publishes, and stopping serve stops the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_a_one_minute_cron_fires_and_publishes(tmp_path: Path) -> None:
    from flows.generate import generate_exports

    exports, warehouse = tmp_path / "exports", tmp_path / "wh" / "ops.duckdb"
    generate_exports(exports, seed=3, sites=1, days=10)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"OPSKPI_DBT_TASK_PER_NODE": "false", "PREFECT_HOME": str(tmp_path / "home")})
    out = tmp_path / "serve.log"
    with out.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--exports", str(exports),
             "--warehouse", str(warehouse), "--cron", "* * * * *", "--timezone", "Europe/Berlin"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        runs_log = warehouse.parent / ".ops.state" / "runs.jsonl"
        try:
            deadline = time.monotonic() + 420
            while time.monotonic() < deadline and not runs_log.exists():
                assert proc.poll() is None, out.read_text()[-3000:]
                time.sleep(2)
            assert runs_log.exists(), out.read_text()[-3000:]
            run = json.loads(runs_log.read_text().splitlines()[0])
            assert run["outcome"] == "published" and run["prefect_flow_run_id"]
            assert warehouse.is_file()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    text = out.read_text()
    assert "started a local Prefect server at http://127.0.0.1:" in text
    port = text.split("started a local Prefect server at http://127.0.0.1:")[1].split("/")[0]
    leftover = subprocess.run(["pgrep", "-f", f"prefect server start.*--port {port}"],
                              capture_output=True, text=True).stdout.split()
    assert leftover == [], "the local Prefect server outlived opskpi serve"
    server_log = warehouse.parent / ".ops.state" / "prefect" / "server.log"
    assert "Traceback" not in server_log.read_text()
