"""A disk that fills during publish: the run fails in one line, the published file is
byte-identical, and no half-written file is left beside it.

The warehouse lives on a small tmpfs (mounted for the test, as root); its state folder on
the ordinary disk. After a first publish, the tmpfs is filled so that a new published file
cannot be written completely, and the next refresh must fail, not report "published".
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

AS_OF = "2026-01-11"


@pytest.fixture
def small_disk(tmp_path: Path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_publish_that_cannot_be_written_fails_and_changes_nothing(
    small_disk: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    from flows.generate import generate_exports

    exports, warehouse, state = tmp_path / "exports", small_disk / "ops.duckdb", tmp_path / "state"
    generate_exports(exports, seed=9, sites=1, days=7, scale=1)
    env = {**cli_env, "OPSKPI_DBT_TASK_PER_NODE": "false"}
    refresh = [sys.executable, "-m", "flows.cli", "refresh", "--exports", str(exports),
               "--warehouse", str(warehouse), "--state-dir", str(state), "--as-of", AS_OF]
    first = subprocess.run(refresh, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    before = _sha(warehouse)
    size = warehouse.stat().st_size

    # leave room for less than half a new published file
    stat = os.statvfs(small_disk)
    free = stat.f_bavail * stat.f_frsize
    with (small_disk / "filler").open("wb") as fh:
        fh.write(b"\0" * max(0, free - size // 2))
    stat = os.statvfs(small_disk)
    assert stat.f_bavail * stat.f_frsize < size

    second = subprocess.run(refresh, env=env, capture_output=True, text=True, timeout=900, check=False)

    assert second.returncode == 1, second.stderr[-3000:]
    last = second.stderr.splitlines()[-1]
    assert last.startswith(f"FAILED: nothing published, {warehouse} unchanged. "
                           "the new file could not be written: "), last
    assert "No space left on device" in last or "out of disk space" in last.lower(), last
    assert "Traceback" not in second.stderr
    assert [line.split()[0] for line in second.stderr.splitlines()[:-1]] == [
        "prepare", "ingest", "build", "check", "gate", "alerts"]
    assert _sha(warehouse) == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "ops.duckdb", "report"]
    from flows.warehouse.history import read_runs
    from flows.warehouse.paths import state_paths

    runs = read_runs(state_paths(warehouse, state))
    assert [r["outcome"] for r in runs] == ["published", "failed"]
    assert runs[-1]["reason"].startswith("PublishFailed: the new file could not be written: ")
    print(last)
