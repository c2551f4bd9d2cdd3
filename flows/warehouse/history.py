"""The history of every run, kept in the state folder.

A blocked or failed run leaves the published file unchanged, so its record cannot live
there: ``runs.jsonl`` (one JSON line per run) and ``quality/<run_id>.json`` (the gate's
results) hold every run; the published ``audit.runs`` and ``audit.quality_results`` are
this history as of the publication.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from flows.atomic import write_text_atomically
from flows.warehouse.paths import StatePaths


def append_run(paths: StatePaths, record: dict[str, Any]) -> None:
    """Append one run record (one JSON line; a torn last line is ignored on read)."""
    paths.ensure()
    with paths.runs_log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_runs(paths: StatePaths) -> list[dict[str, Any]]:
    """Every run, oldest first. A run may have several lines (a published run is recorded
    the moment it publishes, then again when it ends): the last line of a run wins."""
    if not paths.runs_log.exists():
        return []
    runs: dict[str, dict[str, Any]] = {}
    for line in paths.runs_log.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            record = json.loads(line)
            runs[str(record.get("run_id"))] = record
    return list(runs.values())


def write_quality_results(paths: StatePaths, run_id: str, results: list[dict[str, Any]]) -> None:
    paths.ensure()
    write_text_atomically(paths.quality_dir / f"{run_id}.json", json.dumps(results, default=str, indent=1))


def read_quality_results(paths: StatePaths) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if paths.quality_dir.exists():
        for f in sorted(paths.quality_dir.glob("*.json")):
            with contextlib.suppress(json.JSONDecodeError):
                out.extend(json.loads(f.read_text(encoding="utf-8")))
    return out
