"""A small Chrome DevTools Protocol client for headless Debian Chromium, and its fixtures.

The browser is started with a throwaway profile and spoken to over its websocket; each
``Page`` records every console message, exception, log entry and request, so a test can
assert that a page rendered with no error and fetched nothing from the network.

Why a 150-line CDP client over ``websockets`` rather than Playwright or Selenium: it
needs nothing but the Debian browser and a package already installed with Prefect,
downloads no browser build, and is tied to no browser version.

Test modules use the fixtures by binding them at module level (``chromium, browser =
cdp.chromium, cdp.browser``); each such module gets its own session-scoped browser.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
]


# --- a small Chrome DevTools Protocol client ----------------------------------------------

@dataclass
class Page:
    """One tab, attached with a flat session; remembers what the page did."""

    browser: Browser
    session: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def call(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def open(self, url: str, timeout: float = 60) -> None:
        """Navigate and wait for the load event."""
        self.browser.events.clear()
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise AssertionError(f"navigation to {url} failed: {result['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session, timeout)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            self.browser.pump(0.25)
        raise AssertionError(f"timed out waiting for {expression}")

    def screenshot(self, path: Path, width: int = 1400) -> None:
        """A PNG of the whole page (not only the viewport)."""
        height = math.ceil(self.call("Page.getLayoutMetrics")["cssContentSize"]["height"])
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                         timeout=60)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


class Browser:
    """Headless Chromium started with the flags above, spoken to over its websocket."""

    def __init__(self, executable: Path, user_data_dir: Path) -> None:
        from websockets.sync.client import connect

        user_data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(executable), *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}",
             "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = user_data_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        self.next_id = 0
        self.events: list[dict] = []
        self.pages: dict[str, Page] = {}

    def new_page(self) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = self.pages[session] = Page(self, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.call(f"{domain}.enable")
        return page

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30) -> dict:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline - time.monotonic())
            if reply is None:
                raise TimeoutError(f"no reply to {method}")
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, event: str, session: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["method"] == event and e.get("sessionId") == session:
                    return e
            if self._receive(deadline - time.monotonic()) is None:
                raise TimeoutError(f"no {event} within {timeout} s")

    def pump(self, seconds: float) -> None:
        """Process the events that arrive during ``seconds``."""
        deadline = time.monotonic() + seconds
        while self._receive(deadline - time.monotonic()) is not None:
            pass

    def _receive(self, timeout: float) -> dict | None:
        if timeout <= 0:
            return None
        try:
            message = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        if "method" in message:
            self.events.append(message)
            self._record(message)
        return message

    def _record(self, event: dict) -> None:
        page = self.pages.get(event.get("sessionId", ""))
        if page is None:
            return
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            page.console_errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            page.console_errors.append(
                f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            page.console_errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url')}")
        elif method == "Network.requestWillBeSent":
            page.requests.append(params["request"]["url"])

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                self.call("Browser.close", timeout=5)
            ws.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def external_requests(urls: list[str]) -> list[str]:
    """Requests that would leave the machine (anything but the files and inline data)."""
    return [u for u in urls if not u.startswith(("file://", "data:", "about:", "blob:"))]


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing (as on a fresh machine)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "chromium"]  # with its recommended fonts
    run = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=600)
        run = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if run.returncode != 0 or not CHROMIUM.exists():
        pytest.skip(f"could not install chromium with apt-get: {(run.stderr or run.stdout)[-500:]}")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: Path, tmp_path_factory: pytest.TempPathFactory):
    b = Browser(chromium, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()
