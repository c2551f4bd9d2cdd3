"""One reader per accepted format. Each leaves, in a DuckDB temp table, the file's rows
as *text* (``_row`` = 1 for the first data row, then the file's own column names), so
that the contract's conversions and rules run the same SQL whatever the format.

Reading is DuckDB's: ``read_csv`` (delimiter sniffed), ``read_json_objects``,
``read_parquet``; XLSX goes through fastexcel (Rust calamine → Arrow, no Python loop).
Native numbers and dates (Parquet, XLSX, JSON numbers) are rendered as plain decimals
and ISO dates so they pass the same checks as text.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import duckdb

from flows.db import quote_ident, quote_literal

UTF8_BOM = b"\xef\xbb\xbf"


class FileRejected(Exception):
    """The whole file cannot be used; the message says why (file name added by the caller)."""


def read_to_table(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, gzipped: bool, table: str
) -> list[str]:
    """Read ``path`` into temp table ``table``; return the file's column names in order."""
    try:
        if fmt == "csv":
            _read_csv(con, path, gzipped, table)
        elif fmt in ("json", "jsonl"):
            _read_json(con, path, fmt, gzipped, table)
        elif fmt == "parquet":
            _read_parquet(con, path, table)
        elif fmt == "xlsx":
            _read_xlsx(con, path, table)
        else:  # pragma: no cover - contract.format_for_filename guards this
            raise FileRejected(f"unsupported format {fmt!r}")
    except FileRejected:
        raise
    except (duckdb.Error, ValueError, OSError, UnicodeError) as exc:
        raise FileRejected(_first_line(str(exc))) from exc
    except Exception as exc:  # fastexcel raises its own exception types
        # (defined in its native module '_fastexcel', e.g. _fastexcel.CalamineError)
        if type(exc).__module__.lstrip("_").startswith("fastexcel"):
            raise FileRejected(f"not a readable XLSX workbook: {_first_line(str(exc))}") from exc
        raise
    columns = [
        r[0] for r in con.execute(f"DESCRIBE {quote_ident(table)}").fetchall() if r[0] != "_row"
    ]
    if not columns:
        raise FileRejected("no header row")
    return columns


def _first_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return "unreadable file"
    if "CSV Error on Line" in lines[0]:
        # DuckDB gives the cause (e.g. 'Invalid unicode ... not utf-8 encoded') on a
        # later line, after the offending 'Original Line: ...'.
        cause = next((line for line in lines[1:] if not line.startswith("Original Line")), None)
        if cause:
            return f"{lines[0]}: {cause}"
    return lines[0]


def _compression(gzipped: bool) -> str:
    return "gzip" if gzipped else "none"


def _head(path: Path, gzipped: bool, size: int) -> bytes | None:
    """The first ``size`` bytes of the (decompressed) file; None if it cannot be read
    (DuckDB's reader then reports the problem)."""
    try:
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as fh:
            return fh.read(size)
    except (OSError, EOFError, zlib.error):
        return None


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool, table: str) -> None:
    head = _head(path, gzipped, 1 << 16)
    if head is not None and len(head) < 1 << 16 and not head.removeprefix(UTF8_BOM).strip():
        # DuckDB would invent a 'column0' and the file would be reported as missing
        # its required columns
        raise FileRejected("empty file: no header row")
    # all_varchar: the contract does the typing. null_padding: a short row is a row with
    # missing values (quarantined by the rules), not an unreadable file. parallel = false:
    # DuckDB's parallel scanner rejects null_padding with a quoted newline in a value.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
        SELECT row_number() OVER () AS _row, *
        FROM read_csv({quote_literal(str(path))}, header = true, all_varchar = true,
                      auto_detect = true, null_padding = true, sample_size = -1,
                      parallel = false,
                      compression = {quote_literal(_compression(gzipped))},
                      encoding = 'utf-8')
        """
    )


def _read_json(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, gzipped: bool, table: str
) -> None:
    json_format = "array" if fmt == "json" else "newline_delimited"
    if json_format == "newline_delimited" and _head(path, gzipped, 3) == UTF8_BOM:
        # DuckDB's newline-delimited reader refuses a BOM; 'unstructured' reads the same
        # one-object-per-line file and skips it (the contract accepts UTF-8 with BOM).
        json_format = "unstructured"
    objects = f"_{table}_objects"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(objects)} AS
        SELECT row_number() OVER () AS _row, json AS _obj
        FROM read_json_objects({quote_literal(str(path))}, format = {quote_literal(json_format)},
                               compression = {quote_literal(_compression(gzipped))})
        """
    )
    not_objects = con.execute(
        f"SELECT min(_row) FROM {quote_ident(objects)} WHERE json_type(_obj) <> 'OBJECT'"
    ).fetchone()[0]
    if not_objects is not None:
        raise FileRejected(f"row {not_objects} is not a JSON object")
    # A column is present when any object has the key (in first-seen order).
    keys = [
        r[0]
        for r in con.execute(
            f"""
            SELECT k FROM (
                SELECT k, min(_row * 10000 + i) AS first_seen
                FROM (SELECT _row, unnest(json_keys(_obj)) AS k,
                             generate_subscripts(json_keys(_obj), 1) AS i
                      FROM {quote_ident(objects)})
                GROUP BY k)
            ORDER BY first_seen
            """
        ).fetchall()
    ]
    selects = ", ".join(f"{_json_text(k)} AS {quote_ident(k)}" for k in keys)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
        SELECT _row{", " + selects if selects else ""} FROM {quote_ident(objects)}
        """
    )
    con.execute(f"DROP TABLE {quote_ident(objects)}")


def _json_text(key: str) -> str:
    """A JSON value as text: strings as is, numbers in plain decimal notation."""
    json_path = quote_literal("$." + '"' + key.replace('"', '\\"') + '"')
    value = f"json_extract(_obj, {json_path})"
    text = f"json_extract_string(_obj, {json_path})"
    return f"""CASE
        WHEN json_type({value}) IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT')
             AND regexp_matches({text}, '[eE]')
        THEN CAST(TRY_CAST({text} AS DECIMAL(38, 10)) AS VARCHAR)
        ELSE {text} END"""


def _native_to_text(column: str, type_: str) -> str:
    """SQL rendering a natively typed Parquet column as contract-style text."""
    col = quote_ident(column)
    t = type_.upper()
    if t == "VARCHAR":
        return col
    if t == "DATE":
        return f"strftime({col}, '%Y-%m-%d')"
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t.startswith("TIMESTAMPTZ"):
        # an instant (also TIMESTAMPTZ_NS, e.g. pandas' tz-aware datetime64[ns]),
        # printed in the session's UTC
        return f"strftime(CAST({col} AS TIMESTAMPTZ), '%Y-%m-%d %H:%M:%S.%f') || '+00:00'"
    if t.startswith("TIMESTAMP"):
        return (
            f"CASE WHEN CAST({col} AS TIME) = TIME '00:00:00' "
            f"THEN strftime({col}, '%Y-%m-%d') ELSE strftime({col}, '%Y-%m-%d %H:%M:%S.%f') END"
        )
    if t in ("DOUBLE", "FLOAT", "REAL"):
        # Shortest round-trip text, unless it needs an exponent: then a plain decimal.
        return (
            f"CASE WHEN regexp_matches(CAST({col} AS VARCHAR), '[eE]') "
            f"THEN CAST(TRY_CAST({col} AS DECIMAL(38, 10)) AS VARCHAR) "
            f"ELSE CAST({col} AS VARCHAR) END"
        )
    return f"CAST({col} AS VARCHAR)"


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    described = con.execute(
        f"DESCRIBE SELECT * FROM read_parquet({quote_literal(str(path))})"
    ).fetchall()
    selects = ", ".join(
        f"{_native_to_text(name, type_)} AS {quote_ident(name)}" for name, type_, *_ in described
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
        SELECT CAST(file_row_number AS BIGINT) + 1 AS _row, {selects}
        FROM read_parquet({quote_literal(str(path))}, file_row_number = true)
        ORDER BY file_row_number
        """
    )


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """XLSX, first sheet, read twice by fastexcel (Rust calamine → Arrow).

    - as text, so a stray 'n/a' in a numeric column reaches the quarantine instead of
      becoming null (fastexcel's type guessing would silently null it);
    - with native types, because the text rendering of a number cell keeps only ~11
      significant digits (123456789.12 would lose its cents): where the typed read has a
      value (a real number or date cell), that value wins, rendered exactly.
    """
    import fastexcel  # imported lazily: only XLSX files need it
    import pyarrow as pa

    reader = fastexcel.read_excel(str(path))
    text = reader.load_sheet(0, dtypes="string").to_arrow()
    typed = reader.load_sheet(0, schema_sample_rows=None).to_arrow()
    row_numbers = pa.array(range(1, text.num_rows + 1), pa.int64())
    text = text.append_column("_row", row_numbers)
    typed = typed.append_column("_row", row_numbers)
    text_view, typed_view = f"_{table}_text", f"_{table}_typed"
    con.register(text_view, text)
    con.register(typed_view, typed)
    try:
        native = {
            name: type_
            for name, type_, *_ in con.execute(f"DESCRIBE {quote_ident(typed_view)}").fetchall()
        }
        names = [n for n in text.column_names if n != "_row"]
        cells = []
        for name in names:
            t = native.get(name, "VARCHAR").upper()
            col = f"t.{quote_ident(name)}"
            if t == "VARCHAR" or t == "NULL":
                cells.append(f"{col} AS {quote_ident(name)}")
            else:
                exact = _native_to_text(name, t).replace(quote_ident(name), f"n.{quote_ident(name)}")
                cells.append(
                    f"CASE WHEN n.{quote_ident(name)} IS NOT NULL THEN {exact} ELSE {col} END "
                    f"AS {quote_ident(name)}"
                )
        any_value = " OR ".join(f"t.{quote_ident(n)} IS NOT NULL" for n in names) or "true"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
            SELECT t._row{", " + ", ".join(cells) if cells else ""}
            FROM {quote_ident(text_view)} AS t
            JOIN {quote_ident(typed_view)} AS n ON n._row = t._row
            WHERE {any_value}
            ORDER BY t._row
            """
        )
    finally:
        con.unregister(text_view)
        con.unregister(typed_view)
