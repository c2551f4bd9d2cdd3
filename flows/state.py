"""The pipeline's working state, kept beside the published warehouse.

``<warehouse dir>/.<name>.state/`` holds:

- ``work.duckdb``: the last *published* working database (raw versions, manifest,
  quarantine, dbt's staging/incremental tables). Never written by a run in progress.
- ``build.duckdb``: the private build of the run in progress, a copy of ``work.duckdb``
  taken at the start. A blocked, failed or killed run simply leaves it behind; the
  next run deletes it and starts again from ``work.duckdb``, so nothing needs
  cleaning by hand and a bad night never leaks into the next one.
- ``runs.jsonl`` and ``quality/<run_id>.json``: the history of every run, including
  blocked and failed ones (the published file cannot hold those: it is unchanged).
- ``refresh.lock``: held (flock) by the running refresh; a second one waits or leaves.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.atomic import write_text_atomically


class RefreshBusy(RuntimeError):
    """Another refresh of the same warehouse holds the lock."""


@dataclass(frozen=True)
class StatePaths:
    warehouse: Path
    root: Path

    @property
    def work_db(self) -> Path:
        return self.root / "work.duckdb"

    @property
    def build_db(self) -> Path:
        return self.root / "build.duckdb"

    @property
    def lock_file(self) -> Path:
        return self.root / "refresh.lock"

    @property
    def runs_log(self) -> Path:
        return self.root / "runs.jsonl"

    @property
    def quality_dir(self) -> Path:
        return self.root / "quality"

    @property
    def publish_tmp(self) -> Path:
        """Where the next published file is written before the atomic rename.

        Same folder as the warehouse, so ``os.replace`` is a rename on one filesystem.
        """
        return self.warehouse.with_name(f".{self.warehouse.name}.publishing")

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.quality_dir.mkdir(exist_ok=True)
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)


def state_paths(warehouse: Path, state_dir: Path | None = None) -> StatePaths:
    wh = Path(warehouse).resolve()
    root = Path(state_dir).resolve() if state_dir else wh.parent / f".{wh.stem}.state"
    return StatePaths(warehouse=wh, root=root)


@contextlib.contextmanager
def refresh_lock(paths: StatePaths, timeout_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's refresh lock (released by the OS even on SIGKILL)."""
    paths.ensure()
    fh = paths.lock_file.open("a+")
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "unknown process"
                fh.close()
                raise RefreshBusy(
                    f"another refresh of {paths.warehouse} is running ({holder}); "
                    "try again when it has finished"
                ) from None
            time.sleep(0.5)
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    fh.flush()
    try:
        yield
    finally:
        fh.seek(0)
        fh.truncate()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def start_private_build(paths: StatePaths) -> Path:
    """Fresh private build database: a copy of the last published working state.

    Leftovers of an interrupted run (build file, its WAL, a half-written publish file)
    are removed first: that is the whole recovery after a crash or SIGKILL.
    """
    paths.ensure()
    for stale in (
        paths.build_db,
        paths.build_db.with_name(paths.build_db.name + ".wal"),
        paths.publish_tmp,
        paths.publish_tmp.with_name(paths.publish_tmp.name + ".wal"),
    ):
        stale.unlink(missing_ok=True)
    if paths.work_db.exists():
        shutil.copyfile(paths.work_db, paths.build_db)
    return paths.build_db


def commit_build(paths: StatePaths) -> None:
    """The published build becomes the working state for the next run (atomic rename)."""
    _fsync(paths.build_db)
    os.replace(paths.build_db, paths.work_db)
    paths.work_db.with_name(paths.work_db.name + ".wal").unlink(missing_ok=True)
    _fsync_dir(paths.root)


def _fsync(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- run history ------------------------------------------------------------------------

def append_run(paths: StatePaths, record: dict[str, Any]) -> None:
    """Append one run record (one JSON line; a torn last line is ignored on read)."""
    paths.ensure()
    with paths.runs_log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_runs(paths: StatePaths) -> list[dict[str, Any]]:
    if not paths.runs_log.exists():
        return []
    runs = []
    for line in paths.runs_log.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            runs.append(json.loads(line))
    return runs


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
