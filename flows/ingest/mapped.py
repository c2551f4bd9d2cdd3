"""A mapped file's values as the contract's text columns, in one SQL relation.

The reader (read.py) leaves the file's rows as text with the file's own column names.
For a file read through a mapping entry this module builds a subquery over that table
with one *text* column per contract column, written in the contract's notation:

- a source column (by name, or ``from``): trimmed; its ``map`` applied (a value not in
  the map is kept as is); numbers with the entry's decimal/thousands separators become
  plain decimals by text replacement (exact: no binary floating point); dates and
  timestamps in the entry's strptime formats become ISO text (``try_strptime``); a
  value that does not fit the notation is kept as written, so the contract's rules
  quarantine it showing the user's own value;
- ``const``: the value;
- ``sql``: the expression over the source columns it names, each typed the way the
  entry's ``read`` parses it (a column whose every value is a number in the entry's
  notation is a DECIMAL with the scale it is written with, one whose every value is a
  date in its date format a DATE, ...; text otherwise), its result rendered as text.

``validate.checked_sql`` then judges these columns exactly as it judges a contract
file, so the row rules stay one piece of SQL. Nothing here runs per row in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from flows.db import quote_ident, quote_literal
from flows.ingest.mappings import DATE_TYPES, TIMESTAMP_TYPES, ColumnSource, FileMapping, ReadOptions
from flows.ingest.read import TRIMMED, FileRejected, Source, SourceColumn, native_to_text

#: Largest scale a number column of an sql expression is typed with (the contract's).
MAX_SCALE = 10


@dataclass
class MappedSource:
    """What ``validate.checked_sql`` needs to judge a mapped file."""

    relation: str  # a subquery: _row, _check0.., and one text column per contract column
    columns: dict[str, str]  # contract column -> column of the relation
    row_checks: list[str]
    labels: dict[str, str]  # contract column -> how its reasons name it
    type_words: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)  # source columns no contract column uses
    sources: dict[str, ColumnSource] = field(default_factory=dict)  # contract column -> source

    def checked_source(self, source: Source) -> Source:
        return Source(source.table, [], list(self.row_checks))


# --- notation ----------------------------------------------------------------------------


def number_pattern(read: ReadOptions) -> str:
    """Regex of a number in the entry's notation (sign, digits with optional thousands
    groups, optional decimals)."""
    d = re.escape(read.decimal)
    if read.thousands is None:
        return rf"^[+-]?(\d+({d}\d*)?|{d}\d+)$"
    t = re.escape(read.thousands)
    return rf"^[+-]?((\d{{1,3}}({t}\d{{3}})+|\d+)({d}\d*)?|{d}\d+)$"


def plain_number(v: str, read: ReadOptions) -> str:
    """SQL: text ``v`` (a number in the entry's notation) in plain decimal notation."""
    if read.thousands is not None:
        v = f"replace({v}, {quote_literal(read.thousands)}, '')"
    if read.decimal != ".":
        v = f"replace({v}, {quote_literal(read.decimal)}, '.')"
    return v


def _number(v: str, read: ReadOptions) -> str:
    """A value in the entry's number notation as a plain decimal; other values as is."""
    if not read.converts_numbers:
        return v
    return (f"CASE WHEN regexp_full_match({v}, {quote_literal(number_pattern(read))}) "
            f"THEN {plain_number(v, read)} ELSE {v} END")


def _has_offset(fmt: str) -> bool:
    return "%z" in fmt or "%Z" in fmt


def _ts_text(parsed: str, fmt: str) -> str:
    """SQL rendering a parsed timestamp as contract text (an instant with its offset)."""
    fraction = any(d in fmt for d in ("%f", "%g", "%n"))
    pattern = "%Y-%m-%d %H:%M:%S" + (".%f" if fraction else "")
    if _has_offset(fmt):  # an instant: the session's time zone is UTC (flows.db.connect)
        return f"strftime({parsed}, {quote_literal(pattern)}) || '+00:00'"
    return f"strftime({parsed}, {quote_literal(pattern)})"


def _date_text(parsed: str) -> str:
    return f"strftime(CAST({parsed} AS DATE), '%Y-%m-%d')"


def _formats(spec: ColumnSource, contract_type: str, read: ReadOptions) -> tuple[str | None, str | None]:
    """(timestamp format, date format) that apply to a column's values."""
    if contract_type in DATE_TYPES:
        return None, spec.format or read.date
    if contract_type in TIMESTAMP_TYPES:
        if spec.format:
            return spec.format, None
        return read.timestamp, read.date
    return None, None


def _converted(v: str, contract_type: str, spec: ColumnSource, read: ReadOptions) -> str:
    """SQL: trimmed text ``v`` in the contract's notation for a column of ``contract_type``."""
    if contract_type in ("num", "int"):
        return _number(v, read)
    ts_fmt, date_fmt = _formats(spec, contract_type, read)
    parts = []
    if ts_fmt:
        parts.append(_ts_text(f"try_strptime({v}, {quote_literal(ts_fmt)})", ts_fmt))
    if date_fmt:
        parts.append(_date_text(f"try_strptime({v}, {quote_literal(date_fmt)})"))
    return f"coalesce({', '.join(parts)}, {v})" if parts else v


def _needs_conversion(contract_type: str, spec: ColumnSource, read: ReadOptions) -> bool:
    if spec.map:
        return True
    if contract_type in ("num", "int"):
        return read.converts_numbers
    return any(_formats(spec, contract_type, read))


def _type_words(contract_type: str, spec: ColumnSource, read: ReadOptions) -> str | None:
    if contract_type in ("num", "int") and read.converts_numbers:
        kind = "a number" if contract_type == "num" else "an integer"
        sep = f", thousands {read.thousands!r}" if read.thousands else ""
        return f"{kind} (decimal {read.decimal!r}{sep})"
    ts_fmt, date_fmt = _formats(spec, contract_type, read)
    if contract_type in DATE_TYPES and date_fmt:
        return f"a date ({date_fmt})"
    if contract_type in TIMESTAMP_TYPES and (ts_fmt or date_fmt):
        return f"a timestamp ({' or '.join(f for f in (ts_fmt, date_fmt) if f)})"
    return None


# --- the relation -------------------------------------------------------------------------


def _clean(column: str) -> str:
    return f"nullif(trim(s.{quote_ident(column)}, {quote_literal(TRIMMED)}), '')"


class _Columns:
    """The file's columns by name as the contract matches them (trimmed, any case)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.by_name: dict[str, list[tuple[int, SourceColumn]]] = {}
        for position, col in enumerate(source.columns, start=1):
            if not col.beyond_header:
                self.by_name.setdefault(col.name.strip(TRIMMED).lower(), []).append((position, col))
        self.used: set[str] = set()

    def has(self, name: str) -> bool:
        return name.strip(TRIMMED).lower() in self.by_name

    def get(self, name: str, label: str) -> SourceColumn:
        hits = self.by_name.get(name.strip(TRIMMED).lower())
        if not hits:
            listed = ", ".join(n.strip(TRIMMED) for n in self.source.names)
            raise FileRejected(f"{label}: source column {name!r} is not in the file "
                               f"(file has: {listed})")
        if len(hits) > 1:
            (p1, c1), (p2, c2) = hits[:2]
            raise FileRejected(f"columns {p1} ({c1.name!r}) and {p2} ({c2.name!r}) are both "
                               f"named {name!r}: ambiguous")
        col = hits[0][1]
        if col.nested:
            raise FileRejected(f"column {col.name!r} ({label}) holds {col.nested}, not plain values")
        self.used.add(col.column)
        return col

    def extra(self) -> list[str]:
        return [c.name for c in self.source.columns
                if not c.beyond_header and c.column not in self.used]


def map_source(con: duckdb.DuckDBPyConnection, entry: FileMapping, source: Source) -> MappedSource:
    """The relation of a file read through ``entry`` (see the module docstring).

    Raises FileRejected when the file does not fit the entry: a source column it names
    is missing or ambiguous, a required contract column has no source, an ``sql``
    expression does not work on the file's columns."""
    entity, read = entry.entity, entry.read
    cols = _Columns(source)
    specs: dict[str, ColumnSource] = {}
    for column in entity.columns:
        spec = entry.column(column.name)
        if spec is None and cols.has(column.name):
            spec = ColumnSource(column.name, "column", column=column.name)  # same name
        if spec is not None:
            specs[column.name] = spec
    missing = [c for c in entity.required if c not in specs]
    if missing:
        listed = ", ".join(n.strip(TRIMMED) for n in source.names)
        raise FileRejected(
            f"missing required column(s) {', '.join(missing)}: mapping {entry.source} "
            f"{entry.where} gives no source and the file has no column of that name "
            f"(file has: {listed})")

    inner: list[str] = []  # over the reader's table (alias s)
    outer: list[str] = []  # over the inner query
    labels, type_words = {}, {}
    sql_specs: list[ColumnSource] = []
    for name, spec in specs.items():
        contract_type = entity.column(name).type
        labels[name] = spec.label
        words = _type_words(contract_type, spec, read) if spec.kind in ("column", "from") else None
        if words:
            type_words[name] = words
        m = quote_ident(f"m_{name}")
        if spec.kind == "const":
            value = quote_literal(spec.const) if spec.const else "CAST(NULL AS VARCHAR)"
            inner.append(f"{value} AS {quote_ident('__opskpi_m_' + name)}")
            outer.append(f"{quote_ident('__opskpi_m_' + name)} AS {m}")
        elif spec.kind == "sql":
            sql_specs.append(spec)
        else:
            col = cols.get(spec.column or name, spec.label)
            if _needs_conversion(contract_type, spec, read):
                v = _clean(col.column)
                value = _converted(v, contract_type, spec, read)
                if spec.map:
                    cases = " ".join(
                        f"WHEN {quote_literal(k)} THEN "
                        f"{quote_literal(val) if val is not None else 'CAST(NULL AS VARCHAR)'}"
                        for k, val in spec.map)
                    value = f"CASE {v} {cases} ELSE {value} END"
            else:
                value = f"s.{quote_ident(col.column)}"  # checked_sql trims it
            inner.append(f"{value} AS {quote_ident('__opskpi_m_' + name)}")
            outer.append(f"{quote_ident('__opskpi_m_' + name)} AS {m}")

    if sql_specs:
        named, rendered = _sql_columns(con, entry, source, cols, sql_specs)
        inner += named
        outer += rendered

    checks_inner = [f"({check}) AS __opskpi_check{i}" for i, check in enumerate(source.row_checks)]
    checks_outer = [f"__opskpi_check{i} AS _check{i}" for i in range(len(source.row_checks))]
    inner_sql = ("SELECT s._row AS __opskpi_row"
                 + "".join(f", {x}" for x in checks_inner + inner)
                 + f" FROM {quote_ident(source.table)} AS s")
    relation = ("(SELECT __opskpi_row AS _row" + "".join(f", {x}" for x in checks_outer + outer)
                + f" FROM ({inner_sql}))")
    return MappedSource(
        relation=relation,
        columns={name: f"m_{name}" for name in specs},
        row_checks=[f"_check{i}" for i in range(len(source.row_checks))],
        labels=labels,
        type_words=type_words,
        extra=cols.extra(),
        sources=specs,
    )


# --- sql expressions ---------------------------------------------------------------------


def _sql_columns(con: duckdb.DuckDBPyConnection, entry: FileMapping, source: Source,
                 cols: _Columns, specs: list[ColumnSource]) -> tuple[list[str], list[str]]:
    """(inner columns: each source column the expressions name, typed; outer columns:
    each expression's result as text)."""
    read = entry.read
    refs: dict[str, SourceColumn] = {}
    for spec in specs:
        for ref in spec.refs:
            key = ref.strip(TRIMMED).lower()
            if key not in refs:
                refs[key] = cols.get(ref, spec.label)
    kinds = _infer_types(con, source.table, list(refs.values()), read)
    first_error = None
    for typing in _typings(kinds):
        named = [f"{_typed(col, typing[key], read)} AS {quote_ident(col.name.strip(TRIMMED))}"
                 for key, col in refs.items()]
        inner = ("SELECT s._row AS __opskpi_row" + "".join(f", {x}" for x in named)
                 + f" FROM {quote_ident(source.table)} AS s")
        try:
            types = []
            for spec in specs:
                described = con.execute(
                    f"DESCRIBE SELECT __opskpi_row, ({spec.sql}) AS v FROM ({inner})").fetchall()
                types.append(described[1][1])
        except duckdb.Error as exc:
            first_error = first_error or (spec, _message(exc))
            continue
        rendered = [f"{native_to_text(f'({spec.sql})', type_)} AS {quote_ident('m_' + spec.contract)}"
                    for spec, type_ in zip(specs, types, strict=True)]
        return named, rendered
    spec, message = first_error  # type: ignore[misc]
    raise FileRejected(f"{spec.label}: the sql expression does not work on this file's "
                       f"columns: {message}")


def _message(exc: Exception) -> str:
    return re.sub(r"^[A-Za-z ]*Error: ", "", str(exc).strip().splitlines()[0])


def _infer_types(con: duckdb.DuckDBPyConnection, table: str, columns: list[SourceColumn],
                 read: ReadOptions) -> dict[str, str]:
    """{column key: 'num:<scale>' | 'date' | 'ts' | 'text' | 'empty'} from the file's values:
    how ``read`` parses the whole column (one aggregate query)."""
    if not columns:
        return {}
    pattern = quote_literal(number_pattern(read))
    d = quote_literal(read.decimal)
    selects = []
    for col in columns:
        v = f"nullif(trim({quote_ident(col.column)}, {quote_literal(TRIMMED)}), '')"
        date = (f"try_strptime({v}, {quote_literal(read.date)}) IS NOT NULL" if read.date
                else f"regexp_full_match({v}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}$')")
        ts = (f"try_strptime({v}, {quote_literal(read.timestamp)}) IS NOT NULL" if read.timestamp
              else "false")
        selects += [
            f"count({v})",
            f"coalesce(bool_and({v} IS NULL OR regexp_full_match({v}, {pattern})), true)",
            f"coalesce(bool_or(regexp_full_match({v}, '^[+-]?0\\d.*')), false)",
            f"coalesce(max(CASE WHEN strpos({v}, {d}) > 0 THEN length({v}) - strpos({v}, {d}) "
            "ELSE 0 END), 0)",
            f"coalesce(bool_and({v} IS NULL OR {date}), true)",
            f"coalesce(bool_and({v} IS NULL OR {ts}), true)",
        ]
    row = con.execute(f"SELECT {', '.join(selects)} FROM {quote_ident(table)}").fetchone()
    kinds = {}
    for i, col in enumerate(columns):
        count, numeric, code, scale, date, ts = row[i * 6:(i + 1) * 6]
        key = col.name.strip(TRIMMED).lower()
        if not count:
            kinds[key] = "empty"
        elif numeric and not code and scale <= MAX_SCALE:
            kinds[key] = f"num:{scale}"
        elif date:
            kinds[key] = "date"
        elif ts and read.timestamp:
            kinds[key] = "ts"
        else:
            kinds[key] = "text"
    return kinds


def _typings(kinds: dict[str, str]) -> list[dict[str, str]]:
    """Typings to try, best first: as inferred (an all-empty column as a number, then
    as text), then every column as (normalized) text."""
    candidates = [
        {k: ("num:0" if v == "empty" else v) for k, v in kinds.items()},
        {k: ("text" if v == "empty" else v) for k, v in kinds.items()},
        dict.fromkeys(kinds, "text"),
    ]
    unique: list[dict[str, str]] = []
    for c in candidates:
        if c not in unique:
            unique.append(c)
    return unique


def _typed(col: SourceColumn, kind: str, read: ReadOptions) -> str:
    """SQL of a source column as an sql expression sees it."""
    v = _clean(col.column)
    if kind.startswith("num:"):
        return f"TRY_CAST({plain_number(v, read)} AS DECIMAL(38, {int(kind[4:])}))"
    if kind == "date":
        if read.date:
            return f"CAST(try_strptime({v}, {quote_literal(read.date)}) AS DATE)"
        return f"TRY_CAST({v} AS DATE)"
    if kind == "ts":
        return f"try_strptime({v}, {quote_literal(read.timestamp or '')})"
    # text: numbers and dates in the entry's notation normalized to the contract's
    text = _number(v, read)
    if read.timestamp:
        parsed = f"try_strptime({v}, {quote_literal(read.timestamp)})"
        text = f"coalesce({_ts_text(parsed, read.timestamp)}, {text})"
    if read.date:
        text = f"coalesce({_date_text(f'try_strptime({v}, {quote_literal(read.date)})')}, {text})"
    return text
