"""Walk the exports folder: every entry the contract must account for, and what it is.

Nothing found is dropped silently. A folder that cannot be listed, a broken or looping
symbolic link, a FIFO, socket or device: each becomes an entry carrying the reason it
cannot be used, so the loader records it in ``audit.load_manifest`` like any other file.
Discovery opens no file: bytes are read once, later, by ``capture.py``.

A file matched by a source mapping (mappings.py) takes its entity from the mapping's
entry instead of its name; a file matched by two entries is kept with the reason.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path

from flows.contract import LOAD_PRIORITY, Entity, entity_for_filename, format_for_filename
from flows.ingest.mappings import NO_MAPPINGS, FileMapping, MappingSet


class ExportsFolderUnreadable(OSError):
    """The exports folder itself cannot be listed: the run can see no file at all."""


@dataclass(frozen=True)
class ExportFile:
    path: Path
    rel: str  # path relative to the exports folder, with '/' separators ('x/' for a folder)
    entity: Entity | None
    fmt: str | None  # csv | json | jsonl | parquet | xlsx; None = unsupported extension
    gzipped: bool
    problem: str | None = None  # why no byte of it can be read (None: a regular file)
    folder: bool = False  # an unreadable folder, not a file
    size_hint: int | None = None  # st_size when walked (the bytes read decide the size)
    mapping: FileMapping | None = None  # the mapping entry it is read through
    conflict: str | None = None  # matched by two mapping entries: why it cannot be read

    @property
    def format_label(self) -> str | None:
        if self.fmt is None:
            return None
        return f"{self.fmt}.gz" if self.gzipped else self.fmt


def discover(exports_dir: Path | str, mappings: MappingSet = NO_MAPPINGS) -> list[ExportFile]:
    """Every file under ``exports_dir`` in the order the contract processes them, and
    every folder or special file that cannot be read, with its reason.

    Order: ``sites`` files first (other entities need their time zones), then by
    relative path. Folders whose name starts with '.' (VCS folders, pipeline state) are
    not searched. Symbolic links are followed, to files and to folders; a link back to
    a folder that contains it is reported (once) instead of searched forever.
    """
    root = Path(exports_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"exports folder not found: {exports_dir}")
    st = root.stat()
    found: list[ExportFile] = []
    _walk(root, "", found, ancestors=((st.st_dev, st.st_ino),), is_root=True)
    if mappings:
        found = [_mapped(f, mappings) for f in found]
    return sorted(
        found,
        key=lambda f: (LOAD_PRIORITY.get(f.entity.name, 1) if f.entity else 1, f.rel),
    )


def _walk(
    folder: Path, prefix: str, found: list[ExportFile], ancestors: tuple, is_root: bool = False
) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        if is_root:
            raise ExportsFolderUnreadable(
                exc.errno, f"exports folder cannot be read: {exc.strerror}", str(folder)
            ) from exc
        found.append(_folder_problem(
            folder, prefix, f"folder cannot be read: {exc.strerror}; the files in it were not seen"))
        return
    for entry in entries:
        path, rel = Path(entry.path), prefix + entry.name
        try:
            is_link = entry.is_symlink()
            st = os.stat(path)  # follows links
        except OSError as exc:
            found.append(_file(path, rel, problem=_stat_problem(exc, is_link=_is_link(path))))
            continue
        if stat.S_ISDIR(st.st_mode):
            if entry.name.startswith("."):
                continue
            if (st.st_dev, st.st_ino) in ancestors:
                found.append(_folder_problem(
                    path, rel + "/", "symbolic link loop: the link leads back to a folder that "
                    "contains it; not searched again"))
                continue
            _walk(path, rel + "/", found, (*ancestors, (st.st_dev, st.st_ino)))
        elif stat.S_ISREG(st.st_mode):
            found.append(_file(path, rel, size_hint=st.st_size))
        else:
            kind = _kind(st.st_mode)
            via = " (through a symbolic link)" if is_link else ""
            found.append(_file(path, rel, problem=f"not a regular file: a {kind}{via}; not read"))


def _is_link(path: Path) -> bool:
    try:
        return path.is_symlink()
    except OSError:
        return False


def _stat_problem(exc: OSError, is_link: bool) -> str:
    if is_link and exc.errno == errno.ENOENT:
        return "broken symbolic link: its target does not exist"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop: the link never reaches a file"
    if exc.errno == errno.ENOENT:
        return "file disappeared before it could be read"
    return f"cannot be read: {exc.strerror}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _file(
    path: Path, rel: str, problem: str | None = None, size_hint: int | None = None
) -> ExportFile:
    entity = entity_for_filename(path.name)
    fmt = format_for_filename(path.name) if entity else None
    return ExportFile(
        path=path, rel=rel, entity=entity, fmt=fmt[0] if fmt else None,
        gzipped=fmt[1] if fmt else False, problem=problem, size_hint=size_hint,
    )


def _mapped(f: ExportFile, mappings: MappingSet) -> ExportFile:
    """The file as its mapping entry sees it (entity from the entry), if one matches."""
    if f.folder:
        return f
    entries = mappings.matching(f.rel)
    if not entries:
        return f
    fmt = format_for_filename(f.path.name)
    if len(entries) > 1:
        named = " and ".join(f"{e.path} {e.where}" for e in entries[:2])
        return replace(f, entity=entries[0].entity, fmt=fmt[0] if fmt else None,
                       gzipped=fmt[1] if fmt else False,
                       conflict=f"matched by two mappings: {named}; a file is read through "
                       "one mapping (make their match globs exclusive)")
    return replace(f, entity=entries[0].entity, fmt=fmt[0] if fmt else None,
                   gzipped=fmt[1] if fmt else False, mapping=entries[0])


def _folder_problem(path: Path, rel: str, problem: str) -> ExportFile:
    return ExportFile(path=path, rel=rel, entity=None, fmt=None, gzipped=False,
                      problem=problem, folder=True)
