"""One refresh of a warehouse at a time: an OS file lock in the state folder.

The lock is released by the OS even when the process is SIGKILLed. Within one process it
is re-entrant: the CLI takes it before starting Prefect (so a second refresh is told
BUSY at once, not after a server start), and the flow it then runs takes it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from flows.warehouse.paths import StatePaths


class RefreshBusy(RuntimeError):
    """Another refresh of the same warehouse holds the lock."""


#: lock files this process holds, with how many times (re-entrant use)
_HELD: dict[str, int] = {}


@contextlib.contextmanager
def refresh_lock(paths: StatePaths, timeout_seconds: float = 0.0) -> Iterator[None]:
    """Hold the warehouse's refresh lock, waiting up to ``timeout_seconds``."""
    key = str(paths.lock_file)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
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
    _HELD[key] = 1
    try:
        yield
    finally:
        _HELD.pop(key, None)
        fh.seek(0)
        fh.truncate()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()
