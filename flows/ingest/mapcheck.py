"""Mappings checked against the exports before anything loads (``opskpi mappings check``
and the first step of a refresh).

Some mistakes show only next to the files: a source column named by an entry that none
of its files has (a typo), a required contract column left out of ``columns`` that no
file supplies by name, an ``sql`` expression that fails on the files' columns, one file
matched by two entries. Each matched file's first rows are read through its entry (the
same readers and SQL as the load), so the check finds what the load would find.

A mapping problem is one no file could satisfy; it stops a refresh. A single file
that does not fit a sound entry (an export missing a column the others have) is only
rejected when it loads, like any file, and the other files still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.db import connect, quote_ident
from flows.ingest.discover import ExportFile, discover
from flows.ingest.mapped import map_source
from flows.ingest.mappings import FileMapping, MappingError, MappingSet, Problem, load_mappings
from flows.ingest.read import TRIMMED, FileRejected, read_to_table
from flows.ingest.validate import install_macros

#: First rows read of each matched file by the check before a refresh.
PEEK_ROWS = 50


@dataclass
class Preview:
    """What a file's first rows give each contract column (``--exports``)."""

    rel: str
    entry: FileMapping | None
    problem: str | None = None  # why the file would be rejected
    columns: list[tuple[str, str, list[str | None]]] = field(default_factory=list)
    quarantined: list[tuple[int, str]] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    mappings: MappingSet
    problems: list[Problem] = field(default_factory=list)  # broken mappings: nothing may load
    conflicts: list[Problem] = field(default_factory=list)  # files matched by two entries
    previews: list[Preview] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # no mapping, no contract name
    idle: list[FileMapping] = field(default_factory=list)  # entries matching no file

    @property
    def ok(self) -> bool:
        return not self.problems and not self.conflicts


def check_mappings(folder: Path | None, exports_dir: Path | None = None,
                   preview_rows: int = 0) -> CheckResult:
    """Every problem of the mappings in ``folder``; with ``exports_dir`` also those that
    show next to the files, and (``preview_rows`` > 0) what each file's first rows give."""
    mappings, problems = load_mappings(folder)
    result = CheckResult(mappings, problems)
    if exports_dir is None:
        return result
    files = discover(exports_dir, mappings)
    con = connect()
    try:
        install_macros(con)
        con.execute("CREATE OR REPLACE TEMP TABLE opskpi_site_tz (site_id VARCHAR, timezone VARCHAR)")
        _check_files(con, result, files, preview_rows or PEEK_ROWS, preview_rows > 0)
    finally:
        con.close()
    return result


def preflight(folder: Path | None, exports_dir: Path) -> MappingSet:
    """The mappings a refresh reads the exports through; raises MappingError (one line:
    file, entry, problem) when any is broken. A file matched by two entries is not a
    reason to stop: it is rejected when it loads (mappings.md)."""
    mappings, problems = load_mappings(folder)
    if not mappings and not problems:
        return mappings  # nothing to check: the files are read by their names
    result = check_mappings(folder, exports_dir)
    if result.problems:
        raise MappingError(result.problems)
    return result.mappings


def _check_files(con: duckdb.DuckDBPyConnection, result: CheckResult, files: list[ExportFile],
                 rows: int, show: bool) -> None:
    by_entry: dict[str, list[tuple[ExportFile, set[str], str | None]]] = {}
    for f in files:
        if f.folder:
            continue
        if f.conflict:
            entry = f"{f.rel}"
            result.conflicts.append(Problem(entry, None, f.conflict))
            continue
        if f.mapping is None:
            if f.entity is None:
                result.unmatched.append(f.rel)
            continue
        names, problem, preview = _peek(con, f, rows, show)
        by_entry.setdefault(f.mapping.name, []).append((f, names, problem))
        if preview is not None:
            result.previews.append(preview)
    for entry in result.mappings.entries:
        seen = [(f, names) for f, names, _ in by_entry.get(entry.name, []) if names]
        if not by_entry.get(entry.name):
            result.idle.append(entry)
        if not seen:
            continue  # no readable file: nothing to learn from the files
        result.problems += _entry_problems(entry, seen, by_entry[entry.name])


def _peek(con: duckdb.DuckDBPyConnection, f: ExportFile, rows: int, show: bool
          ) -> tuple[set[str], str | None, Preview | None]:
    """(the file's column names, normalized; why it would be rejected; its preview)."""
    entry = f.mapping
    assert entry is not None
    preview = Preview(f.rel, entry) if show else None
    if f.problem or f.fmt is None:
        why = f.problem or "unsupported file extension"
        if preview:
            preview.problem = why
        return set(), why, preview
    table = "opskpi_peek"
    try:
        source = read_to_table(con, f.path, f.fmt, f.gzipped, table, entry.read.reader(rows))
    except FileRejected as exc:
        if preview:
            preview.problem = str(exc)
        return set(), str(exc), preview
    names = {c.name.strip(TRIMMED).lower() for c in source.columns if not c.beyond_header}
    problem = None
    try:
        mapped = map_source(con, entry, source)
        if preview:
            preview.extra = mapped.extra
            _fill_preview(con, preview, entry, mapped, source, f.fmt)
    except (FileRejected, duckdb.Error) as exc:
        problem = str(exc).splitlines()[0]
        if preview:
            preview.problem = problem
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return names, problem, preview


def _fill_preview(con: duckdb.DuckDBPyConnection, preview: Preview, entry: FileMapping,
                  mapped, source, fmt: str) -> None:
    entity = entry.entity
    query = mapped.checked_sql(entity, source, fmt, entry.timezone)
    shown = ", ".join(_shown(quote_ident(c.name), c.sql_type) for c in entity.columns)
    found = con.execute(
        f"SELECT _row, array_to_string(_reasons, '; '), {shown} FROM ({query}) ORDER BY _row"
    ).fetchall()
    for i, column in enumerate(entity.column_names):
        spec = mapped.sources.get(column)
        where = (spec.origin if spec is not None
                 else "no source" + (f": default {entity.column(column).default}"
                                     if entity.column(column).default else ": null"))
        preview.columns.append((column, where, [r[2 + i] for r in found]))
    preview.quarantined = [(r[0], r[1]) for r in found if r[1]]


def _shown(column: str, sql_type: str) -> str:
    """A typed value as the preview prints it (decimals without trailing zeros)."""
    text = f"CAST({column} AS VARCHAR)"
    if sql_type.startswith("DECIMAL"):
        return f"regexp_replace({text}, '\\.?0+$', '')"
    return text


def _entry_problems(entry: FileMapping, seen: list[tuple[ExportFile, set[str]]],
                    peeked: list[tuple[ExportFile, set[str], str | None]]) -> list[Problem]:
    """What no matched file could satisfy."""
    problems = []
    example_file, example_names = seen[0]
    has = ", ".join(sorted(example_names))

    def problem(message: str) -> None:
        problems.append(Problem(entry.path, entry.where, message))

    n = len(seen)
    files = f"{n} matched file{'s' if n > 1 else ''}"
    for spec in entry.columns:
        for name in spec.sources:
            key = name.strip(TRIMMED).lower()
            if not any(key in names for _, names in seen):
                problem(f"column {spec.contract!r}: source column {name!r} is in none of the "
                        f"{files} ({example_file.rel} has: {has})")
    listed = {c.contract for c in entry.columns}
    for required in entry.entity.required:
        if required not in listed and not any(required in names for _, names in seen):
            problem(f"required column {required!r} has no source: it is not under columns "
                    f"and none of the {files} has a column named {required!r}")
    if problems:
        return problems
    # an sql expression that fails on every readable file that has its columns
    sql_failures = [p for _, names, p in peeked if names and p and "sql expression" in p]
    if sql_failures and len(sql_failures) == n:
        problem(sql_failures[0])
    return problems
