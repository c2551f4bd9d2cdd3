"""`opskpi serve` really schedules, and what it prints works.

One serve process, with no PREFECT_API_URL, its port from OPSKPI_PREFECT_PORT and its
state folder elsewhere (OPSKPI_STATE_DIR):

- it starts its own local Prefect server, whose home is in the state folder;
- the printed UI address answers with the UI's HTML page;
- the printed "run it now" command, run as-is from another shell, starts a run that
  publishes; a one-minute cron fires a run that publishes too;
- SIGTERM stops it cleanly: no ``coroutine 'Runner.astop' was never awaited``, no
  traceback, and no Prefect server left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

VENV_BIN = str(Path(sys.executable).parent)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(1)


def test_serve_schedules_its_hint_starts_a_run_and_sigterm_stops_everything(tmp_path: Path) -> None:
    from flows.generate import generate_exports

    exports, warehouse, state = tmp_path / "exports", tmp_path / "wh" / "ops.duckdb", tmp_path / "state"
    generate_exports(exports, seed=3, sites=1, days=7, scale=1)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"OPSKPI_DBT_TASK_PER_NODE": "false", "OPSKPI_PREFECT_PORT": str(port),
                "OPSKPI_STATE_DIR": str(state), "PREFECT_HOME": str(tmp_path / "serve-home")})
    out = tmp_path / "serve.log"
    runs_log = state / "runs.jsonl"
    with out.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--exports", str(exports),
             "--warehouse", str(warehouse), "--cron", "* * * * *", "--timezone", "Europe/Berlin"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait(lambda: "run it now from another shell: " in out.read_text(), proc, out, 300)
            text = out.read_text()
            started_line = f"started a local Prefect server at http://127.0.0.1:{port}/api"
            assert f"{started_line} (data in {state}/prefect)" in text
            ui = re.search(r"^Prefect UI: (\S+)$", text, re.M).group(1)
            assert ui == f"http://127.0.0.1:{port}"
            with urllib.request.urlopen(ui, timeout=30) as page:
                assert page.status == 200
                assert page.headers.get_content_type() == "text/html"
                assert b"<html" in page.read(4096).lower()

            hint = re.search(r"^run it now from another shell: (.+)$", text, re.M).group(1)
            assert hint == (f"PREFECT_API_URL=http://127.0.0.1:{port}/api "
                            "prefect deployment run 'opskpi-refresh/nightly'")
            shell_env = {k: v for k, v in env.items() if not k.startswith(("PREFECT_", "OPSKPI_"))}
            shell_env.update({"PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
                              "PREFECT_HOME": str(tmp_path / "other-shell-home")})
            started = subprocess.run(["bash", "-c", hint], env=shell_env, capture_output=True,
                                     text=True, timeout=120, check=False)
            assert started.returncode == 0, started.stdout + started.stderr
            flow_run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)

            def runs() -> list[dict]:
                return ([json.loads(line) for line in runs_log.read_text().splitlines()]
                        if runs_log.exists() else [])

            # the hint's run, and one the cron fired (any other flow run of the deployment)
            _wait(lambda: {r["prefect_flow_run_id"] == flow_run_id for r in runs()} == {True, False},
                  proc, out, 600)
            assert all(r["outcome"] == "published" for r in runs()), runs()
            assert warehouse.is_file()
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=90)
    text = out.read_text()
    assert code == 0, text[-3000:]
    assert "was never awaited" not in text and "Traceback" not in text, text[-3000:]
    leftover = subprocess.run(["pgrep", "-f", f"prefect server start.*--port {port}"],
                              capture_output=True, text=True).stdout.split()
    assert leftover == [], "the local Prefect server outlived opskpi serve"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5)
    # the Prefect home is in the state folder, and nothing is beside the warehouse
    assert "Traceback" not in (state / "prefect" / "server.log").read_text()
    assert (state / "prefect" / "prefect.db").is_file() or any((state / "prefect").glob("*.db"))
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["ops.duckdb", "report"]
