"""Full or incremental: decided once, here, before dbt starts.

Incremental results are only valid for the code and business rules that built them. The
fingerprint of the project (every SQL, macro and seed file, dbt_project.yml with its
vars) plus the vars passed on the command line is recorded by each complete build in
``meta.build_log`` (macros/build_log.sql); when it differs from the previous build's,
this build is a full one. The incremental models themselves only read ``meta.build_log``
to know what changed since (macros/incremental.sql).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class BuildMode:
    full_refresh: bool  # pass --full-refresh to dbt
    reason: str  # why this mode, in words


def project_fingerprint(project_dir: Path, dbt_vars: dict | None = None) -> str:
    """Hash of everything that decides what the models compute. Documentation YAML does
    not count."""
    digest = hashlib.sha256()
    files = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds"):
        files += sorted(p for p in (project_dir / folder).rglob("*") if p.suffix in (".sql", ".csv"))
    for path in files:
        digest.update(path.relative_to(project_dir).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(dbt_vars or {}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def previous_fingerprint(database: Path) -> str | None:
    """The fingerprint of the last complete build recorded in ``database``, if any."""
    if not Path(database).exists():
        return None
    con = duckdb.connect(str(database), read_only=True)
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = 'meta' AND table_name = 'build_log' AND column_name = 'fingerprint'"
        ).fetchone()[0]
        if not found:
            return None
        row = con.execute("SELECT fingerprint FROM meta.build_log ORDER BY built_at DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return row[0] if row else None


def decide_mode(database: Path, fingerprint: str, full_refresh_asked: bool) -> BuildMode:
    if full_refresh_asked:
        return BuildMode(True, "full refresh asked for")
    previous = previous_fingerprint(database)
    if previous is None:
        return BuildMode(False, "first build")  # every model is built from scratch anyway
    if previous != fingerprint:
        return BuildMode(True, "the dbt project or its vars changed since the previous build")
    return BuildMode(False, "incremental")
