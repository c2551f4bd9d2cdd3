"""Tell someone when a refresh did not publish.

Prefect shows failed flow runs in its UI and can notify through its own automations;
for plain cron/CLI setups, ``OPSKPI_NOTIFY_COMMAND`` names a shell command that gets the
run record as JSON on stdin (pipe it to mail, a chat webhook script, a pager...). The same
command gets the KPI alerts of a publication (``{"kind": "kpi_alerts", ...}``; a run
record has an ``outcome`` and no ``kind``).
"""

from __future__ import annotations

import json
import logging
import subprocess
from typing import Any


def notify_unpublished(record: dict[str, Any], command: str | None, logger: logging.Logger | Any) -> None:
    """Log the outcome loudly and run the notification command, if configured.

    A notification that fails is logged, never raised: it must not change the outcome.
    """
    logger.error(
        "refresh %s was %s: %s", record.get("run_id"), record.get("outcome"), record.get("reason")
    )
    if not command:
        return
    run_notify_command(command, record, logger)


def notify_kpi_alerts(payload: dict[str, Any], command: str | None, logger: logging.Logger | Any) -> None:
    """Log each new KPI alert and pass them all to the notification command (if any)."""
    for alert in payload.get("alerts", []):
        logger.warning("KPI alert: %s", alert.get("message"))
    if command and payload.get("alerts"):
        run_notify_command(command, payload, logger)


def run_notify_command(command: str, document: dict[str, Any], logger: logging.Logger | Any) -> None:
    """Run ``command`` with ``document`` as JSON on stdin; a failure is logged, never raised."""
    record = document
    try:
        done = subprocess.run(
            command, shell=True, input=json.dumps(record, default=str), text=True,
            capture_output=True, timeout=60, check=False,
        )
        if done.returncode:
            logger.warning("notify command exited %s: %s", done.returncode, done.stderr.strip()[:500])
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("notify command could not run: %s", exc)
