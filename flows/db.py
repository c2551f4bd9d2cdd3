"""Opening DuckDB the same way everywhere: UTC session, no extension downloads, and a
locked-down reader of the published file that always sees its latest version."""

from __future__ import annotations

from pathlib import Path

import duckdb

#: Settings of every opskpi connection: nothing is downloaded (json, parquet and icu are
#: linked into the wheel; anything else would be fetched from the internet, which these
#: machines cannot reach), and instants print and truncate in UTC on every machine.
_BASE_CONFIG = {"autoinstall_known_extensions": "false", "TimeZone": "UTC"}


def connect(path: Path | str = ":memory:", *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for the pipeline's own work (see ``_BASE_CONFIG``)."""
    return duckdb.connect(str(path), read_only=read_only, config=dict(_BASE_CONFIG))


def open_read_only(warehouse: Path | str) -> duckdb.DuckDBPyConnection:
    """A locked-down, read-only connection to the *latest* published ``warehouse``.

    DuckDB keeps one database instance per file path and process: a plain
    ``duckdb.connect(path, read_only=True)`` in a process that still holds a connection
    to the file returns that old instance, i.e. the data of the file before the last
    publish (which replaced it by a rename). Attaching the file to a fresh in-memory
    database opens whatever file the path names now. Afterwards the session can reach no
    other file, download nothing, and change none of these settings.
    """
    con = duckdb.connect(":memory:", config={**_BASE_CONFIG, "allow_community_extensions": "false"})
    try:
        con.execute(f"ATTACH {quote_literal(str(warehouse))} AS warehouse (READ_ONLY)")
        con.execute("USE warehouse")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")  # last: nothing above can be undone
    except duckdb.Error:
        con.close()
        raise
    return con


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB (column names come from user files)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
