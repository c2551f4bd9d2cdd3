"""Load discovered files into the working database: ``raw.<entity>`` keeps every valid
version of every record (with its file, row and run), ``audit.quarantine`` every bad
row with all its reasons, ``audit.load_manifest`` one row per file seen.

Idempotency is by content: a file whose bytes were already *loaded* is skipped
whatever its name, so re-delivering exports changes nothing. Each file is loaded in
its own transaction: a crash never leaves half a file behind.

Every entry of the folder ends up in the manifest: a file that cannot be read (no
permission, vanished, a broken or looping link, a FIFO) and a folder that cannot be
listed are rejected with their reason (``sha256`` = ``'unread'``: no byte was read),
and the other files still load. A file's bytes are read once, into a private copy
that is hashed on the way (capture.py): the manifest describes exactly what loaded.

A file matched by a source mapping (mappings.py) is read through it (mapped.py): the
same rules judge the mapped values, the quarantine keeps the source row as read, and
the manifest records the mapping and a hash of its entry. A changed entry does not
reload files already loaded (identity is the bytes); ``reload_mapping`` does, replacing
the records those files produced, each file in one transaction.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from flows.contract import ENTITIES, ENTITY_BY_NAME, Entity
from flows.db import quote_ident, quote_literal
from flows.ingest.capture import UNREAD, Captured, Unreadable, capture
from flows.ingest.discover import ExportFile, discover
from flows.ingest.mapped import map_source
from flows.ingest.mappings import NO_MAPPINGS, FileMapping, MappingSet
from flows.ingest.read import CONTRACT_READ, FileRejected, read_to_table
from flows.ingest.validate import checked_sql, install_macros, map_columns

LINEAGE_COLUMNS = {
    "_file": "VARCHAR",  # path relative to the exports folder
    "_row": "BIGINT",  # 1 = first data row
    "_run_id": "VARCHAR",
    "_loaded_at": "TIMESTAMPTZ",
}

MANIFEST_DDL = """
CREATE TABLE IF NOT EXISTS audit.load_manifest (
    path VARCHAR NOT NULL,     -- relative to the exports folder; a folder ends with '/'
    entity VARCHAR,
    sha256 VARCHAR NOT NULL,   -- of the bytes read; 'unread' when none could be read
    format VARCHAR,
    size_bytes BIGINT,         -- bytes read (and hashed, and loaded)
    status VARCHAR NOT NULL,   -- loaded | skipped_duplicate | rejected | unrecognised
    reason VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    schema_drift VARCHAR,      -- extra columns ignored (comma separated)
    run_id VARCHAR NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (path, sha256)
)
"""

#: Columns added to the manifest after its first release: added to a working database
#: that lacks them (ALTER TABLE ... ADD COLUMN IF NOT EXISTS).
MANIFEST_ADDED_COLUMNS = {
    "mapping": "VARCHAR",  # the source mapping the file was read through (its name)
    "mapping_entry": "INTEGER",  # its entry (1 = the first of its files list)
    "mapping_hash": "VARCHAR",  # hash of that entry (and the source's timezone)
}

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS audit.quarantine (
    entity VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    reasons VARCHAR NOT NULL,      -- every rule the row broke, '; ' separated
    reason_list VARCHAR[] NOT NULL,
    raw JSON NOT NULL,             -- the row as read (file's own column names, text values)
    run_id VARCHAR NOT NULL,
    quarantined_at TIMESTAMPTZ NOT NULL
)
"""

Logger = Callable[[str], None]


@dataclass
class FileOutcome:
    rel: str
    entity: str | None
    status: str
    reason: str | None = None
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    schema_drift: list[str] = field(default_factory=list)
    new: bool = True  # False when the manifest already had this (path, bytes)
    mapping: FileMapping | None = None  # the entry it was read through
    reloaded: bool = False  # its earlier records were replaced under a changed mapping


@dataclass
class IngestSummary:
    run_id: str
    files: list[FileOutcome]
    #: per mapping name: files loaded under an earlier version of its entry, not reloaded
    stale: dict[str, int] = field(default_factory=dict)

    @property
    def reloaded(self) -> list[str]:
        """Files whose records were replaced (``reload_mapping``): what they fed must be
        rebuilt, not merged incrementally."""
        return [f.rel for f in self.files if f.reloaded]

    def count(self, status: str, *, new_only: bool = True) -> int:
        return sum(1 for f in self.files if f.status == status and (f.new or not new_only))

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded or 0 for f in self.files if f.new)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined or 0 for f in self.files if f.new)

    def as_dict(self) -> dict[str, int]:
        return {
            "files_seen": len(self.files),
            "files_loaded": self.count("loaded"),
            "files_skipped_duplicate": self.count("skipped_duplicate"),
            "files_rejected": self.count("rejected", new_only=False),
            "files_unrecognised": self.count("unrecognised", new_only=False),
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "files_reloaded": len(self.reloaded),
        }


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and audit tables of the working database (idempotent)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(MANIFEST_DDL)
    for name, type_ in MANIFEST_ADDED_COLUMNS.items():
        con.execute(f"ALTER TABLE audit.load_manifest ADD COLUMN IF NOT EXISTS {name} {type_}")
    con.execute(QUARANTINE_DDL)
    for entity in ENTITIES:
        cols = [f"{quote_ident(c.name)} {c.sql_type}" for c in entity.columns]
        cols += [f"{name} {type_}" for name, type_ in LINEAGE_COLUMNS.items()]
        con.execute(f"CREATE TABLE IF NOT EXISTS raw.{entity.name} ({', '.join(cols)})")


def ingest_exports(
    con: duckdb.DuckDBPyConnection,
    exports_dir,
    run_id: str,
    now: datetime,
    log: Logger = print,
    scratch_dir: Path | None = None,
    mappings: MappingSet = NO_MAPPINGS,
    reload_mapping: str | None = None,
) -> IngestSummary:
    """Discover, judge and load every file of ``exports_dir`` (see module docstring).

    ``scratch_dir``: where the private copy of the file being loaded is kept (one file
    at a time, removed after); default: a folder beside the database file.
    ``mappings``: the source mappings files are matched against (already checked:
    mapcheck.py). ``reload_mapping``: the name of a mapping whose files already loaded
    are loaded again through its current entries, their earlier records replaced.
    """
    ensure_schema(con)
    install_macros(con)
    files = discover(exports_dir, mappings)
    known = {
        (p, s): (status, entity, mapping, mapping_hash, run)
        for p, s, status, entity, mapping, mapping_hash, run in con.execute(
            "SELECT path, sha256, status, entity, mapping, mapping_hash, run_id "
            "FROM audit.load_manifest"
        ).fetchall()
    }
    reload_paths = {p for (p, _), (status, _, mapping, _, _) in known.items()
                    if reload_mapping and status == "loaded" and mapping == reload_mapping}
    loaded_by_sha = dict(
        con.execute(
            "SELECT sha256, min(path) FROM audit.load_manifest WHERE status = 'loaded' GROUP BY 1"
        ).fetchall()
    )
    loaded_sizes = {
        r[0] for r in con.execute(
            "SELECT DISTINCT size_bytes FROM audit.load_manifest WHERE status = 'loaded'"
        ).fetchall()
    }
    _refresh_site_timezones(con)
    sites_pending = True
    outcomes: list[FileOutcome] = []
    stale: dict[str, int] = {}
    seen_reload: set[str] = set()
    with _Scratch(con, scratch_dir) as scratch:
        for f in files:
            if sites_pending and (f.entity is None or f.entity.name != "sites"):
                _refresh_site_timezones(con)  # this run's sites files are in: zones are final
                sites_pending = False
            captured, unreadable = _capture(f, scratch, loaded_by_sha, loaded_sizes,
                                            copy=f.rel in reload_paths)
            try:
                sha = captured.sha256 if captured else UNREAD
                previous = known.get((f.rel, sha))
                status = previous[0] if previous else None
                if status == "loaded" and previous[2] == reload_mapping and reload_mapping:
                    seen_reload.add(f.rel)
                    outcomes.append(_reload(con, f, captured, previous, reload_mapping, run_id,
                                            now, log))
                    continue
                if status in ("loaded", "skipped_duplicate"):
                    if (status == "loaded" and f.mapping is not None
                            and (previous[2], previous[3]) != (f.mapping.source, f.mapping.digest)):
                        stale[f.mapping.source] = stale.get(f.mapping.source, 0) + 1
                    outcomes.append(FileOutcome(f.rel, _name(f), status, new=False))
                    continue
                outcome = _judge_and_load(con, f, captured, unreadable, loaded_by_sha, run_id,
                                          now, log)
                outcome.new = previous is None or status != outcome.status
                if outcome.status == "loaded" and captured:
                    loaded_by_sha[captured.sha256] = f.rel
                    loaded_sizes.add(captured.size)
                outcomes.append(outcome)
            finally:
                if captured and captured.copy:
                    captured.copy.unlink(missing_ok=True)
    gone = sorted(reload_paths - seen_reload)
    if gone:
        log(f"mapping {reload_mapping}: {len(gone)} file(s) it loaded are no longer in the "
            f"exports folder (e.g. {gone[0]}): their records stay as they are")
    for source, count in sorted(stale.items()):
        log(f"mapping {source} changed: {count} file(s) loaded through an earlier version of "
            f"its entries were not reloaded (identity is the bytes); "
            f"'opskpi refresh --reload-mapping {source}' reloads them")
    return IngestSummary(run_id, outcomes, stale)


def _reload(con: duckdb.DuckDBPyConnection, f: ExportFile, captured: Captured | None,
            previous: tuple, reload_mapping: str, run_id: str, now: datetime,
            log: Logger) -> FileOutcome:
    """Load a file again through its mapping's current entry, replacing the records its
    earlier load produced (raw versions and quarantined rows, in one transaction)."""
    status, old_entity, _, _, old_run = previous
    if f.mapping is None or f.mapping.source != reload_mapping or f.conflict:
        why = f.conflict or f"no entry of mapping {reload_mapping} matches it now"
        log(f"not reloaded {f.rel}: {why}; its records stay as they are")
        return FileOutcome(f.rel, old_entity, status, new=False)
    assert captured is not None and captured.copy is not None and f.entity is not None
    outcome = _load_file(con, f, captured, f.entity, run_id, now, log,
                         replace=(old_entity, old_run))
    if outcome.status != "loaded":
        log(f"  {f.rel}: its records loaded earlier (run {old_run}) are kept")
        return FileOutcome(f.rel, old_entity, status, new=False)
    outcome.reloaded = True
    return outcome


class _Scratch:
    """A private folder for the copy of the file being loaded: beside the database
    file (same disk as the state, room for a big export), else the system's temp
    folder. A folder left by a killed run of the same database is cleared first."""

    def __init__(self, con: duckdb.DuckDBPyConnection, parent: Path | None) -> None:
        self.path: Path | None = None
        if parent is None:
            db_file = con.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchall()[0][0]
            if db_file:
                self.path = Path(db_file).with_name(f".{Path(db_file).name}.ingest-scratch")
                shutil.rmtree(self.path, ignore_errors=True)
                self.path.mkdir(parents=True)
        self.parent = parent

    def __enter__(self) -> Path:
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix="opskpi-ingest-", dir=self.parent))
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)


def _capture(
    f: ExportFile, scratch: Path, loaded_by_sha: dict[str, str], loaded_sizes: set[int],
    copy: bool = False,
) -> tuple[Captured | None, str | None]:
    """The file's bytes, read once: (captured, None), or (None, why nothing was read).

    A file that will be judged gets a private copy; one that cannot load (unrecognised
    name, unsupported extension) or is probably a re-delivery (same size as a loaded
    file) is first only hashed. A folder or special file is never opened."""
    if f.problem:
        return None, f.problem
    try:
        if f.entity is None or f.fmt is None or f.conflict:
            return capture(f.path, None), None
        if f.size_hint in loaded_sizes and not copy:
            hashed = capture(f.path, None)
            if hashed.sha256 in loaded_by_sha:
                return hashed, None
        suffix = f".{f.fmt}.gz" if f.gzipped else f".{f.fmt}"
        return capture(f.path, scratch / f"copy{suffix}"), None
    except Unreadable as exc:
        return None, str(exc)


def _name(f: ExportFile) -> str | None:
    return f.entity.name if f.entity else None


def _judge_and_load(
    con: duckdb.DuckDBPyConnection,
    f: ExportFile,
    captured: Captured | None,
    unreadable: str | None,
    loaded_by_sha: dict[str, str],
    run_id: str,
    now: datetime,
    log: Logger,
) -> FileOutcome:
    if f.folder:
        outcome = FileOutcome(f.rel, None, "rejected", f"{f.rel}: {unreadable}")
        log(f"REJECTED {f.rel}: {unreadable}")
    elif f.entity is None:
        outcome = FileOutcome(f.rel, None, "unrecognised", "file name matches no entity")
        log(f"unrecognised {f.rel}: file name matches no entity of the contract; skipped")
    elif captured is None:
        outcome = FileOutcome(f.rel, f.entity.name, "rejected", f"{f.rel}: {unreadable}")
        log(f"REJECTED {f.rel}: {unreadable}")
    elif f.conflict:
        outcome = FileOutcome(f.rel, f.entity.name, "rejected", f"{f.rel}: {f.conflict}")
        log(f"REJECTED {f.rel}: {f.conflict}")
    elif f.fmt is None:
        why = ("unsupported file extension (accepted: .csv .txt .json .jsonl .ndjson, each "
               "optionally .gz, and .xlsx .parquet)")
        outcome = FileOutcome(f.rel, f.entity.name, "rejected", f"{f.rel}: {why}")
        log(f"REJECTED {f.rel}: {why}")
    elif captured.sha256 in loaded_by_sha:
        outcome = FileOutcome(
            f.rel, f.entity.name, "skipped_duplicate",
            f"same bytes as {loaded_by_sha[captured.sha256]} (already loaded)",
        )
        log(f"skipped {f.rel}: same bytes as {loaded_by_sha[captured.sha256]}")
    else:
        assert captured.copy is not None  # a new file to judge always has its copy
        return _load_file(con, f, captured, f.entity, run_id, now, log)
    outcome.mapping = f.mapping
    _record(con, f, captured, outcome, run_id, now)
    return outcome


def _load_file(
    con: duckdb.DuckDBPyConnection,
    f: ExportFile,
    captured: Captured,
    entity: Entity,
    run_id: str,
    now: datetime,
    log: Logger,
    replace: tuple[str, str] | None = None,
) -> FileOutcome:
    """Judge and load one file (through its mapping entry, if any). ``replace``:
    (entity, run) of this file's earlier load, whose records it replaces."""
    src, checked = "opskpi_src", "opskpi_checked"
    entry = f.mapping
    through = f" (mapping {entry.source} {entry.where})" if entry else ""
    try:
        options = entry.read.reader() if entry else CONTRACT_READ
        source = read_to_table(con, captured.copy, f.fmt or "", f.gzipped, src, options,
                               work_dir=captured.copy.parent if captured.copy else None)
        if entry is None:
            mapping, extra = map_columns(entity, source)
            query = checked_sql(entity, mapping, source, f.fmt or "")
        else:
            mapped = map_source(con, entry, source)
            extra = mapped.extra
            query = mapped.checked_sql(entity, source, f.fmt or "", entry.timezone)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {checked} AS " + query)
    except FileRejected as exc:
        outcome = FileOutcome(f.rel, entity.name, "rejected", f"{f.rel}{through}: {exc}",
                              mapping=entry)
        log(f"REJECTED {f.rel}{through}: {exc}")
        if replace is None:
            _record(con, f, captured, outcome, run_id, now)
        con.execute(f"DROP TABLE IF EXISTS {src}")
        return outcome

    rows_read, rows_bad = con.execute(
        f"SELECT count(*), count(*) FILTER (len(_reasons) > 0) FROM {checked}"
    ).fetchone()
    cols = ", ".join(quote_ident(c) for c in entity.column_names)
    raw_json = "json_object(" + ", ".join(
        f"{quote_literal(name)}, s.{quote_ident(c.column)}"
        for name, c in zip(_unique(c.name for c in source.columns), source.columns, strict=True)
    ) + ")"
    outcome = FileOutcome(
        f.rel, entity.name, "loaded", None, rows_read, rows_read - rows_bad, rows_bad, extra,
        mapping=entry,
    )
    con.execute("BEGIN TRANSACTION")
    try:
        if replace is not None:
            old_entity, old_run = replace
            con.execute(f"DELETE FROM raw.{quote_ident(old_entity)} WHERE _file = ? AND _run_id = ?",
                        [f.rel, old_run])
            con.execute("DELETE FROM audit.quarantine WHERE file = ? AND run_id = ?",
                        [f.rel, old_run])
        con.execute(
            f"""
            INSERT INTO raw.{entity.name} ({cols}, _file, _row, _run_id, _loaded_at)
            SELECT {cols}, ?, _row, ?, ? FROM {checked} WHERE len(_reasons) = 0
            """,
            [f.rel, run_id, now],
        )
        if rows_bad:
            con.execute(
                f"""
                INSERT INTO audit.quarantine
                SELECT ?, ?, c._row, array_to_string(c._reasons, '; '), c._reasons,
                       {raw_json}, ?, ?
                FROM {checked} c JOIN {src} s ON s._row = c._row
                WHERE len(c._reasons) > 0
                ORDER BY c._row
                """,
                [entity.name, f.rel, run_id, now],
            )
        _record(con, f, captured, outcome, run_id, now, force=replace is not None)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS {checked}")
        con.execute(f"DROP TABLE IF EXISTS {src}")

    drift = f"; extra columns ignored: {', '.join(extra)}" if extra else ""
    verb = "reloaded" if replace is not None else "loaded"
    log(f"{verb} {f.rel} as {entity.name}{through}: {rows_read} rows, "
        f"{rows_read - rows_bad} loaded, {rows_bad} quarantined{drift}")
    if rows_bad:
        for row, reasons in con.execute(
            "SELECT row_number, reasons FROM audit.quarantine WHERE file = ? AND run_id = ? "
            "ORDER BY row_number LIMIT 5",
            [f.rel, run_id],
        ).fetchall():
            log(f"  quarantined {f.rel} row {row}: {reasons}")
    return outcome


def _unique(names) -> list[str]:
    """Keys of the quarantine's raw JSON: the file's names, a repeated one numbered."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _record(
    con: duckdb.DuckDBPyConnection, f: ExportFile, captured: Captured | None, o: FileOutcome,
    run_id: str, now: datetime, force: bool = False,
) -> None:
    """Upsert the manifest row of (path, bytes): a re-judged file keeps one row (``force``:
    a reloaded file's row describes its new load)."""
    entry = o.mapping or f.mapping
    changed = "true" if force else """load_manifest.status <> excluded.status
           OR coalesce(load_manifest.reason, '') <> coalesce(excluded.reason, '')"""
    con.execute(
        f"""
        INSERT INTO audit.load_manifest (path, entity, sha256, format, size_bytes, status,
            reason, rows_read, rows_loaded, rows_quarantined, schema_drift, run_id, loaded_at,
            mapping, mapping_entry, mapping_hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (path, sha256) DO UPDATE SET
            status = excluded.status, reason = excluded.reason,
            rows_read = excluded.rows_read, rows_loaded = excluded.rows_loaded,
            rows_quarantined = excluded.rows_quarantined, schema_drift = excluded.schema_drift,
            run_id = excluded.run_id, loaded_at = excluded.loaded_at,
            entity = excluded.entity, mapping = excluded.mapping,
            mapping_entry = excluded.mapping_entry, mapping_hash = excluded.mapping_hash
        WHERE {changed}
        """,
        [
            f.rel, o.entity, captured.sha256 if captured else UNREAD, f.format_label,
            captured.size if captured else None, o.status, o.reason,
            o.rows_read, o.rows_loaded, o.rows_quarantined,
            ", ".join(o.schema_drift) or None, run_id, now,
            entry.source if entry else None, entry.index if entry else None,
            entry.digest if entry else None,
        ],
    )


def _refresh_site_timezones(con: duckdb.DuckDBPyConnection) -> None:
    """Time zone of each site from its surviving ``sites`` version."""
    sites = ENTITY_BY_NAME["sites"]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE opskpi_site_tz AS
        SELECT site_id, timezone FROM raw.sites
        QUALIFY row_number() OVER (
            PARTITION BY {", ".join(sites.keys)} ORDER BY {sites.version_order}) = 1
        """
    )

