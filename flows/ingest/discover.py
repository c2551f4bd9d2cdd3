"""Walk the exports folder: which files are there, what entity and format they are,
and the SHA-256 of their bytes (a file's identity, whatever its name)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flows.contract import LOAD_PRIORITY, Entity, entity_for_filename, format_for_filename


@dataclass(frozen=True)
class ExportFile:
    path: Path
    rel: str  # path relative to the exports folder, with '/' separators
    entity: Entity | None
    fmt: str | None  # csv | json | jsonl | parquet | xlsx; None = unsupported extension
    gzipped: bool
    sha256: str
    size: int

    @property
    def format_label(self) -> str | None:
        if self.fmt is None:
            return None
        return f"{self.fmt}.gz" if self.gzipped else self.fmt


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def discover(exports_dir: Path | str) -> list[ExportFile]:
    """Every file under ``exports_dir``, in the order the contract processes them.

    Order: ``sites`` files first (other entities need their time zones), then by
    relative path. Folders whose name starts with '.' (VCS folders, pipeline state)
    are not searched.
    """
    root = Path(exports_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"exports folder not found: {exports_dir}")
    found: list[ExportFile] = []
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in rel_parts[:-1]) or not path.is_file():
            continue
        rel = "/".join(rel_parts)
        entity = entity_for_filename(path.name)
        fmt = format_for_filename(path.name) if entity else None
        found.append(
            ExportFile(
                path=path,
                rel=rel,
                entity=entity,
                fmt=fmt[0] if fmt else None,
                gzipped=fmt[1] if fmt else False,
                sha256=sha256_of(path),
                size=path.stat().st_size,
            )
        )
    return sorted(
        found,
        key=lambda f: (LOAD_PRIORITY.get(f.entity.name, 1) if f.entity else 1, f.rel),
    )
