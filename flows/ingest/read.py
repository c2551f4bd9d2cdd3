"""One reader per accepted format. Each leaves, in a DuckDB temp table, the file's rows
as *text* (``_row`` = 1 for the first data row, then one column per file column), so
that the contract's conversions and rules run the same SQL whatever the format.

Reading is DuckDB's: ``read_csv`` (delimiter sniffed), ``read_json_objects``,
``read_parquet``; XLSX goes through fastexcel (Rust calamine → Arrow, no Python loop).
Native numbers and dates (Parquet, XLSX, JSON numbers) are rendered as plain decimals
and ISO dates so they pass the same checks as text.

A source mapping (mappings.py) may set reader options (``ReaderOptions``): the CSV
delimiter and encoding, the header row, the XLSX sheet, trailing rows to ignore, and the
decimal separator its numbers are written with (native numbers are then rendered with
that separator, so they read like the text cells beside them). Without options every
reader behaves exactly as the contract says.

The temp table's columns are positional (``c0``, ``c1``, ...); the names *as written
in the file* come back beside them. So two header cells that differ only in case, or
are identical, stay two columns (the contract then rejects the file as ambiguous)
instead of being silently renamed (``entry_id_1``) by a reader.
"""

from __future__ import annotations

import codecs
import gzip
import os
import re
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.db import quote_ident, quote_literal

UTF8_BOM = b"\xef\xbb\xbf"

#: Characters trimmed from header names and values: spaces, tabs, line breaks and the
#: zero-width no-break space (a UTF-8 BOM left in the middle of a file by joining two).
TRIMMED = " \t\r\n\ufeff"

#: DuckDB's default ``max_line_size`` for CSV: a longer line rejects the file.
MAX_CSV_LINE = 2_000_000

#: Excel's error values: a formula that failed is not a value (fastexcel reads it as
#: an empty cell; the reader writes the code instead and the rules quarantine it).
EXCEL_ERRORS = {
    "Div0": "#DIV/0!", "NA": "#N/A", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?",
    "Num": "#NUM!", "Null": "#NULL!", "GettingData": "#GETTING_DATA",
}


class FileRejected(Exception):
    """The whole file cannot be used; the message says why (file name added by the caller)."""


@dataclass(frozen=True)
class ReaderOptions:
    """How to read a file that is not in the contract's own shape (a mapping's ``read``)."""

    delimiter: str | None = None  # CSV: None = detected
    encoding: str = "utf-8"  # utf-8 | latin-1 | cp1252 | utf-16
    header_row: int | None = None  # 1-based row of the header (CSV, XLSX); None = the first
    sheet: str | None = None  # XLSX sheet name; None = the first sheet
    skip_footer: int = 0  # trailing rows to ignore (totals lines)
    decimal: str = "."  # decimal separator native numbers are rendered with
    limit: int | None = None  # read only the first data rows (previews)


CONTRACT_READ = ReaderOptions()

#: Encodings DuckDB's CSV reader decodes itself; others are transcoded to UTF-8 first.
CSV_ENCODINGS = {"utf-8", "latin-1", "utf-16"}


@dataclass(frozen=True)
class SourceColumn:
    name: str  # as written in the file: header cell, JSON key or Parquet field name
    column: str  # column of the temp table holding its values as text
    nested: str | None = None  # its values are not plain values: what they are, where
    beyond_header: bool = False  # CSV/XLSX cells right of the header's last name


@dataclass
class Source:
    """What a reader left in DuckDB: the table, its columns, and per-row checks."""

    table: str
    columns: list[SourceColumn]
    #: SQL expressions over the table: a reason when a row is unusable, else NULL
    row_checks: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns if not c.beyond_header]


def read_to_table(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, gzipped: bool, table: str,
    options: ReaderOptions = CONTRACT_READ, work_dir: Path | None = None,
) -> Source:
    """Read ``path`` into temp table ``table`` (``options``: a mapping's reader options;
    ``work_dir``: where a transcoded copy may be written, default the system's temp)."""
    transcoded: Path | None = None
    try:
        if fmt in ("csv", "json", "jsonl") and (
            options.encoding not in ("utf-8", *(CSV_ENCODINGS if fmt == "csv" else ()))
        ):
            # DuckDB's CSV reader decodes Latin-1 and UTF-16 itself; for the others
            # (cp1252, and any non-UTF-8 JSON) the bytes are decoded once, in blocks,
            # into a UTF-8 copy that the reader then reads.
            transcoded = _transcode(path, gzipped, options.encoding, work_dir, options.limit)
            path, gzipped = transcoded, False
            options = ReaderOptions(**{**options.__dict__, "encoding": "utf-8"})
        if fmt == "csv":
            source = _read_csv(con, path, gzipped, table, options)
        elif fmt in ("json", "jsonl"):
            source = _read_json(con, path, fmt, gzipped, table, options)
        elif fmt == "parquet":
            source = _read_parquet(con, path, table, options)
        elif fmt == "xlsx":
            source = _read_xlsx(con, path, table, options)
        else:  # pragma: no cover - contract.format_for_filename guards this
            raise FileRejected(f"unsupported format {fmt!r}")
        if options.skip_footer and options.limit is None:
            con.execute(
                f"DELETE FROM {quote_ident(table)} WHERE _row > (SELECT max(_row) FROM "
                f"{quote_ident(table)}) - {int(options.skip_footer)}"
            )
    except FileRejected:
        raise
    except (duckdb.Error, ValueError, OSError, UnicodeError) as exc:
        raise FileRejected(_first_line(str(exc), path)) from exc
    except Exception as exc:  # fastexcel raises its own exception types
        # (defined in its native module '_fastexcel', e.g. _fastexcel.CalamineError)
        if type(exc).__module__.lstrip("_").startswith("fastexcel"):
            raise FileRejected(
                f"not a readable XLSX workbook: {_first_line(str(exc), path)}"
            ) from exc
        raise
    finally:
        if transcoded is not None:
            transcoded.unlink(missing_ok=True)
    if not source.names:
        raise FileRejected("no header row")
    return source


def _transcode(path: Path, gzipped: bool, encoding: str, work_dir: Path | None,
               limit: int | None) -> Path:
    """A UTF-8 copy of a text file written in ``encoding`` (decoded in 1 MB blocks by
    Python's codec; a preview only needs the first blocks)."""
    fd, name = tempfile.mkstemp(prefix="opskpi-utf8-", suffix=".txt", dir=work_dir)
    out_path = Path(name)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with (gzip.open(path, "rb") if gzipped else path.open("rb")) as src, \
                os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            written = 0
            while True:
                block = src.read(1 << 20)
                try:
                    out.write(decoder.decode(block, final=not block))
                except UnicodeDecodeError as exc:
                    raise FileRejected(f"not {encoding} text: {exc.reason} "
                                       f"(byte 0x{exc.object[exc.start]:02x})") from None
                written += len(block)
                if not block or (limit is not None and written >= 1 << 22):
                    break
    except BaseException:
        out_path.unlink(missing_ok=True)
        raise
    return out_path


#: DuckDB's words for a broken gzip stream, and what they mean to the user.
GZIP_ERRORS = {
    "Input is not a GZIP stream": "not a gzip file (a wrong .gz name, or damaged bytes)",
    "Unexpected end of GZIP stream": "gzip file cut short (an incomplete transfer?)",
}


def _first_line(message: str, path: Path | None = None) -> str:
    """The useful line of a reader's error, without the private copy's path."""
    for words, meaning in GZIP_ERRORS.items():
        if words in message:
            return meaning
    if path is not None:
        message = message.replace(f' in file "{path}",', "").replace(str(path), "the file")
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


#: Byte order marks of encodings other than UTF-8 (longest first).
OTHER_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def _check_utf8(head: bytes | None) -> None:
    """Reject, naming the line, a text export whose first bytes are not UTF-8.

    DuckDB would say 'Error when sniffing file' for binary bytes; and it gives no
    line for a UTF-16 file. Bytes further on are checked by DuckDB's reader itself."""
    if not head:
        return
    for bom, encoding in OTHER_BOMS:
        if head.startswith(bom):
            raise FileRejected(f"{encoding} text (it starts with a {encoding} byte order mark), "
                               "not UTF-8: save the export as UTF-8")
    first_line = head.split(b"\n", 1)[0]
    if b"\x00" in first_line:
        raise FileRejected("line 1 holds NUL bytes: UTF-16 text without a byte order mark, "
                           "or a binary file, not UTF-8 text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        line = head[: exc.start].count(b"\n") + 1
        raise FileRejected(
            f"line {line}: not UTF-8 text: byte 0x{head[exc.start]:02x} at offset {exc.start} "
            "(another encoding such as Latin-1 or Windows-1252, or a binary file)"
        ) from None


def _lines_sql(path: Path, gzipped: bool, max_line_size: int) -> str:
    """The file's physical lines as rows (``n`` = 1 for the first line; a blank line is
    a NULL row, a UTF-8 BOM is skipped): used to name the line a reader choked on.

    One column whose delimiter is the unit separator (0x1F): a line holding one is cut
    there, which is harmless for both uses (such a line is not valid JSON, and it is
    measured only when it has no such byte)."""
    return f"""
        SELECT row_number() OVER () AS n, line
        FROM read_csv({quote_literal(str(path))}, header = false, auto_detect = false,
                      columns = {{'line': 'VARCHAR'}}, delim = '\x1f', quote = '', escape = '',
                      null_padding = true, strict_mode = false, parallel = false,
                      max_line_size = {max_line_size},
                      compression = {quote_literal(_compression(gzipped))})
    """


def _locate(con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool, condition: str,
            start_size: int) -> tuple[int, int] | None:
    """(line number, length in bytes) of the first physical line matching ``condition``
    (SQL over ``line``); None when it cannot be found. Only run on a file already
    rejected, to name the right line."""
    size = max(start_size, 1 << 24)
    for _ in range(4):
        try:
            found = con.execute(
                f"SELECT n, strlen(line) FROM ({_lines_sql(path, gzipped, size)}) "
                f"WHERE {condition} ORDER BY n LIMIT 1"
            ).fetchall()
            return (int(found[0][0]), int(found[0][1])) if found else None
        except duckdb.Error as exc:
            longer = re.search(r"Actual Size:\s*(\d+)", str(exc))
            if not longer or size >= 1 << 30:
                return None
            size = min(int(longer.group(1)) * 2 + 1024, 1 << 30)
    return None


# --- CSV ----------------------------------------------------------------------------


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool, table: str,
              options: ReaderOptions = CONTRACT_READ) -> Source:
    head = _head(path, gzipped, 1 << 16)
    if head is not None and len(head) < 1 << 16 and not head.removeprefix(UTF8_BOM).strip():
        # DuckDB would invent a 'column0' and the file would be reported as missing
        # its required columns
        raise FileRejected("empty file: no header row")
    if options.encoding == "utf-8":
        _check_utf8(head)
    # header = false: the first row is read as data and becomes the names here, as
    # written (DuckDB would rename a repeated name). all_varchar: the contract does the
    # typing. null_padding: a short row is a row with missing values (quarantined by the
    # rules), not an unreadable file. parallel = false: DuckDB's parallel scanner
    # rejects null_padding with a quoted newline in a value. A mapping may name the
    # delimiter, the encoding and the header's line (the lines above it are skipped).
    mapped = ""
    if options.delimiter is not None:
        mapped += f", delim = {quote_literal(options.delimiter)}"
    if options.header_row and options.header_row > 1:
        mapped += f", skip = {int(options.header_row) - 1}"
    preview = options.limit is not None
    limit = f"LIMIT {int(options.limit) + 1}" if preview else ""
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
            SELECT row_number() OVER () - 1 AS _row, *
            FROM read_csv({quote_literal(str(path))}, header = false, all_varchar = true,
                          auto_detect = true, null_padding = true,
                          sample_size = {20480 if preview else -1},
                          parallel = false,
                          compression = {quote_literal(_compression(gzipped))},
                          encoding = {quote_literal(options.encoding)}{mapped})
            {limit}
            """
        )
    except duckdb.Error as exc:
        if "Maximum line size" in str(exc):
            raise FileRejected(_long_line(con, path, gzipped, str(exc))) from exc
        if "Error when sniffing file" in str(exc):
            raise FileRejected("not a readable CSV file: no delimiter and columns could be "
                               "detected") from exc
        if options.encoding != "utf-8" and "encoded" in str(exc):
            raise FileRejected(f"not {options.encoding} text: "
                               f"{_first_line(str(exc), path)}") from exc
        raise
    internal = [r[0] for r in con.execute(f"DESCRIBE {quote_ident(table)}").fetchall()][1:]
    header = con.execute(f"SELECT * EXCLUDE (_row) FROM {quote_ident(table)} WHERE _row = 0"
                         ).fetchall()
    con.execute(f"DELETE FROM {quote_ident(table)} WHERE _row = 0")
    source = _with_header(table, internal, list(header[0]) if header else [])
    # A NUL byte is no character of a text export: a damaged file (e.g. the zero-filled
    # tail of a file whose writer crashed). The row is quarantined, its bytes kept.
    has_nul = [f"strpos({quote_ident(c.column)}, chr(0)) > 0" for c in source.columns]
    which = ", ".join(f"CASE WHEN {test} THEN {quote_literal(c.name)} END"
                      for test, c in zip(has_nul, source.columns, strict=True))
    source.row_checks.append(
        f"CASE WHEN {' OR '.join(has_nul)} THEN 'NUL byte (a damaged file?) in column(s) ' || "
        f"array_to_string(list_filter([{which}], lambda x: x IS NOT NULL), ', ') END"
    )
    return source


def _long_line(con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool, message: str) -> str:
    """DuckDB names line 1 whatever line is too long (it counts inside its buffer):
    find the first line longer than the limit ourselves."""
    actual = re.search(r"Actual Size:\s*(\d+)", message)
    found = _locate(con, path, gzipped, f"strlen(line) > {MAX_CSV_LINE}",
                    int(actual.group(1)) + 1024 if actual else 0)
    if found is None:
        return (f"a line is longer than {MAX_CSV_LINE:,} bytes (a value never closed by its "
                "quote?)")
    line, length = found
    return f"line {line} is {length:,} bytes long: a line may have at most {MAX_CSV_LINE:,}"


def _with_header(table: str, internal: list[str], header: list[str | None]) -> Source:
    """Columns named by the header row; cells right of its last name are 'beyond the
    header' (their values make the row unusable: a delimiter in an unquoted value?)."""
    names = [(h or "") for h in header] + [""] * (len(internal) - len(header))
    named = [i for i, n in enumerate(names) if n.strip(TRIMMED)]
    if not named:
        raise FileRejected("no header row: the first line has no column names")
    last = named[-1]
    columns = [
        SourceColumn(names[i] if names[i].strip(TRIMMED) else f"(unnamed column {i + 1})", col)
        for i, col in enumerate(internal[: last + 1])
    ]
    beyond = list(enumerate(internal))[last + 1:]
    columns += [SourceColumn(f"(field {i + 1})", col, beyond_header=True) for i, col in beyond]
    checks = []
    if beyond:
        fields = "greatest(" + ", ".join(
            f"CASE WHEN {quote_ident(col)} IS NOT NULL THEN {i + 1} END" for i, col in beyond
        ) + ")"
        checks.append(
            f"CASE WHEN {fields} IS NOT NULL THEN 'row has ' || {fields} || "
            f"{quote_literal(f' fields, the header names {last + 1}: a delimiter inside an unquoted value?')}"
            " END"
        )
    # (a cheap ILIKE first: LIKE's wildcards in a name only let more rows through)
    first = named[0]
    same_as_header = " AND ".join(
        [f"{quote_ident(internal[first])} ILIKE "
         f"{quote_literal('%' + names[first].strip(TRIMMED) + '%')}"]
        + [f"lower(trim({quote_ident(internal[i])}, {quote_literal(TRIMMED)})) = "
           f"{quote_literal(names[i].strip(TRIMMED).lower())}" for i in named]
    )
    checks.append(
        f"CASE WHEN {same_as_header} THEN 'row repeats the header row (two files joined?)' END"
    )
    return Source(table, columns, checks)


# --- JSON ---------------------------------------------------------------------------


def _read_json(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, gzipped: bool, table: str,
    options: ReaderOptions = CONTRACT_READ,
) -> Source:
    json_format = "array" if fmt == "json" else "newline_delimited"
    head = _head(path, gzipped, 1 << 16)
    _check_utf8(head)
    if json_format == "newline_delimited" and head and head.startswith(UTF8_BOM):
        # DuckDB's newline-delimited reader refuses a BOM; 'unstructured' reads the same
        # one-object-per-line file and skips it (the contract accepts UTF-8 with BOM).
        json_format = "unstructured"
    objects = f"_{table}_objects"
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {quote_ident(objects)} AS
            SELECT row_number() OVER () AS _row, json AS _obj
            FROM read_json_objects({quote_literal(str(path))},
                                   format = {quote_literal(json_format)},
                                   compression = {quote_literal(_compression(gzipped))})
            {f"LIMIT {int(options.limit)}" if options.limit is not None else ""}
            """
        )
    except duckdb.Error as exc:
        if fmt == "jsonl" and "Malformed JSON" in str(exc):
            raise FileRejected(_bad_json_line(con, path, gzipped, str(exc))) from exc
        if fmt == "json" and "Malformed JSON" in str(exc):
            raise FileRejected(_bad_json_array(path, gzipped, str(exc))) from exc
        if fmt == "json" and "Expected top-level JSON array" in str(exc):
            raise FileRejected("not a JSON array of objects: the file does not start with '['"
                               ) from exc
        raise
    o = quote_ident(objects)
    not_objects = con.execute(f"SELECT min(_row) FROM {o} WHERE json_type(_obj) <> 'OBJECT'"
                              ).fetchall()[0][0]
    if not_objects is not None:
        where = "line" if fmt == "jsonl" else "element"
        raise FileRejected(f"{where} {not_objects} is not a JSON object")
    # A column is present when any object has the key (in first-seen order). A key
    # written twice in one object is ambiguous (DuckDB would keep one of the two).
    keys = con.execute(
        f"""
        SELECT k, min(twice) FROM (
            SELECT _row, k, i, CASE WHEN list_position(ks, k) < i THEN _row END AS twice
            FROM (SELECT _row, ks, unnest(ks) AS k, generate_subscripts(ks, 1) AS i
                  FROM (SELECT _row, json_keys(_obj) AS ks FROM {o})))
        GROUP BY k
        ORDER BY min(_row::HUGEINT * 4294967296 + i)
        """
    ).fetchall()
    twice = min(((row, k) for k, row in keys if row is not None), default=None)
    if twice is not None:
        where = "line" if fmt == "jsonl" else "object"
        raise FileRejected(f"{where} {twice[0]} has the key {twice[1]!r} twice: ambiguous")
    nested = _nested_keys(con, o, fmt)
    columns = [SourceColumn(k, f"c{n}", nested.get(k)) for n, (k, _) in enumerate(keys)]
    selects = "".join(f", {_json_text(c.name, options.decimal)} AS {c.column}" for c in columns)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT _row{selects} FROM {o}"
    )
    con.execute(f"DROP TABLE {o}")
    return Source(table, columns)


def _nested_keys(con: duckdb.DuckDBPyConnection, objects: str, fmt: str) -> dict[str, str]:
    """{key: where it holds an object or array} for the keys that ever do.

    One pass gives the structure of every key (a nested one, or 'JSON' when its
    values mix kinds); only those keys are then searched for their first such row."""
    import json

    # Only objects whose text has a '[' or a second '{' can hold one (a cheap scan).
    maybe = "(strpos(CAST(_obj AS VARCHAR)[2:], '{') > 0 OR strpos(CAST(_obj AS VARCHAR), '[') > 0)"
    structure = con.execute(
        f"SELECT json_group_structure(_obj) FROM {objects} WHERE {maybe}").fetchall()[0][0]
    suspects = [k for k, v in json.loads(structure or "{}").items()
                if isinstance(v, dict | list) or v == "JSON"]
    where = "line" if fmt == "jsonl" else "object"
    found = {}
    for key in suspects:
        path = quote_literal("$." + '"' + key.replace('"', '\\"') + '"')
        row = con.execute(
            f"SELECT min(_row) FROM {objects} "
            f"WHERE {maybe} AND json_type(json_extract(_obj, {path})) IN ('OBJECT', 'ARRAY')"
        ).fetchall()[0][0]
        if row is not None:
            found[key] = f"an object or array (first in {where} {row})"
    return found


def _bad_json_line(con: duckdb.DuckDBPyConnection, path: Path, gzipped: bool, message: str) -> str:
    """DuckDB counts JSON lines its own way (off by one, blank lines skipped): name the
    first line that is not valid JSON ourselves (1 = the file's first line)."""
    cause = re.search(r":\s*([^:]+?)\.?\s*$", message.strip().splitlines()[0])
    why = f": {cause.group(1).strip()}" if cause else ""
    found = _locate(con, path, gzipped, "trim(line) <> '' AND NOT json_valid(line)", 0)
    if found is None:
        return f"malformed JSON{why}"
    return f"line {found[0]} is not valid JSON{why}"


#: Largest JSON array (decompressed) parsed again to name the line of a syntax error.
MAX_JSON_LOCATE = 64 << 20


def _bad_json_array(path: Path, gzipped: bool, message: str) -> str:
    """DuckDB names no line in a JSON array: Python's parser, run on a file already
    rejected, names the first line and column that is not JSON."""
    import json

    cause = re.search(r":\s*([^:]+?)\.?\s*$", message.strip().splitlines()[0])
    why = f": {cause.group(1).strip()}" if cause else ""
    head = _head(path, gzipped, MAX_JSON_LOCATE + 1)
    if head is not None and len(head) <= MAX_JSON_LOCATE:
        try:
            json.loads(head.decode("utf-8-sig"))
        except json.JSONDecodeError as exc:
            return f"line {exc.lineno}, column {exc.colno} is not valid JSON ({exc.msg})"
        except UnicodeDecodeError:
            pass
    return f"malformed JSON{why}"


def _json_text(key: str, decimal: str = ".") -> str:
    """A JSON value as text: strings as is, numbers in plain decimal notation, exactly
    (with ``decimal`` as the separator when a mapping's numbers use another one).

    DuckDB parses JSON numbers as binary doubles: 12345678901234567.89 would come out
    as 12345678901234568.0. A number written with more than 15 significant digits (or
    an exponent) is read again as an exact DECIMAL from the object's text; one that
    does not fit stays as written and the rules quarantine it."""
    json_path = quote_literal("$." + '"' + key.replace('"', '\\"') + '"')
    structure = quote_literal('{' + _json_string(key) + ': "DECIMAL(38,10)"}')
    value = f"json_extract(_obj, {json_path})"
    text = f"json_extract_string(_obj, {json_path})"
    exact = (f"regexp_replace(CAST(struct_extract(json_transform(_obj, {structure}), "
             f"{quote_literal(key)}) AS VARCHAR), '\\.?0*$', '')")
    number = f"json_type({value}) IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'HUGEINT')"
    text_of = f"""CASE
        WHEN {number}
             AND (regexp_matches({text}, '[eE]')
                  OR (length({text}) > 15
                      AND length(regexp_replace({text}, '[^0-9]', '', 'g')) > 15))
        THEN coalesce({exact}, {text})
        ELSE {text} END"""
    if decimal == ".":
        return text_of
    return f"CASE WHEN {number} THEN replace({text_of}, '.', {quote_literal(decimal)}) ELSE {text} END"


def _json_string(text: str) -> str:
    import json

    return json.dumps(text)


# --- Parquet ------------------------------------------------------------------------


#: Native numeric types whose text has a decimal point.
_FRACTIONAL = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


def native_to_text(col: str, type_: str, decimal: str = ".") -> str:
    """SQL rendering a natively typed column (SQL expression ``col``) as contract-style
    text, numbers with ``decimal`` as their separator. A value that has no plain
    rendering keeps DuckDB's text (the rules then quarantine it, e.g. 'inf'), never NULL."""
    text = _native_to_text(col, type_)
    if decimal != "." and type_.upper().startswith(_FRACTIONAL):
        return f"replace({text}, '.', {quote_literal(decimal)})"
    return text


def _native_to_text(col: str, type_: str) -> str:
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
            f"THEN coalesce(CAST(TRY_CAST({col} AS DECIMAL(38, 10)) AS VARCHAR), "
            f"CAST({col} AS VARCHAR)) "
            f"ELSE CAST({col} AS VARCHAR) END"
        )
    if _is_nested(t):
        return f"CAST(to_json({col}) AS VARCHAR)"
    return f"CAST({col} AS VARCHAR)"


def _is_nested(type_: str) -> bool:
    t = type_.upper()
    return t.startswith(("STRUCT", "MAP", "UNION")) or t.endswith("]")


def _parquet_names(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Top-level field names as written in the file's schema (DuckDB's own names
    rename a repeated one)."""
    schema = con.execute(
        f"SELECT name, coalesce(num_children, 0) FROM parquet_schema({quote_literal(str(path))})"
    ).fetchall()
    names: list[str] = []

    def skip(i: int) -> int:  # index after the subtree starting at i
        children = schema[i][1]
        i += 1
        for _ in range(children):
            i = skip(i)
        return i

    i = 1
    for _ in range(schema[0][1] if schema else 0):
        names.append(schema[i][0])
        i = skip(i)
    return names


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str,
                  options: ReaderOptions = CONTRACT_READ) -> Source:
    file = quote_literal(str(path))
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({file})").fetchall()
    names = _parquet_names(con, path)
    if len(names) != len(described):  # pragma: no cover - a schema DuckDB reads otherwise
        names = [d[0] for d in described]
    internal = [f"c{i}" for i in range(len(described))]
    columns = [
        SourceColumn(name, col, f"{type_} values" if _is_nested(type_) else None)
        for name, col, (_, type_, *_) in zip(names, internal, described, strict=True)
    ]
    selects = "".join(
        f", {native_to_text(col, type_, options.decimal)} AS {col}"
        for col, (_, type_, *_) in zip(internal, described, strict=True)
    )
    alias = ", ".join([*internal, "_file_row"])
    limit = f"LIMIT {int(options.limit)}" if options.limit is not None else ""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
        SELECT CAST(_file_row AS BIGINT) + 1 AS _row{selects}
        FROM read_parquet({file}, file_row_number = true) AS t({alias})
        ORDER BY _file_row {limit}
        """
    )
    return Source(table, columns)


# --- XLSX ---------------------------------------------------------------------------


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, table: str,
               options: ReaderOptions = CONTRACT_READ) -> Source:
    """XLSX, first sheet (or a mapping's ``sheet``), read twice by fastexcel (Rust
    calamine → Arrow).

    - as text with no header row, so a stray 'n/a' in a numeric column reaches the
      quarantine instead of becoming null (fastexcel's type guessing would silently
      null it), and the header cells come back as written (fastexcel renames a
      repeated name); a formula error cell (which fastexcel reads as empty) gets its
      Excel code (#DIV/0!, #N/A, ...), which the rules quarantine;
    - with native types, because the text rendering of a number cell keeps only ~11
      significant digits (123456789.12 would lose its cents): where the typed read has a
      value (a real number or date cell), that value wins, rendered exactly.

    A mapping's ``header_row`` names the sheet row of the header (rows above it, e.g. a
    title block, are ignored); without it the header is the first row that has a value.
    """
    import fastexcel  # imported lazily: only XLSX files need it
    import pyarrow as pa

    reader = fastexcel.read_excel(str(path))
    sheet: int | str = 0
    if options.sheet is not None:
        sheet = _sheet_named(reader.sheet_names, options.sheet)
    which = "the first sheet" if options.sheet is None else f"sheet {options.sheet!r}"
    header_at = 0 if options.header_row is None else int(options.header_row) - 1
    text_args: dict = {} if options.header_row is None else {"skip_rows": 0}
    if options.limit is not None:
        text_args["n_rows"] = header_at + 1 + int(options.limit)
    text, errors = reader.load_sheet(
        sheet, header_row=None, dtypes="string", **text_args).to_arrow_with_errors()
    if text.num_rows <= header_at:
        raise FileRejected(f"no header row: {which} is empty"
                           + (f" down to row {header_at + 1}" if header_at else ""))
    typed_args: dict = {} if options.header_row is None else {"header_row": header_at}
    if options.limit is not None:
        typed_args["n_rows"] = int(options.limit)
    typed = reader.load_sheet(sheet, schema_sample_rows=None, **typed_args).to_arrow()
    internal = [f"c{i}" for i in range(text.num_columns)]
    header = [text.column(i)[header_at].as_py() for i in range(text.num_columns)]
    text = pa.table(text.rename_columns(internal)).append_column(
        "_row", pa.array(range(-header_at, text.num_rows - header_at), pa.int64()))
    typed = pa.table(typed.rename_columns(internal[: typed.num_columns])).append_column(
        "_row", pa.array(range(1, typed.num_rows + 1), pa.int64()))
    cells = errors.errors if errors is not None else []
    error_table = pa.table({
        "_row": pa.array([e.offset_position[0] - header_at for e in cells], pa.int64()),
        "col": pa.array([internal[e.offset_position[1]] for e in cells], pa.string()),
        "code": pa.array([_excel_error(e.detail) for e in cells], pa.string()),
    })
    views = {"text": f"_{table}_text", "typed": f"_{table}_typed", "errors": f"_{table}_errors"}
    for key, arrow in (("text", text), ("typed", typed), ("errors", error_table)):
        con.register(views[key], arrow)
    try:
        native = {
            name: type_
            for name, type_, *_ in con.execute(f"DESCRIBE {quote_ident(views['typed'])}").fetchall()
        }
        selects = []
        for col in internal:
            t = native.get(col, "VARCHAR").upper()
            raw = f"coalesce(t.{col}, e.codes[{quote_literal(col)}])"
            if t in ("VARCHAR", "NULL"):
                selects.append(f"{raw} AS {col}")
            else:
                exact = native_to_text(f"n.{col}", t, options.decimal)
                selects.append(f"CASE WHEN n.{col} IS NOT NULL THEN {exact} ELSE {raw} END AS {col}")
        any_value = " OR ".join(f"t.{c} IS NOT NULL" for c in internal) + " OR e.codes IS NOT NULL"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS
            SELECT t._row, {", ".join(selects)}
            FROM {quote_ident(views['text'])} AS t
            LEFT JOIN {quote_ident(views['typed'])} AS n ON n._row = t._row
            LEFT JOIN (SELECT _row, map_from_entries(list((col, code))) AS codes
                       FROM {quote_ident(views['errors'])} GROUP BY _row) AS e
                   ON e._row = t._row
            WHERE t._row > 0 AND ({any_value})
            ORDER BY t._row
            """
        )
    finally:
        for view in views.values():
            con.unregister(view)
    return _with_header(table, internal, header)


def _sheet_named(names: list[str], wanted: str) -> str:
    """The sheet called ``wanted`` (exactly, else ignoring case)."""
    if wanted in names:
        return wanted
    folded = [n for n in names if n.casefold() == wanted.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    raise FileRejected(f"no sheet named {wanted!r} (sheets: {', '.join(names)})")


def _excel_error(detail: str) -> str:
    """fastexcel's "Expected string but got 'Error(Div0)'" as Excel's own code."""
    found = re.search(r"Error\((\w+)\)", detail)
    if not found:
        return "#ERROR"
    return EXCEL_ERRORS.get(found.group(1), f"#{found.group(1).upper()}")
