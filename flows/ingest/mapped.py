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
from flows.ingest.validate import checked_sql

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
    #: contract column -> relation columns of its values parsed by the entry's notation:
    #: (wall-clock TIMESTAMP or DATE, TIMESTAMPTZ, number as plain text); None: absent
    parsed: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)

    def checked_sql(self, entity, source: Source, fmt: str, timezone: str | None) -> str:
        """validate.checked_sql of this relation: the contract's rules on its values."""
        return checked_sql(entity, self.columns, Source(source.table, [], list(self.row_checks)),
                           fmt, relation=self.relation, labels=self.labels,
                           type_words=self.type_words, timezone=timezone, parsed=self.parsed)


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


def _parsed(v: str, contract_type: str, spec: ColumnSource, read: ReadOptions
            ) -> tuple[str | None, str | None, str | None] | None:
    """SQL of a value parsed by the entry's notation, for checked_sql to take instead of
    the text: (wall-clock TIMESTAMP, or DATE for a date column; TIMESTAMPTZ from a format
    with an offset; a number as plain decimal text). Dates and timestamps the formats do
    not parse are still judged in the contract's notation (native XLSX and Parquet dates
    are ISO text); a number not in the entry's notation is not a number (no '1.5' read
    as 1.5 where the decimal separator is ','). None: the text is judged as it is."""
    if contract_type in ("num", "int"):
        if not read.converts_numbers:
            return None
        pattern = quote_literal(number_pattern(read))
        return None, None, f"CASE WHEN regexp_full_match({v}, {pattern}) THEN {plain_number(v, read)} END"
    ts_fmt, date_fmt = _formats(spec, contract_type, read)
    if contract_type in DATE_TYPES:
        if not date_fmt:
            return None
        return f"CAST(try_strptime({v}, {quote_literal(date_fmt)}) AS DATE)", None, None
    if contract_type not in TIMESTAMP_TYPES or not (ts_fmt or date_fmt):
        return None
    naive = [f for f in (ts_fmt, date_fmt) if f and not _has_offset(f)]
    aware = ts_fmt if ts_fmt and _has_offset(ts_fmt) else None
    wall = None
    if naive:
        formats = ", ".join(quote_literal(f) for f in naive)
        wall = f"try_strptime({v}, [{formats}])" if len(naive) > 1 else \
            f"try_strptime({v}, {formats})"
    instant = f"try_strptime({v}, {quote_literal(aware)})" if aware else None
    return wall, instant, None


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

    Three layers, so that each value is trimmed once however often the conversions name
    it: the source columns trimmed, then the contract columns (and the typed columns of
    the sql expressions), then the sql expressions' results.

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

    trimmed: dict[str, str] = {}  # source column (internal) -> its trimmed text in layer 1

    def text_of(col: SourceColumn) -> str:
        if col.column not in trimmed:
            trimmed[col.column] = quote_ident(f"__opskpi_t{len(trimmed)}")
        return trimmed[col.column]

    values: list[str] = []  # layer 2: the contract columns
    parsed: dict[str, tuple[str | None, str | None, str | None]] = {}
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
        elif spec.kind == "sql":
            sql_specs.append(spec)
            continue
        else:
            v = text_of(cols.get(spec.column or name, spec.label))
            typed = None if spec.map else _parsed(v, contract_type, spec, read)
            if typed is not None:
                # passed typed: checked_sql takes these first and judges the text (the
                # value as written) only where the entry's formats did not parse it
                parsed[name] = tuple(f"{prefix}_{name}" if x else None  # type: ignore[assignment]
                                     for prefix, x in zip("pqn", typed, strict=True))
                values += [f"{x} AS {quote_ident(c)}" for x, c in zip(typed, parsed[name],
                                                                      strict=True) if x]
                values.append(f"{v} AS {m}")
                continue
            value = _converted(v, contract_type, spec, read)
            if spec.map:  # keys compared trimmed and ignoring case
                cases = " ".join(
                    f"WHEN {quote_literal(k.lower())} THEN "
                    f"{quote_literal(val) if val is not None else 'CAST(NULL AS VARCHAR)'}"
                    for k, val in spec.map)
                value = f"CASE lower({v}) {cases} ELSE {value} END"
        values.append(f"{value} AS {m}")

    results: list[str] = []  # layer 3: the sql expressions' results
    checks = list(source.row_checks)  # over the reader's table (layer 1)
    own_checks: list[str] = []  # over layer 1 (values not parsed for an sql expression)
    if sql_specs:
        typed, results = _sql_columns(con, entry, source, cols, sql_specs)
        for name, col, kind, label in typed:
            values.append(f"{_typed(text_of(col), kind, read)} AS {quote_ident(name)}")
            check = lenient_check(name, text_of(col), kind, label, read)
            if check:
                own_checks.append(check)

    n_checks = len(checks) + len(own_checks)
    layer1 = ", ".join(
        ["s._row AS __opskpi_row"]
        + [f"({check}) AS __opskpi_check{i}" for i, check in enumerate(checks)]
        + [f"nullif(trim(s.{quote_ident(c)}, {quote_literal(TRIMMED)}), '') AS {t}"
           for c, t in trimmed.items()])
    carried = (["__opskpi_row"] + [f"__opskpi_check{i}" for i in range(len(checks))]
               + [f"({check}) AS __opskpi_check{len(checks) + i}"
                  for i, check in enumerate(own_checks)])
    layer2 = ", ".join(carried + values)
    layer3 = ", ".join(
        ["__opskpi_row AS _row"] + [f"__opskpi_check{i} AS _check{i}" for i in range(n_checks)]
        + [quote_ident(f"m_{name}") for name, spec in specs.items() if spec.kind != "sql"]
        + [quote_ident(c) for pair in parsed.values() for c in pair if c]
        + results)
    relation = (f"(SELECT {layer3} FROM (SELECT {layer2} FROM (SELECT {layer1} "
                f"FROM {quote_ident(source.table)} AS s)))")
    return MappedSource(
        relation=relation,
        columns={name: f"m_{name}" for name in specs},
        row_checks=[f"_check{i}" for i in range(n_checks)],
        labels=labels,
        type_words=type_words,
        extra=cols.extra(),
        sources=specs,
        parsed=parsed,
    )


# --- sql expressions ---------------------------------------------------------------------


def _sql_columns(con: duckdb.DuckDBPyConnection, entry: FileMapping, source: Source,
                 cols: _Columns, specs: list[ColumnSource]
                 ) -> tuple[list[tuple[str, SourceColumn, str, str]], list[str]]:
    """(each source column the expressions name: (its name, column, how it is typed, the
    label of the first expression naming it); each expression's result as trimmed text,
    named m_<contract column>)."""
    read = entry.read
    refs: dict[str, tuple[SourceColumn, str]] = {}
    for spec in specs:
        for ref in spec.refs:
            key = ref.strip(TRIMMED).lower()
            if key not in refs:
                refs[key] = (cols.get(ref, spec.label), spec.label)
    kinds = _infer_types(con, source.table, [c for c, _ in refs.values()], read)
    first_error = None
    for typing in _typings(kinds):
        named = [(col.name.strip(TRIMMED), col, typing[key], label)
                 for key, (col, label) in refs.items()]
        probe = ", ".join(
            ["s._row AS __opskpi_row"]
            + [f"{_typed(f's.{quote_ident(col.column)}', kind, read)} AS {quote_ident(name)}"
               for name, col, kind, _ in named])
        inner = f"SELECT {probe} FROM {quote_ident(source.table)} AS s"
        try:
            types = []
            for spec in specs:
                described = con.execute(
                    f"DESCRIBE SELECT __opskpi_row, ({spec.sql}) AS v FROM ({inner})").fetchall()
                types.append(described[1][1])
        except duckdb.Error as exc:
            first_error = first_error or (spec, _message(exc))
            continue
        rendered = [
            f"nullif(trim({native_to_text(f'({spec.sql})', type_)}, {quote_literal(TRIMMED)}), '')"
            f" AS {quote_ident('m_' + spec.contract)}"
            for spec, type_ in zip(specs, types, strict=True)]
        return named, rendered
    spec, message = first_error  # type: ignore[misc]
    raise FileRejected(f"{spec.label}: the sql expression does not work on this file's "
                       f"columns: {message}")


def lenient_check(name: str, v: str, kind: str, label: str, read: ReadOptions) -> str | None:
    """A row check for a column typed although some of its values do not parse (``kind``
    ends in '?'): such a row is quarantined naming the expression and the source value."""
    if "?" not in kind:
        return None
    if kind.startswith("num"):
        words = _type_words("num", ColumnSource("", "column"), read) or "a number"
    elif kind.startswith("date"):
        words = f"a date ({read.date or 'YYYY-MM-DD'})"
    else:
        words = f"a timestamp ({read.timestamp})"
    before = quote_literal(f"{label}: {name} '")
    after = quote_literal(f"' is not {words}")
    return (f"CASE WHEN {v} IS NOT NULL AND {_typed(v, kind, read)} IS NULL "
            f"THEN {before} || left({v}, 80) || {after} END")


def _message(exc: Exception) -> str:
    return re.sub(r"^[A-Za-z ]*Error: ", "", str(exc).strip().splitlines()[0])


def _infer_types(con: duckdb.DuckDBPyConnection, table: str, columns: list[SourceColumn],
                 read: ReadOptions) -> dict[str, str]:
    """How ``read`` parses each whole column: {column key: kind}, kind one of 'num:<scale>',
    'date', 'ts' (every value parses), the same with '?' ('num?:<scale>': some values
    parse, the others would be quarantined), 'text', 'empty'. Numbers first (cheap);
    only the columns that are not all numbers are tried as dates and timestamps."""
    if not columns:
        return {}
    trimmed = ", ".join(f"nullif(trim({quote_ident(c.column)}, {quote_literal(TRIMMED)}), '') AS v{i}"
                        for i, c in enumerate(columns))
    relation = f"(SELECT {trimmed} FROM {quote_ident(table)})"
    pattern = quote_literal(number_pattern(read))
    d = quote_literal(read.decimal)
    selects = []
    for i in range(len(columns)):
        v = f"v{i}"
        is_number = f"regexp_full_match({v}, {pattern})"
        selects += [
            f"count({v})",
            f"count({v}) FILTER ({is_number})",
            rf"coalesce(bool_or(regexp_full_match({v}, '^[+-]?0\d.*')), false)",
            f"coalesce(max(CASE WHEN {is_number} AND strpos({v}, {d}) > 0 "
            f"THEN length({v}) - strpos({v}, {d}) ELSE 0 END), 0)",
        ]
    row = con.execute(f"SELECT {', '.join(selects)} FROM {relation}").fetchone()
    kinds: dict[str, str] = {}
    others: list[int] = []
    for i, col in enumerate(columns):
        count, numbers, code, scale = row[i * 4:(i + 1) * 4]
        key = col.name.strip(TRIMMED).lower()
        if not count:
            kinds[key] = "empty"
            continue
        kinds[key] = "text"
        if numbers and not code and scale <= MAX_SCALE:
            kinds[key] = f"num:{scale}" if numbers == count else f"num?:{scale}"
        if numbers != count:
            others.append(i)
    if others:
        checks = []
        for i in others:
            date = (f"try_strptime(v{i}, {quote_literal(read.date)}) IS NOT NULL" if read.date
                    else rf"regexp_full_match(v{i}, '^\d{{4}}-\d{{2}}-\d{{2}}$')")
            ts = (f"try_strptime(v{i}, {quote_literal(read.timestamp)}) IS NOT NULL"
                  if read.timestamp else "false")
            checks += [f"count(v{i}) FILTER ({date})", f"count(v{i}) FILTER ({ts})"]
        found = con.execute(f"SELECT {', '.join(checks)} FROM {relation}").fetchone()
        for n, i in enumerate(others):
            key = columns[i].name.strip(TRIMMED).lower()
            count, dates, stamps = row[i * 4], found[2 * n], found[2 * n + 1]
            if dates == count:
                kinds[key] = "date"
            elif stamps == count:
                kinds[key] = "ts"
            elif kinds[key] != "text":
                continue  # some numbers: 'num?'
            elif dates >= max(stamps, 1):
                kinds[key] = "date?"
            elif stamps:
                kinds[key] = "ts?"
    return kinds


def _typings(kinds: dict[str, str]) -> list[dict[str, str]]:
    """Typings to try, best first: columns every value of which parses typed, the others
    as text (an all-empty column as a number, then as text); then also the columns only
    some values of which parse (their other rows are quarantined); then every column as
    (normalized) text."""
    def pick(lenient: bool, empty: str) -> dict[str, str]:
        return {k: (empty if v == "empty" else v if "?" not in v or lenient else "text")
                for k, v in kinds.items()}

    candidates = [pick(False, "num:0"), pick(False, "text"), pick(True, "num:0"),
                  pick(True, "text"), dict.fromkeys(kinds, "text")]
    unique: list[dict[str, str]] = []
    for c in candidates:
        if c not in unique:
            unique.append(c)
    return unique


def _typed(v: str, kind: str, read: ReadOptions) -> str:
    """SQL of a source column (``v``: its trimmed text) as an sql expression sees it."""
    kind = kind.replace("?", "")
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
