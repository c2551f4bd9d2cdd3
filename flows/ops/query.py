"""``opskpi query``: ad-hoc SQL on the published warehouse, which it can never change.

The published file is what analysts and the report read, and the refresh replaces it
atomically; a query must neither write to it nor use the query session to write
anywhere else (a ``COPY ... TO`` a shared folder, an ``ATTACH``ed file, an extension
download). Three layers make sure of that:

1. the statement types are checked before anything runs: only reading statements
   (``SELECT`` and its forms ``FROM``/``WITH``/``VALUES``/``DESCRIBE``/``SUMMARIZE``/
   ``PIVOT``, ``EXPLAIN``, ``PRAGMA``/``CALL`` of table functions) are run, anything
   else is refused with the same "the warehouse is read-only" message;
2. the file is attached ``READ_ONLY`` (``flows.db.open_read_only``), so DuckDB itself
   refuses any write to it, and a new query always reads the latest published file;
3. the session has ``enable_external_access = false`` (no file or network access but
   the warehouse itself: no ``COPY TO``, ``EXPORT``, ``ATTACH``, ``INSTALL``/``LOAD``,
   ``read_csv('/etc/...')``) and ``lock_configuration = true`` (no ``SET`` can undo it).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb

from flows.db import open_read_only

FORMATS = ("table", "csv", "json")

#: Rows shown by the ``table`` format; the machine formats always return every row.
TABLE_MAX_ROWS = 1000

#: Statement types that only read (DuckDB's ``StatementType`` names).
_READING = {"SELECT", "EXPLAIN", "PRAGMA", "CALL", "MULTI"}

READ_ONLY = "the warehouse is read-only"

#: What the refusal message lists: every statement form that runs (the parser files
#: FROM, WITH, VALUES, PIVOT/UNPIVOT, DESCRIBE, SHOW and SUMMARIZE under SELECT).
ALLOWED = ("SELECT, FROM, WITH, VALUES, PIVOT, UNPIVOT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN, "
           "PRAGMA and CALL of table functions")


class QueryError(Exception):
    """A query that cannot run: refused (it would write), invalid SQL, or no warehouse."""


def run_query(warehouse: Path, sql: str, fmt: str = "table") -> str:
    """Run read-only ``sql`` on the published ``warehouse`` and return it formatted.

    ``fmt``: ``table`` (for a terminal), ``csv`` (header row, RFC 4180) or ``json``
    (a list of objects, one per row). With several statements, the last one's result
    is returned. Raises :class:`QueryError` for anything that is refused or fails.
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise QueryError(f"no warehouse at {warehouse} (run `opskpi refresh` first)")
    try:
        con = open_read_only(warehouse)
    except duckdb.Error as exc:
        raise QueryError(f"cannot open {warehouse} read-only: {' '.join(str(exc).split())}") from None
    try:
        statements = _checked_statements(con, sql)
        for statement in statements[:-1]:
            _fetch(_run(con, statement.query))
        relation = _run(con, statements[-1].query)
        if relation is None:  # e.g. CALL of a function that returns nothing
            return "" if fmt != "json" else "[]"
        columns = list(relation.columns)
        types = [str(t) for t in relation.types]
        if fmt == "table":
            rows = _fetch(relation, limit=TABLE_MAX_ROWS + 1)
            return _as_table(columns, types, rows)
        rows = _fetch(relation)
        return _as_csv(columns, rows) if fmt == "csv" else _as_json(columns, types, rows)
    finally:
        con.close()


def _checked_statements(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    """The parsed statements of ``sql``; raises QueryError unless all of them only read."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.ParserException as exc:
        raise QueryError(f"invalid SQL: {exc}") from None
    except duckdb.Error as exc:
        raise QueryError(f"invalid SQL: {exc}") from None
    if not statements:
        raise QueryError("no SQL statement given")
    for statement in statements:
        try:
            kind = statement.type.name
        except ValueError:  # a type the Python enum doesn't know (UPDATE EXTENSIONS)
            kind = "UNKNOWN"
        if kind not in _READING:
            what = "this statement is" if kind == "UNKNOWN" else f"{kind.replace('_', ' ')} statements are"
            raise QueryError(
                f"{READ_ONLY}: {what} not allowed "
                f"(only reading statements: {ALLOWED}); "
                f"refused: {_abbrev(statement.query)}"
            )
    return statements


def _run(con: duckdb.DuckDBPyConnection, query: str) -> duckdb.DuckDBPyRelation | None:
    try:
        return con.sql(query)
    except duckdb.PermissionException as exc:
        raise QueryError(
            f"{READ_ONLY}: queries can only read the warehouse, not other files ({exc})"
        ) from None
    except duckdb.Error as exc:
        message = str(exc)
        if "read-only" in message or "configuration has been locked" in message:
            raise QueryError(f"{READ_ONLY}: {message}") from None
        raise QueryError(message) from None


def _fetch(relation: duckdb.DuckDBPyRelation | None, limit: int | None = None) -> list[tuple]:
    """Rows of ``relation`` (a relation runs when fetched: errors surface here too)."""
    if relation is None:
        return []
    try:
        return (relation if limit is None else relation.limit(limit)).fetchall()
    except duckdb.PermissionException as exc:
        raise QueryError(
            f"{READ_ONLY}: queries can only read the warehouse, not other files ({exc})"
        ) from None
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None


def _abbrev(query: str, limit: int = 80) -> str:
    one_line = " ".join(query.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


# --- formats -----------------------------------------------------------------------------

def _text(value: Any) -> str:
    """A cell as text, the way DuckDB's own CLI and CSV writer spell it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return format(value, "f")  # 0.000000000000, never 0E-12
    if isinstance(value, list | dict):
        return json.dumps(_json_value(value, ""), ensure_ascii=False)
    return str(value)


def _as_table(columns: Sequence[str], types: Sequence[str], rows: list[tuple]) -> str:
    """A box-drawn table for a terminal (rich), numbers right-aligned, NULL spelled out."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    shown, more = rows[:TABLE_MAX_ROWS], len(rows) > TABLE_MAX_ROWS
    table = Table(box=box.SQUARE, show_header=True, header_style="bold", show_edge=True)
    for name, sql_type in zip(columns, types, strict=True):
        table.add_column(
            f"{name}\n{sql_type.lower()}", justify="right" if _is_numeric(sql_type) else "left",
            overflow="fold",
        )
    for row in shown:
        table.add_row(*("NULL" if v is None else _text(v) for v in row))
    footer = (
        f"first {TABLE_MAX_ROWS} rows shown; use --format csv or json for all of them"
        if more else f"{len(shown)} row{'s' if len(shown) != 1 else ''}"
    )
    # Wide enough for the whole table: a terminal wraps a long line, but a value cut to
    # fit the terminal ("0.86…") would be a wrong answer.
    natural = 1 + sum(
        3 + max([len(name), len(sql_type)] + [_cell_width(row[i]) for row in shown])
        for i, (name, sql_type) in enumerate(zip(columns, types, strict=True))
    )
    width = max(shutil.get_terminal_size((120, 24)).columns, natural)
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, force_terminal=False,
                      highlight=False, emoji=False, markup=False)
    console.print(table)
    console.print(footer, markup=False)
    return out.getvalue().rstrip("\n")


def _cell_width(value: Any) -> int:
    return 4 if value is None else max(len(line) for line in (_text(value) or " ").splitlines())


def _is_numeric(sql_type: str) -> bool:
    base = sql_type.split("(")[0].upper()
    return base in {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
    }


def _as_csv(columns: Sequence[str], rows: list[tuple]) -> str:
    """CSV with a header row; NULL is an empty field, booleans true/false, dates ISO."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue().rstrip("\n")


def _as_json(columns: Sequence[str], types: Sequence[str], rows: list[tuple]) -> str:
    """A JSON array of objects; numbers stay numbers, JSON columns are embedded as JSON."""
    records = [
        {c: _json_value(v, t) for c, t, v in zip(columns, types, row, strict=True)} for row in rows
    ]
    return json.dumps(records, ensure_ascii=False, indent=2)


def _json_value(value: Any, sql_type: str) -> Any:
    if value is None or (isinstance(value, bool | int | float | str) and sql_type != "JSON"):
        return value
    if sql_type == "JSON" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_value(v, "") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v, "") for v in value]
    return str(value)
