"""Tell someone when a refresh did not publish.

Prefect shows failed flow runs in its UI and can notify through its own automations;
for plain cron/CLI setups, ``OPSKPI_NOTIFY_COMMAND`` names a shell command that gets the
run record as JSON on stdin (pipe it to mail, a chat webhook script, a pager...).
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
    try:
        done = subprocess.run(
            command, shell=True, input=json.dumps(record, default=str), text=True,
            capture_output=True, timeout=60, check=False,
        )
        if done.returncode:
            logger.warning("notify command exited %s: %s", done.returncode, done.stderr.strip()[:500])
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("notify command could not run: %s", exc)
