"""The private build: the database a run writes into, and how it becomes the working state.

A run starts from a copy of the last published working state (``work.duckdb``). A
blocked, failed or killed run simply leaves its copy behind; the next run deletes it and
starts again, so nothing needs cleaning by hand and a bad night never leaks into the next
one. Only after a publish does the build replace the working state (atomic rename).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from flows.warehouse.paths import StatePaths


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
    fsync_file(paths.build_db)
    os.replace(paths.build_db, paths.work_db)
    paths.work_db.with_name(paths.work_db.name + ".wal").unlink(missing_ok=True)
    fsync_dir(paths.root)


def fsync_file(path: Path) -> None:
    with Path(path).open("rb") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
