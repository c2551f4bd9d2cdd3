"""Opening DuckDB the same way everywhere: UTC session, no extension downloads."""

from __future__ import annotations

from pathlib import Path

import duckdb


def connect(path: Path | str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never tries to download an extension.

    json, parquet and icu are linked into the wheel; anything else would be fetched from
    the internet on first use, which these machines cannot reach, so auto-install is off.
    The session time zone is UTC so instants print and truncate the same on every machine.
    """
    config = {"autoinstall_known_extensions": "false", "TimeZone": "UTC"}
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    return con


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB (column names come from user files)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
