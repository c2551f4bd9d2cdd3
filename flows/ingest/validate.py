"""The contract's row rules as SQL.

From a file's text rows (see read.py) this builds one set-based query that trims,
applies defaults, converts every value to its declared type, resolves naive
timestamps in the site's time zone, and lists *every* rule a row breaks. Nothing is
evaluated row by row in Python, and numbers are DECIMAL, never binary floating point,
so a value exactly on a tolerance boundary passes.
"""

from __future__ import annotations

import duckdb

from flows.contract import Column, Entity
from flows.db import quote_ident, quote_literal
from flows.ingest.read import EXCEL_ERRORS, TRIMMED, FileRejected, Source, SourceColumn

NUM_RE = r"^[+-]?(\d+\.?\d*|\.\d+)$"
INT_RE = r"^[+-]?\d+(\.0*)?$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
# fastexcel renders a native XLSX date cell as 'YYYY-MM-DD 00:00:00'.
DATE_RE_XLSX = r"^\d{4}-\d{2}-\d{2}( 00:00:00(\.0+)?)?$"
MONTH_RE = r"^\d{4}-\d{2}$"
# YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]][Z|±HH:MM|±HHMM]]: an offset only after a time.
TS_RE = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$"
)
TS_OFFSET_RE = r"(Z|[+-]\d\d:?\d\d)$"
CURRENCY_RE = r"^[A-Za-z]{3}$"

#: Session macros used by the generated SQL (created once per connection).
MACROS = f"""
-- An instant. The full-match regex has already checked the contract's notation, so
-- DuckDB's casts only parse: with an offset (Z, ±HH:MM, ±HHMM) as written; without one,
-- wall-clock time in zone tz (ICU: an ambiguous time is its second occurrence, a skipped
-- one moves forward by the gap). Year 0000 is no date of the calendar the contract uses
-- (DuckDB would read it as 1 BC, which no Python reader can hold).
CREATE OR REPLACE TEMP MACRO opskpi_parse_ts(v, tz) AS (
    CASE WHEN v IS NULL OR NOT regexp_full_match(v, '{TS_RE}') OR left(v, 4) = '0000' THEN NULL
         WHEN regexp_matches(v, '{TS_OFFSET_RE}') THEN TRY_CAST(v AS TIMESTAMPTZ)
         ELSE timezone(tz, TRY_CAST(v AS TIMESTAMP))
    END);
CREATE OR REPLACE TEMP TABLE opskpi_tz_names AS SELECT name FROM pg_timezone_names();
"""

_TYPE_WORDS = {
    "num": "a number",
    "int": "an integer",
    "date": "a date (YYYY-MM-DD)",
    "month": "a month (YYYY-MM or YYYY-MM-DD)",
    "ts": "a timestamp (ISO-8601)",
    "date_or_ts": "a date or timestamp (ISO-8601)",
    "bool": "a boolean",
}


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(MACROS)


def map_columns(entity: Entity, source: Source) -> tuple[dict[str, str], list[str]]:
    """Match the file's columns to the contract (case-insensitive, trimmed).

    Returns {contract column: column of the source table} for the columns present and
    the names of the extra (schema-drift) columns. Raises FileRejected for a missing
    required column, two file columns that mean the same contract column (ambiguous:
    which one holds the values?), or a contract column holding nested values.
    """
    by_norm: dict[str, tuple[int, SourceColumn]] = {}
    extra: list[str] = []
    wanted = set(entity.column_names)
    for position, col in enumerate(source.columns, start=1):
        if col.beyond_header:
            continue
        norm = col.name.strip(TRIMMED).lower()
        if norm in wanted:
            if norm in by_norm:
                first_position, first = by_norm[norm]
                raise FileRejected(
                    f"columns {first_position} ({first.name!r}) and {position} ({col.name!r}) "
                    f"both name contract column {norm!r}: ambiguous"
                )
            by_norm[norm] = (position, col)
        else:
            extra.append(col.name)
    missing = [c for c in entity.required if c not in by_norm]
    if missing:
        raise FileRejected(
            f"missing required column(s) {', '.join(missing)} "
            f"(file has: {', '.join(n.strip(TRIMMED) for n in source.names)})"
        )
    for norm, (_, col) in by_norm.items():
        if col.nested:
            raise FileRejected(
                f"column {col.name!r} ({norm}) holds {col.nested}, not plain values"
            )
    return {norm: col.column for norm, (_, col) in by_norm.items()}, extra


def _convert(col: Column, v: str, tz: str, fmt: str,
             parsed: tuple[str | None, str | None, str | None] = (None, None, None)) -> str:
    """SQL converting cleaned text ``v`` to the column's type (NULL when it cannot).

    ``parsed``: SQL of the value already parsed by a mapping's notation: a wall-clock
    TIMESTAMP or DATE, a TIMESTAMPTZ (taken first; the text is converted where they are
    null), a number as plain text (converted instead of the text)."""
    naive, aware, plain = parsed
    if plain:
        return _convert(col, plain, tz, fmt)
    if naive or aware:
        if col.type in ("ts", "date_or_ts"):
            first = [aware] if aware else []
            first += [f"timezone({tz}, {naive})"] if naive else []
        elif col.type == "month":
            first = [f"CAST(date_trunc('month', {naive}) AS DATE)"]
        else:
            first = [naive]
        return f"coalesce({', '.join(first)}, {_convert(col, v, tz, fmt)})"
    if col.type == "text":
        if col.allowed:
            return f"lower({v})"
        if col.currency:
            return f"upper({v})"
        return v
    if col.type == "num":
        return f"CASE WHEN regexp_full_match({v}, '{NUM_RE}') THEN TRY_CAST({v} AS DECIMAL(38, 10)) END"
    if col.type == "int":
        return (
            f"CASE WHEN regexp_full_match({v}, '{INT_RE}') "
            f"THEN TRY_CAST(regexp_extract({v}, '^[+-]?\\d+') AS BIGINT) END"
        )
    date_re = DATE_RE_XLSX if fmt == "xlsx" else DATE_RE
    not_year_0 = f"left({v}, 4) <> '0000'"
    if col.type == "date":
        return (f"CASE WHEN regexp_full_match({v}, '{date_re}') AND {not_year_0} "
                f"THEN TRY_CAST(left({v}, 10) AS DATE) END")
    if col.type == "month":
        return (
            f"CASE WHEN NOT {not_year_0} THEN NULL "
            f"WHEN regexp_full_match({v}, '{MONTH_RE}') THEN TRY_CAST({v} || '-01' AS DATE) "
            f"WHEN regexp_full_match({v}, '{date_re}') "
            f"THEN CAST(date_trunc('month', TRY_CAST(left({v}, 10) AS DATE)) AS DATE) END"
        )
    if col.type in ("ts", "date_or_ts"):
        return f"opskpi_parse_ts({v}, {tz})"
    if col.type == "bool":
        return (
            f"CASE WHEN lower({v}) IN ('true', '1', 'yes') THEN true "
            f"WHEN lower({v}) IN ('false', '0', 'no') THEN false END"
        )
    raise ValueError(f"unknown column type {col.type}")


def _shown(v: str) -> str:
    return f"'''' || left({v}, 80) || ''''"


def _reasons(entity: Entity, fmt: str, labels: dict[str, str] | None = None,
             type_words: dict[str, str] | None = None, plain: frozenset[str] = frozenset()
             ) -> list[str]:
    """One SQL expression per possible reason: a message when broken, else NULL.

    ``labels``: how a reason names a contract column (a mapped file's reasons also name
    the source column or expression the value came from); ``type_words``: what a value
    should have looked like, when a mapping gave its own format; ``plain``: columns whose
    numbers a mapping's notation turned into plain text (``_n_<column>``)."""
    labels, type_words = labels or {}, type_words or {}

    def label(column: str) -> str:
        return labels.get(column, column)

    out: list[str] = []
    for col in entity.columns:
        v = quote_ident(f"_v_{col.name}")
        t = quote_ident(col.name)
        name = quote_literal(label(col.name) + ": ")
        if col.is_required:
            what = "key column" if col.key else "required"
            missing = quote_literal(f"{label(col.name)}: missing ({what})")
            out.append(f"CASE WHEN {v} IS NULL THEN {missing} END")
        if col.required_when:
            other = quote_ident(f"_v_{col.required_when}")
            msg = quote_literal(f"{label(col.name)}: missing (required when {col.required_when} is set)")
            out.append(f"CASE WHEN {v} IS NULL AND {other} IS NOT NULL THEN {msg} END")
        # a cell holding an Excel error value gets that reason only
        value_ok = "true"
        if fmt == "xlsx":
            codes = ", ".join(quote_literal(c) for c in EXCEL_ERRORS.values())
            value_ok = f"{v} NOT IN ({codes}, '#ERROR')"
            word = quote_literal(" is an Excel error value (a formula that failed)")
            out.append(f"CASE WHEN NOT {value_ok} THEN {name} || {_shown(v)} || {word} END")
        if col.type != "text":
            word = quote_literal(" is not " + type_words.get(col.name, _TYPE_WORDS[col.type]))
            if col.type in ("num", "int"):  # the notation is right, the value too large
                pattern = NUM_RE if col.type == "num" else INT_RE
                notation = quote_ident("_n_" + col.name) if col.name in plain else v
                limit = ("too large for a number (at most 28 digits before the point)"
                         if col.type == "num" else "too large for an integer (64 bits)")
                word = (f"CASE WHEN regexp_full_match({notation}, '{pattern}') "
                        f"THEN {quote_literal(' is ' + limit)} ELSE {word} END")
            out.append(
                f"CASE WHEN {v} IS NOT NULL AND {t} IS NULL AND {value_ok} "
                f"THEN {name} || {_shown(v)} || {word} END"
            )
        if col.allowed:
            allowed = ", ".join(quote_literal(a) for a in col.allowed)
            word = quote_literal(" is not one of " + "|".join(col.allowed))
            out.append(
                f"CASE WHEN {v} IS NOT NULL AND lower({v}) NOT IN ({allowed}) AND {value_ok} "
                f"THEN {name} || {_shown(v)} || {word} END"
            )
        if col.currency:
            word = quote_literal(" is not a three-letter currency code")
            out.append(
                f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, '{CURRENCY_RE}') "
                f"AND {value_ok} THEN {name} || {_shown(v)} || {word} END"
            )
        if col.timezone:
            word = quote_literal(" is not an IANA time zone name")
            out.append(
                f"CASE WHEN {v} IS NOT NULL AND {v} NOT IN (SELECT name FROM opskpi_tz_names) "
                f"AND {value_ok} THEN {name} || {_shown(v)} || {word} END"
            )
        if col.minimum is not None:
            op = ">" if col.minimum_exclusive else ">="
            word = quote_literal(f" must be {'>' if col.minimum_exclusive else '≥'} {col.minimum}")
            out.append(
                f"CASE WHEN {t} IS NOT NULL AND NOT ({t} {op} {col.minimum}) "
                f"THEN {name} || {_shown(v)} || {word} END"
            )
        if col.maximum is not None:
            word = quote_literal(f" must be ≤ {col.maximum}")
            out.append(
                f"CASE WHEN {t} IS NOT NULL AND NOT ({t} <= {col.maximum}) "
                f"THEN {name} || {_shown(v)} || {word} END"
            )
    for rule in entity.rules:
        msg = quote_literal(f"{', '.join(label(c) for c in rule.columns)}: {rule.message}")
        out.append(f"CASE WHEN NOT coalesce({rule.predicate}, true) THEN {msg} END")
    return out


def checked_sql(entity: Entity, mapping: dict[str, str], source: Source, fmt: str, *,
                relation: str | None = None, labels: dict[str, str] | None = None,
                type_words: dict[str, str] | None = None, timezone: str | None = None,
                parsed: dict[str, tuple[str | None, str | None, str | None]] | None = None) -> str:
    """SELECT of the source rows: ``_row``, the typed contract columns and ``_reasons``
    (every rule broken, plus what the reader found wrong with the row itself).

    A mapped file (mapped.py) gives ``relation``, a subquery with ``_row``, its row
    checks and one text column per contract column, already trimmed (empty = null);
    ``parsed``: its columns of values its formats parsed (see ``_convert``);
    ``labels``/``type_words`` word its reasons; ``timezone`` (the source's) replaces the
    site's zone for naive times."""
    parsed = parsed or {}
    cleaned = []
    for col in entity.columns:
        src = mapping.get(col.name)
        # trim spaces/tabs/newlines (and a stray BOM); empty string = null; then the
        # contract's default
        if src and relation is not None:
            text = quote_ident(src)
        elif src:
            text = f"nullif(trim({quote_ident(src)}, {quote_literal(TRIMMED)}), '')"
        else:
            text = "CAST(NULL AS VARCHAR)"
        if col.default is not None:
            text = f"coalesce({text}, {quote_literal(col.default)})"
        cleaned.append(f"{text} AS {quote_ident('_v_' + col.name)}")
        for prefix, column in zip(("_p_", "_q_", "_n_"), parsed.get(col.name, (None,) * 3),
                                  strict=True):
            if not column:
                continue
            value = quote_ident(column)
            if prefix == "_n_" and col.default is not None and src:  # null = the default
                value = (f"CASE WHEN {quote_ident(src)} IS NULL THEN {quote_literal(col.default)} "
                         f"ELSE {value} END")
            cleaned.append(f"{value} AS {quote_ident(prefix + col.name)}")
    checks = [f"{check} AS _check{i}" for i, check in enumerate(source.row_checks)]

    if timezone is not None:
        tz, join = quote_literal(timezone), ""
    elif entity.has_site:
        tz = "coalesce(_site_tz.timezone, 'UTC')"
        join = "LEFT JOIN opskpi_site_tz AS _site_tz ON _site_tz.site_id = _c._v_site_id"
    else:
        tz, join = "'UTC'", ""
    typed = []
    for col in entity.columns:
        already = tuple(quote_ident(prefix + col.name) if column else None
                        for prefix, column in zip(("_p_", "_q_", "_n_"),
                                                  parsed.get(col.name, (None,) * 3), strict=True))
        typed.append(f"{_convert(col, quote_ident('_v_' + col.name), tz, fmt, already)} "
                     f"AS {quote_ident(col.name)}")
    reasons = ",\n            ".join(
        [f"_check{i}" for i in range(len(checks))]
        + _reasons(entity, fmt, labels, type_words,
                   frozenset(c for c, columns in parsed.items() if columns[2]))
    )
    return f"""
        WITH _c AS (
            SELECT _row, {", ".join(cleaned + checks)} FROM {relation or quote_ident(source.table)}
        ), _t AS (
            SELECT _c.*, {", ".join(typed)} FROM _c {join}
        )
        SELECT _row, {", ".join(quote_ident(c) for c in entity.column_names)},
            list_filter([
            {reasons}
            ], lambda x: x IS NOT NULL) AS _reasons
        FROM _t
    """
