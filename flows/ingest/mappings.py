"""Source mappings (docs/spec/mappings.md): how one source system's own files become
contract entities, read from YAML into typed objects and checked before anything loads.

A mapping folder holds one ``*.yml`` per source system (sub-folders are not read, so
``mappings/examples/`` stays inactive until pointed at). Every problem is found at once
and worded as one line naming the mapping file, the entry and what is wrong, so that
``opskpi mappings check`` can list them all and a refresh can stop on the first.

Scalars are read as text (YAML's own typing would turn the status code ``010`` into 8
and ``no`` into false); numbers such as ``header_row`` are parsed here.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from flows.contract import ENTITIES, ENTITY_BY_NAME, Entity
from flows.db import connect, quote_ident, quote_literal
from flows.ingest.read import ReaderOptions

#: Encodings a mapping may name, with the spellings people use for them.
ENCODINGS = {
    "utf-8": "utf-8", "utf8": "utf-8",
    "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1",
    "cp1252": "cp1252", "windows-1252": "cp1252", "win1252": "cp1252",
    "utf-16": "utf-16", "utf16": "utf-16",
}
DECIMAL_SEPARATORS = (".", ",")
#: Thousands separators: point, comma, space, apostrophe (Swiss), no-break spaces.
THOUSANDS_SEPARATORS = (".", ",", " ", "'", "\u00a0", "\u202f")

TOP_KEYS = ("source", "timezone", "files")
ENTRY_KEYS = ("match", "entity", "read", "columns")
READ_KEYS = ("delimiter", "encoding", "decimal", "thousands", "date", "timestamp",
             "header_row", "sheet", "skip_footer")

#: Contract types whose values a date or timestamp format parses.
DATE_TYPES = ("date", "month")
TIMESTAMP_TYPES = ("ts", "date_or_ts")

#: A moment whose every field differs, to check that a format parses what it writes.
_PROBE = "2031-11-27 13:45:56.123456"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping, as one line."""

    file: str
    entry: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.message}" if self.entry else \
            f"{self.file}: {self.message}"


class MappingError(ValueError):
    """Broken mappings: nothing may load. The message is the first problem (one line)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        more = len(problems) - 1
        extra = f" (and {more} more: opskpi mappings check lists them)" if more else ""
        super().__init__(f"mapping error: {problems[0]}{extra}")


@dataclass(frozen=True)
class ReadOptions:
    """A mapping entry's ``read``: how its files are written."""

    delimiter: str | None = None
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = None
    date: str | None = None
    timestamp: str | None = None
    header_row: int | None = None
    sheet: str | None = None
    skip_footer: int = 0

    def reader(self, limit: int | None = None) -> ReaderOptions:
        return ReaderOptions(delimiter=self.delimiter, encoding=self.encoding,
                             header_row=self.header_row, sheet=self.sheet,
                             skip_footer=self.skip_footer, decimal=self.decimal, limit=limit)

    @property
    def converts_numbers(self) -> bool:
        return self.decimal != "." or self.thousands is not None


@dataclass(frozen=True)
class ColumnSource:
    """Where one contract column's value comes from."""

    contract: str
    kind: str  # column | from | const | sql
    column: str | None = None  # source column (column, from)
    map: tuple[tuple[str, str | None], ...] = ()
    format: str | None = None
    const: str | None = None
    sql: str | None = None
    refs: tuple[str, ...] = ()  # source columns an sql expression names

    @property
    def origin(self) -> str:
        """Where the value comes from, in words: 'from STATUS via map', 'sql ...'."""
        if self.kind == "const":
            return f"const {self.const!r}"
        if self.kind == "sql":
            sql = " ".join((self.sql or "").split())
            return f"sql {sql[:77] + '...' if len(sql) > 80 else sql}"
        how = f"from {self.column}" + (" via map" if self.map else "")
        return how + (f", format {self.format}" if self.format else "")

    @property
    def label(self) -> str:
        """How a reason names the column: the contract column and where it came from."""
        return f"{self.contract} ({self.origin})"

    @property
    def sources(self) -> tuple[str, ...]:
        """The source columns it reads."""
        if self.kind in ("column", "from"):
            return (self.column or "",)
        return self.refs


@dataclass(frozen=True)
class FileMapping:
    """One ``files`` entry: the files it matches, their entity, how to read them."""

    source: str  # the mapping's name
    path: str  # the mapping file, as shown in messages
    index: int  # 1-based position in ``files``
    match: str
    entity: Entity
    read: ReadOptions
    columns: tuple[ColumnSource, ...]
    timezone: str | None
    digest: str  # hash of the entry (and the source's timezone): the manifest records it
    pattern: re.Pattern = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    @property
    def where(self) -> str:
        return f"entry {self.index} (match {self.match!r}, {self.entity.name})"

    @property
    def name(self) -> str:
        """The entry in one word, as the manifest and the log show it."""
        return f"{self.source}#{self.index}"

    def matches(self, rel: str) -> bool:
        return self.pattern.fullmatch(rel) is not None

    def column(self, contract: str) -> ColumnSource | None:
        return next((c for c in self.columns if c.contract == contract), None)

    @property
    def by_name(self) -> list[str]:
        """Required contract columns not under ``columns``: each file must have a source
        column of the same name (mappings.md)."""
        listed = {c.contract for c in self.columns}
        return [c for c in self.entity.required if c not in listed]


@dataclass(frozen=True)
class Mapping:
    source: str
    path: str
    timezone: str | None
    files: tuple[FileMapping, ...]


@dataclass
class MappingSet:
    """Every mapping of a folder (empty when there is none)."""

    folder: Path | None = None
    mappings: list[Mapping] = field(default_factory=list)

    @property
    def entries(self) -> list[FileMapping]:
        return [e for m in self.mappings for e in m.files]

    def matching(self, rel: str) -> list[FileMapping]:
        """The entries whose ``match`` matches the relative path ``rel``."""
        return [e for e in self.entries if e.matches(rel)]

    def names(self) -> list[str]:
        return [m.source for m in self.mappings]

    def __bool__(self) -> bool:
        return bool(self.mappings)


NO_MAPPINGS = MappingSet()


def default_mappings_dir(exports_dir: Path) -> Path:
    """mappings.md: ``mappings/`` beside the exports folder's parent (``data/exports``
    → ``mappings/`` at the root of the project)."""
    return Path(exports_dir).absolute().parent.parent / "mappings"


# --- globs ----------------------------------------------------------------------------


def glob_pattern(glob: str) -> re.Pattern:
    """A ``match`` glob as a regex over relative paths, case-insensitive.

    ``*`` and ``?`` stay within a folder name, ``[abc]`` is a class, ``**`` is any number
    of folders (also none). A glob without ``/`` matches the file name in any folder (as
    in .gitignore); one with ``/`` matches the whole path from the exports folder."""
    glob = glob.strip().lstrip("/")
    if "/" not in glob:
        glob = "**/" + glob
    parts: list[str] = []
    segments = glob.split("/")
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]*/)*")
            continue
        parts.append(_segment(segment) + ("" if last else "/"))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _segment(segment: str) -> str:
    out, i = [], 0
    while i < len(segment):
        ch = segment[i]
        close = segment.find("]", i + 2) if ch == "[" else -1
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif close > 0:
            body = segment[i + 1:close]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


# --- loading --------------------------------------------------------------------------


class _Loader(yaml.BaseLoader):
    """Every scalar as text; a key written twice in one mapping is an error."""


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[str] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, str) and key != "<<" and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} written twice", key_node.start_mark)
        seen.add(key)
    mapping = loader.construct_mapping(node, deep=True)
    merged = mapping.pop("<<", None)  # YAML's merge key: "<<: *defaults" (the keys here win)
    if merged is None:
        return mapping
    sources = merged if isinstance(merged, list) else [merged]
    if not all(isinstance(m, dict) for m in sources):
        raise yaml.constructor.ConstructorError(
            None, None, "'<<' merges mappings only", node.start_mark)
    out: dict = {}
    for source in reversed(sources):
        out.update(source)
    out.update(mapping)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def mapping_files(folder: Path) -> list[Path]:
    """The mapping files of a folder: ``*.yml`` and ``*.yaml``, not in sub-folders."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in (".yml", ".yaml"))


def load_mappings(folder: Path | None) -> tuple[MappingSet, list[Problem]]:
    """Read and check every mapping of ``folder`` (None or missing: no mappings).

    Returns the valid mappings and every problem found. A required contract column left
    out of ``columns`` is no problem here: it may come from a source column of its own
    name (mappings.md), which only the files can tell (mapcheck.py)."""
    if folder is None or not Path(folder).is_dir():
        return MappingSet(Path(folder) if folder else None), []
    folder = Path(folder)
    problems: list[Problem] = []
    mappings: list[Mapping] = []
    seen_sources: dict[str, str] = {}
    con = connect()
    try:
        for path in mapping_files(folder):
            shown = _shown_path(path)
            found = _load_one(con, path, shown, problems)
            if found is None:
                continue
            if found.source.lower() in seen_sources:
                problems.append(Problem(shown, None, f"source {found.source!r} is also the "
                                        f"source of {seen_sources[found.source.lower()]}: "
                                        "each source system has one mapping file"))
                continue
            seen_sources[found.source.lower()] = shown
            mappings.append(found)
    finally:
        con.close()
    return MappingSet(folder, mappings), problems


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _load_one(con: duckdb.DuckDBPyConnection, path: Path, shown: str,
              problems: list[Problem]) -> Mapping | None:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_Loader)
    except yaml.YAMLError as exc:
        problems.append(Problem(shown, None, f"not valid YAML: {_yaml_error(exc)}"))
        return None
    except (OSError, UnicodeError) as exc:
        problems.append(Problem(shown, None, f"cannot be read: {exc}"))
        return None
    start = len(problems)
    if not isinstance(doc, dict):
        problems.append(Problem(shown, None, "not a mapping: expected the keys source, "
                                "timezone (optional) and files"))
        return None
    for key in doc:
        if key not in TOP_KEYS:
            problems.append(Problem(shown, None, f"unknown key {key!r}{_did_you_mean(key, TOP_KEYS)}"
                                    f" (keys: {', '.join(TOP_KEYS)})"))
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(Problem(shown, None, "source: missing (the name of the source system)"))
        source = ""
    elif not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", source.strip()):
        problems.append(Problem(shown, None, f"source: {source!r} is not a name (letters, digits, "
                                "'_', '.', '-')"))
    source = source.strip() if isinstance(source, str) else ""
    timezone = doc.get("timezone")
    if timezone is not None:
        if not isinstance(timezone, str) or not _is_timezone(con, timezone.strip()):
            problems.append(Problem(shown, None, f"timezone: {timezone!r} is not an IANA time "
                                    "zone name (e.g. Europe/Berlin)"))
            timezone = None
        else:
            timezone = timezone.strip() or None
    files = doc.get("files")
    entries: list[FileMapping] = []
    if not isinstance(files, list) or not files:
        problems.append(Problem(shown, None, "files: missing or empty (a list of entries with "
                                "match, entity, read and columns)"))
    else:
        for index, raw in enumerate(files, start=1):
            entry = _entry(con, shown, source, timezone, index, raw, problems)
            if entry is not None:
                entries.append(entry)
    if len(problems) > start:
        return None
    return Mapping(source, shown, timezone, tuple(entries))


def _yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}{(context + ': ') if context and 'while' not in context else ''}{what}"


def _is_timezone(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM pg_timezone_names() WHERE name = ?",
                            [name]).fetchone()[0])


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word).lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _entry(con: duckdb.DuckDBPyConnection, shown: str, source: str, timezone: str | None,
           index: int, raw: Any, problems: list[Problem]) -> FileMapping | None:
    start = len(problems)
    if not isinstance(raw, dict):
        problems.append(Problem(shown, f"entry {index}", "not a mapping with match, entity, "
                                "read and columns"))
        return None
    match = raw.get("match")
    entity_name = raw.get("entity")
    where = (f"entry {index} (match {match!r}, {entity_name})" if isinstance(match, str)
             else f"entry {index}")

    def problem(message: str) -> None:
        problems.append(Problem(shown, where, message))

    for key in raw:
        if key not in ENTRY_KEYS:
            problem(f"unknown key {key!r}{_did_you_mean(key, ENTRY_KEYS)} "
                    f"(keys: {', '.join(ENTRY_KEYS)})")
    pattern = None
    if not isinstance(match, str) or not match.strip():
        problem("match: missing (a glob of the files, e.g. 'sap/LIPS_*.csv')")
    else:
        try:
            pattern = glob_pattern(match)
        except (re.error, ValueError) as exc:
            problem(f"match: {match!r} is not a glob ({exc})")
    entity = ENTITY_BY_NAME.get(str(entity_name).strip().lower()) if isinstance(
        entity_name, str) else None
    if entity is None:
        names = [e.name for e in ENTITIES]
        problem(f"entity: {entity_name!r} is not an entity of the contract"
                f"{_did_you_mean(entity_name, names)} (entities: {', '.join(names)})"
                if entity_name is not None else "entity: missing")
    read = _read_options(con, raw.get("read"), problem)
    columns: list[ColumnSource] = []
    if entity is not None:
        columns = _columns(con, entity, raw.get("columns"), problem)
    if len(problems) > start or entity is None or read is None or pattern is None:
        return None
    digest = hashlib.sha256(json.dumps({"timezone": timezone, "entry": raw}, sort_keys=True,
                                       ensure_ascii=False).encode()).hexdigest()[:16]
    return FileMapping(source, shown, index, match, entity, read, tuple(columns), timezone,
                       digest, pattern)


def _read_options(con: duckdb.DuckDBPyConnection, raw: Any, problem) -> ReadOptions | None:
    if raw is None:
        return ReadOptions()
    if not isinstance(raw, dict):
        problem(f"read: not a mapping of options ({', '.join(READ_KEYS)})")
        return None
    ok = True
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in READ_KEYS:
            problem(f"read: unknown option {key!r}{_did_you_mean(key, READ_KEYS)} "
                    f"(options: {', '.join(READ_KEYS)})")
            ok = False
            continue
        if not isinstance(value, str):
            problem(f"read: {key}: {value!r} is not a single value")
            ok = False
            continue
        error = None
        if key == "delimiter":
            value = "\t" if value.lower() in ("tab", "\\t") else value
            if len(value) != 1 or value in ('"', "\n", "\r"):
                error = f"{value!r} is not one character (e.g. ';', '|', 'tab')"
        elif key == "encoding":
            if value.strip().lower() not in ENCODINGS:
                error = f"{value!r} is not one of utf-8, latin-1, cp1252, utf-16"
            value = ENCODINGS.get(value.strip().lower(), value)
        elif key == "decimal":
            if value not in DECIMAL_SEPARATORS:
                error = f"{value!r} is not '.' or ','"
        elif key == "thousands":
            if value not in THOUSANDS_SEPARATORS:
                error = f"{value!r} is not one of '.', ',', ' ', \"'\""
        elif key in ("date", "timestamp"):
            error = format_problem(con, value, "date" if key == "date" else "ts")
        elif key in ("header_row", "skip_footer"):
            least = 1 if key == "header_row" else 0
            if not re.fullmatch(r"\s*\d+\s*", value) or int(value) < least:
                error = f"{value!r} is not a whole number ≥ {least}"
            else:
                value = int(value)
        elif key == "sheet" and not value.strip():
            error = "empty (the name of the sheet)"
        if error:
            problem(f"read: {key}: {error}")
            ok = False
        values[key] = value
    if ok and values.get("thousands") is not None and values.get("thousands") == values.get(
            "decimal", "."):
        problem(f"read: thousands {values['thousands']!r} is also the decimal separator")
        ok = False
    return ReadOptions(**values) if ok else None


def format_problem(con: duckdb.DuckDBPyConnection, fmt: str, kind: str) -> str | None:
    """Why ``fmt`` is not a usable strptime format for a date (``kind`` 'date') or a
    timestamp ('ts'), or None. A format must be valid for DuckDB's strptime and parse
    back the date it writes (so 'dd.mm.yyyy' or '%d.%m.%Q' are refused)."""
    if "%" not in fmt:
        return (f"{fmt!r} is not a strptime format: it has no %-directives "
                "(e.g. '%d.%m.%Y' for 31.12.2026)")
    try:
        written, back = con.execute(
            f"SELECT strftime(TIMESTAMP '{_PROBE}', {quote_literal(fmt)}), "
            f"try_strptime(strftime(TIMESTAMP '{_PROBE}', {quote_literal(fmt)}), "
            f"{quote_literal(fmt)})"
        ).fetchone()
    except duckdb.Error as exc:
        return f"{fmt!r} is not a strptime format: {_duck_message(exc)}"
    if back is None or back.year != 2031 or back.month != 11 or back.day != 27:
        return (f"{fmt!r} does not parse back the {'date' if kind == 'date' else 'timestamp'} "
                f"it writes ({written!r}): it needs the year, month and day")
    return None


def _duck_message(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0]
    return re.sub(r"^[A-Za-z ]*Error: ", "", text)


def _columns(con: duckdb.DuckDBPyConnection, entity: Entity, raw: Any,
             problem) -> list[ColumnSource]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problem("columns: not a mapping of contract column → source")
        return []
    out: list[ColumnSource] = []
    for contract, spec in raw.items():
        name = str(contract).strip().lower()
        if name not in entity.column_names:
            problem(f"column {contract!r} is not a column of {entity.name}"
                    f"{_did_you_mean(name, entity.column_names)} "
                    f"(columns: {', '.join(entity.column_names)})")
            continue
        found = _column(con, entity, name, spec, problem)
        if found is not None:
            out.append(found)
    return out


_FORMS = ("a source column name, {from: COLUMN} (with map and format), {const: VALUE} or "
          "{sql: EXPRESSION}")


def _column(con: duckdb.DuckDBPyConnection, entity: Entity, name: str, spec: Any,
            problem) -> ColumnSource | None:
    col = entity.column(name)
    where = f"column {name!r}"
    if isinstance(spec, str):
        if not spec.strip():
            problem(f"{where}: empty: expected {_FORMS}")
            return None
        return ColumnSource(name, "column", column=spec.strip())
    if not isinstance(spec, dict):
        problem(f"{where}: expected {_FORMS}")
        return None
    keys = set(spec)
    if keys <= {"from", "map", "format"} and "from" in keys:
        source = spec["from"]
        if not isinstance(source, str) or not source.strip():
            problem(f"{where}: from: expected the name of a source column")
            return None
        pairs: list[tuple[str, str | None]] = []
        ok = True
        if "map" in spec:
            table = spec["map"]
            if not isinstance(table, dict) or not table:
                problem(f"{where}: map: expected source value → contract value pairs, "
                        "e.g. {\"10\": open}")
                ok = False
            else:
                for key, value in table.items():
                    if not isinstance(key, str) or not isinstance(value, str):
                        problem(f"{where}: map: {key!r}: keys and values must be single values, "
                                "not lists or mappings")
                        ok = False
                    elif not key.strip():
                        problem(f"{where}: map: an empty key (empty values are null, never "
                                "mapped)")
                        ok = False
                    else:
                        pairs.append((key.strip(), value.strip() or None))
                folded = [k.lower() for k, _ in pairs]
                if len(set(folded)) != len(folded):
                    twice = next(k for k, _ in pairs if folded.count(k.lower()) > 1)
                    problem(f"{where}: map: key {twice!r} written twice (keys are compared "
                            "trimmed and ignoring case)")
                    ok = False
        fmt = spec.get("format")
        if fmt is not None:
            if not isinstance(fmt, str):
                problem(f"{where}: format: expected a strptime format")
                ok = False
            elif col.type not in DATE_TYPES + TIMESTAMP_TYPES:
                problem(f"{where}: format: {name} is a {col.type} column; a format is for "
                        "date and timestamp columns (numbers use read: decimal/thousands)")
                ok = False
            else:
                error = format_problem(con, fmt, "date" if col.type in DATE_TYPES else "ts")
                if error:
                    problem(f"{where}: format: {error}")
                    ok = False
        if not ok:
            return None
        return ColumnSource(name, "from", column=source.strip(), map=tuple(pairs), format=fmt)
    if keys == {"const"}:
        value = spec["const"]
        if not isinstance(value, str):
            problem(f"{where}: const: expected a single value")
            return None
        return ColumnSource(name, "const", const=value.strip())
    if keys == {"sql"}:
        expression = spec["sql"]
        if not isinstance(expression, str) or not expression.strip():
            problem(f"{where}: sql: expected a SQL expression over the source columns")
            return None
        refs, error = sql_references(con, expression)
        if error:
            problem(f"{where}: sql: {error}")
            return None
        return ColumnSource(name, "sql", sql=expression.strip(), refs=tuple(refs))
    unknown = sorted(keys - {"from", "map", "format", "const", "sql"})
    if unknown:
        problem(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}: expected {_FORMS}")
    elif "from" not in keys and keys & {"map", "format"}:
        problem(f"{where}: map and format need from: the source column they apply to")
    else:
        problem(f"{where}: {', '.join(sorted(keys))} cannot be combined: expected {_FORMS}")
    return None


# --- SQL expressions --------------------------------------------------------------------


def sql_references(con: duckdb.DuckDBPyConnection, expression: str) -> tuple[list[str], str | None]:
    """(source columns ``expression`` names, why it does not compile or None).

    It must parse as one SQL expression without a subquery and bind as a value of one
    row (no aggregate), whatever the types of the columns: each is tried as text, as a
    number and as a date (a file's own values decide later, mapped.py)."""
    parsed = json.loads(con.execute("SELECT json_serialize_sql(?)",
                                    [f"SELECT {expression}"]).fetchone()[0])
    if parsed.get("error"):
        return [], f"does not compile: {parsed.get('error_message', 'syntax error')}"
    statements = parsed.get("statements") or []
    if len(statements) != 1 or statements[0]["node"].get("type") != "SELECT_NODE":
        return [], "does not compile: not one expression"
    node = statements[0]["node"]
    extras = [k for k in ("where_clause", "having", "qualify") if node.get(k)]
    if (len(node.get("select_list", [])) != 1 or node.get("from_table", {}).get("type") != "EMPTY"
            or node.get("group_expressions") or extras or node.get("modifiers")):
        return [], "does not compile: not one expression (a comma, FROM or a clause?)"
    refs: list[str] = []
    subquery = _walk(node["select_list"][0], refs)
    if subquery:
        return [], "a subquery is not a value of the row: use the row's own columns"
    refs = list(dict.fromkeys(refs))
    error = bind_problem(con, expression, refs)
    return refs, error


def _walk(tree: Any, refs: list[str]) -> bool:
    """Collect column references; True when a subquery is found."""
    found = False
    if isinstance(tree, dict):
        if tree.get("class") == "SUBQUERY":
            return True
        if tree.get("class") == "COLUMN_REF" and tree.get("column_names"):
            refs.append(tree["column_names"][-1])
        for value in tree.values():
            found = _walk(value, refs) or found
    elif isinstance(tree, list):
        for value in tree:
            found = _walk(value, refs) or found
    return found


#: Types a referenced column is tried as when no file is at hand.
_TRIAL_TYPES = ("VARCHAR", "DECIMAL(38,10)", "DATE", "TIMESTAMP")


def bind_problem(con: duckdb.DuckDBPyConnection, expression: str, refs: list[str],
                 typings: list[dict[str, str]] | None = None) -> str | None:
    """None when ``expression`` binds for one of ``typings`` ({column: SQL type}; by
    default: every column as each trial type, then each column alone as a number), else
    the binder's complaint about the first typing."""
    if typings is None:
        typings = [{r: t for r in refs} for t in _TRIAL_TYPES]
        typings += [{r: ("DECIMAL(38,10)" if r == one else "VARCHAR") for r in refs}
                    for one in refs] if len(refs) > 1 else []
    errors: list[str] = []
    for typing in typings or [{}]:
        columns = "".join(f", CAST(NULL AS {t}) AS {quote_ident(r)}" for r, t in typing.items())
        # the row number beside it: an aggregate (sum over the whole file) does not bind
        relation = f"(SELECT range AS __opskpi_row{columns} FROM range(1))"
        try:
            con.execute(f"DESCRIBE SELECT __opskpi_row, ({expression}) AS v FROM {relation}")
            return None
        except duckdb.Error as exc:
            errors.append(_duck_message(exc))
            if "does not exist" in errors[-1] or "syntax error" in errors[-1]:
                break  # an unknown function or column fails whatever the types
    # the most telling complaint: one that is not about the trial types
    typed = ("argument types", "Cannot mix", "explicit cast", "Could not convert", "Conversion")
    error = next((e for e in errors if not any(t in e for t in typed)), errors[0])
    if "GROUP BY" in error or "aggregate" in error.lower():
        error = "an aggregate (sum, count, ...) is no value of one row"
    return f"does not compile: {error}"
