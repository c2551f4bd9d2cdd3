"""Copies of a published warehouse for tests that change or re-refresh one."""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_published(warehouse: Path, target: Path) -> Path:
    """A private copy of a published file and its working state (work database, run
    history, gate results and pages), so a test can refresh it again on its own."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(warehouse, target)
    source = warehouse.parent / f".{warehouse.stem}.state"
    state = target.parent / f".{target.stem}.state"
    state.mkdir()
    shutil.copyfile(source / "work.duckdb", state / "work.duckdb")
    if (source / "runs.jsonl").is_file():
        shutil.copyfile(source / "runs.jsonl", state / "runs.jsonl")
    for folder in ("quality", "quality-reports"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, state / folder)
    return target
