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
from flows.ingest.read import FileRejected, read_to_table
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


@dataclass
class IngestSummary:
    run_id: str
    files: list[FileOutcome]

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
        }


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and audit tables of the working database (idempotent)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute(MANIFEST_DDL)
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
) -> IngestSummary:
    """Discover, judge and load every file of ``exports_dir`` (see module docstring).

    ``scratch_dir``: where the private copy of the file being loaded is kept (one file
    at a time, removed after); default: a folder beside the database file.
    """
    ensure_schema(con)
    install_macros(con)
    files = discover(exports_dir)
    known = {
        (p, s): status
        for p, s, status in con.execute(
            "SELECT path, sha256, status FROM audit.load_manifest"
        ).fetchall()
    }
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
    with _Scratch(con, scratch_dir) as scratch:
        for f in files:
            if sites_pending and (f.entity is None or f.entity.name != "sites"):
                _refresh_site_timezones(con)  # this run's sites files are in: zones are final
                sites_pending = False
            captured, unreadable = _capture(f, scratch, loaded_by_sha, loaded_sizes)
            try:
                sha = captured.sha256 if captured else UNREAD
                previous = known.get((f.rel, sha))
                if previous in ("loaded", "skipped_duplicate"):
                    outcomes.append(FileOutcome(f.rel, _name(f), previous, new=False))
                    continue
                outcome = _judge_and_load(con, f, captured, unreadable, loaded_by_sha, run_id,
                                          now, log)
                outcome.new = previous is None or previous != outcome.status
                if outcome.status == "loaded" and captured:
                    loaded_by_sha[captured.sha256] = f.rel
                    loaded_sizes.add(captured.size)
                outcomes.append(outcome)
            finally:
                if captured and captured.copy:
                    captured.copy.unlink(missing_ok=True)
    return IngestSummary(run_id, outcomes)


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
) -> tuple[Captured | None, str | None]:
    """The file's bytes, read once: (captured, None), or (None, why nothing was read).

    A file that will be judged gets a private copy; one that cannot load (unrecognised
    name, unsupported extension) or is probably a re-delivery (same size as a loaded
    file) is first only hashed. A folder or special file is never opened."""
    if f.problem:
        return None, f.problem
    try:
        if f.entity is None or f.fmt is None:
            return capture(f.path, None), None
        if f.size_hint in loaded_sizes:
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
) -> FileOutcome:
    src, checked = "opskpi_src", "opskpi_checked"
    try:
        source = read_to_table(con, captured.copy, f.fmt or "", f.gzipped, src)
        mapping, extra = map_columns(entity, source)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {checked} AS "
            + checked_sql(entity, mapping, source, f.fmt or "")
        )
    except FileRejected as exc:
        outcome = FileOutcome(f.rel, entity.name, "rejected", f"{f.rel}: {exc}")
        log(f"REJECTED {f.rel}: {exc}")
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
        f.rel, entity.name, "loaded", None, rows_read, rows_read - rows_bad, rows_bad, extra
    )
    con.execute("BEGIN TRANSACTION")
    try:
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
        _record(con, f, captured, outcome, run_id, now)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS {checked}")
        con.execute(f"DROP TABLE IF EXISTS {src}")

    drift = f"; extra columns ignored: {', '.join(extra)}" if extra else ""
    log(f"loaded {f.rel} as {entity.name}: {rows_read} rows, {rows_read - rows_bad} loaded, "
        f"{rows_bad} quarantined{drift}")
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
    run_id: str, now: datetime,
) -> None:
    """Upsert the manifest row of (path, bytes): a re-judged file keeps one row."""
    con.execute(
        """
        INSERT INTO audit.load_manifest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (path, sha256) DO UPDATE SET
            status = excluded.status, reason = excluded.reason,
            rows_read = excluded.rows_read, rows_loaded = excluded.rows_loaded,
            rows_quarantined = excluded.rows_quarantined, schema_drift = excluded.schema_drift,
            run_id = excluded.run_id, loaded_at = excluded.loaded_at
        WHERE load_manifest.status <> excluded.status
           OR coalesce(load_manifest.reason, '') <> coalesce(excluded.reason, '')
        """,
        [
            f.rel, o.entity, captured.sha256 if captured else UNREAD, f.format_label,
            captured.size if captured else None, o.status, o.reason,
            o.rows_read, o.rows_loaded, o.rows_quarantined,
            ", ".join(o.schema_drift) or None, run_id, now,
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

