"""Read each export's bytes once: hash them while copying them into a private file.

The manifest identifies a file by the SHA-256 of its bytes, so the bytes hashed must be
exactly the bytes loaded. Hashing the export and then letting a reader open it again
would load other bytes whenever the file changes in between (a system still writing
it). So a file to be loaded is read in one pass that feeds the hash and a private copy
in a scratch folder, and the readers only ever see that copy.

A file whose size equals the size of a file already loaded is likely a re-delivery;
it is first only hashed (one read, no copy) and copied only if its hash turns out to
be new, so the nightly re-reading of old exports costs what it always did.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

#: ``audit.load_manifest.sha256`` of an entry of which no byte could be read (no read
#: permission, a vanished file, a broken link, a FIFO, an unreadable folder). Never a
#: hex digest, so it cannot collide with the identity of real bytes; the manifest key
#: (path, sha256) keeps one row per unreadable path, updated each time it is seen.
UNREAD = "unread"

CHUNK = 1 << 20


class Unreadable(Exception):
    """No usable bytes: the message says why (without the file name)."""


@dataclass(frozen=True)
class Captured:
    sha256: str
    size: int
    copy: Path | None  # the private copy holding exactly those bytes (None: hashed only)


def capture(path: Path, copy_to: Path | None) -> Captured:
    """Hash ``path`` in one pass, copying its bytes to ``copy_to`` when given."""
    fd = _open_regular(path)
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "rb", buffering=0) as src:
        out = copy_to.open("wb") if copy_to is not None else None
        try:
            while True:
                try:
                    block = src.read(CHUNK)
                except OSError as exc:
                    raise Unreadable(f"read failed after {size} bytes: {exc.strerror}") from exc
                if not block:
                    break
                digest.update(block)
                if out is not None:
                    out.write(block)
                size += len(block)
        finally:
            if out is not None:
                out.close()
    return Captured(digest.hexdigest(), size, copy_to)


def _open_regular(path: Path) -> int:
    """A read-only descriptor of a regular file; never blocks (a FIFO swapped in after
    the walk is refused, not waited on)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise Unreadable("file disappeared before it could be read") from exc
    except PermissionError as exc:
        raise Unreadable(f"cannot be read: {exc.strerror} (no read permission)") from exc
    except OSError as exc:
        raise Unreadable(f"cannot be read: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Unreadable("not a regular file; not read")
    return fd
