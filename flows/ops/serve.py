"""``opskpi serve``: the nightly refresh on a cron schedule, using Prefect's own scheduler.

Prefect's temporary in-process server cannot fire schedules, so without a configured
``PREFECT_API_URL`` this starts a real local Prefect server (SQLite in the warehouse's
state folder, with its UI, listening on 127.0.0.1 only, port ``OPSKPI_PREFECT_PORT``,
default 4200), supervises it while serving, and stops it on exit. With
``PREFECT_API_URL`` set, the flow is served against that server instead (for production,
see README: a shared Prefect server and a worker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from flows.warehouse.paths import StatePaths

DEPLOYMENT_NAME = "nightly"
FLOW_NAME = "opskpi-refresh"


class PortInUse(RuntimeError):
    """The local Prefect server's port is taken."""


def _check_port_free(port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(
                f"port {port} on 127.0.0.1 is in use (another Prefect server?): set "
                "OPSKPI_PREFECT_PORT to a free port, or PREFECT_API_URL to use that server"
            ) from None


@contextlib.contextmanager
def local_prefect_server(home: Path, port: int, timeout: float = 180.0) -> Iterator[str]:
    """A ``prefect server start`` subprocess (with its UI) on loopback; yields its API URL."""
    home.mkdir(parents=True, exist_ok=True)
    _check_port_free(port)
    env = dict(os.environ)
    env.update({
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
    })
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--analytics-off"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(url, proc, timeout, home / "server.log")
        yield url
    finally:
        _stop(proc)
        log.close()


def _die_with_parent() -> None:
    """In the server's process, before exec: SIGTERM it when its parent dies (Linux), so
    even a SIGKILLed ``opskpi serve`` leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Prefect server exited with {proc.returncode}; see {log}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(1)
    raise TimeoutError(f"Prefect server not healthy after {timeout:.0f} s; see {log}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def serve(exports_dir: Path, paths: StatePaths, cron: str, timezone: str, port: int) -> None:
    """Serve the refresh flow on ``cron`` (in ``timezone``) until interrupted (Ctrl-C or
    SIGTERM); the local Prefect server, if one was started, is stopped on the way out."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    schedule = cron_schedule(cron, timezone)
    # until the runner installs its own handler: SIGTERM leaves like Ctrl-C (server stopped)
    signal.signal(signal.SIGTERM, _interrupt)
    parameters = {"exports_dir": str(Path(exports_dir).resolve()), "warehouse": str(paths.warehouse),
                  "state_dir": str(paths.root)}
    if os.environ.get("PREFECT_API_URL"):
        url = os.environ["PREFECT_API_URL"]
        print(f"serving the refresh on {url} ('{cron}', {timezone}); Ctrl-C to stop", flush=True)
        print(_run_now_hint(url), flush=True)
        _run_served(schedule, parameters)
        return
    home = paths.prefect_home
    with local_prefect_server(home, port) as url:
        print(f"started a local Prefect server at {url} (data in {home})", flush=True)
        print(f"Prefect UI: {url.removesuffix('/api')}", flush=True)
        os.environ["PREFECT_API_URL"] = url  # flow-run subprocesses inherit it
        with temporary_settings(updates={PREFECT_API_URL: url}):
            print(f"serving the refresh on '{cron}' ({timezone}); Ctrl-C to stop", flush=True)
            print(_run_now_hint(url), flush=True)
            _run_served(schedule, parameters)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


class BadSchedule(ValueError):
    """The cron expression or its time zone is not valid (one line: which and why)."""


def cron_schedule(cron: str, timezone: str):
    """Prefect's cron schedule, checked before anything starts."""
    import zoneinfo

    from prefect.schedules import Cron

    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadSchedule(f"--timezone: {timezone!r} is not a time zone (e.g. Europe/Berlin)") from None
    try:
        return Cron(cron, timezone=timezone)
    except ValueError:
        raise BadSchedule(f"--cron: {cron!r} is not a cron expression (e.g. '0 2 * * *')") from None


def _run_served(schedule, parameters: dict[str, str]) -> None:
    """``refresh_flow.serve(...)``, with a runner that stops cleanly on SIGTERM.

    Prefect's runner handles SIGTERM by calling its async ``stop()`` from the signal
    handler without awaiting it (``coroutine 'Runner.astop' was never awaited``) and
    exiting from the middle of the event loop; ``kill`` and systemd's stop send SIGTERM,
    so this runner schedules ``astop()`` on its own loop instead: the polling stops, the
    runner's context exits normally, and so does the local server around it.
    """
    import asyncio

    from prefect.runner import Runner

    from flows.refresh import refresh_flow

    class _Runner(Runner):
        def handle_sigterm(self, *args, **kwargs) -> None:
            self._logger.info("SIGTERM received, stopping")
            loop = self._loop
            if loop is None or not self.started:
                raise KeyboardInterrupt  # not polling yet: leave like Ctrl-C
            loop.call_soon_threadsafe(lambda: loop.create_task(self.astop()))

    runner = _Runner(name=DEPLOYMENT_NAME, pause_on_shutdown=False, limit=1)
    runner.add_flow(
        refresh_flow, name=DEPLOYMENT_NAME, schedules=[schedule], parameters=parameters,
        description="opskpi nightly refresh: ingest → build → check → publish", tags=["opskpi"],
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner.start())


def _run_now_hint(url: str) -> str:
    """The exact command that starts a run of the deployment from another shell."""
    return (f"run it now from another shell: PREFECT_API_URL={url} "
            f"prefect deployment run '{FLOW_NAME}/{DEPLOYMENT_NAME}'")
