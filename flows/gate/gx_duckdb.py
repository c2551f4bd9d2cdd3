"""Great Expectations on a DuckDB file: the one patch GE 1.24 needs (see stack-notes).

The problem: for most SQL dialects GE opens a connection per query batch and reads the
result after that connection is closed. duckdb-engine's results do not survive that, so
out of the box *every* expectation on a ``duckdb:///`` data source fails with
``MetricResolutionError: list index out of range`` (upstream great_expectations#10738,
#11579).

The fix: GE already keeps one connection open for the dialects listed in
``sqlalchemy_execution_engine._PERSISTED_CONNECTION_DIALECTS`` (SQLite, SQL Server, ...:
a ``StaticPool`` plus a connection it never closes). We add DuckDB to that tuple. The
tuple holds ``GXSqlDialect`` members, which GE uses two ways: ``dialect_name in tuple``
(string equality, so a ``str`` works) and ``member.value`` (prefix test on the
connection string), hence a ``str`` subclass that also has ``.value``.

``tests/test_gx_patch.py`` fails when an upgrade makes this unnecessary (an expectation
works without it, in a fresh process) or breaks it (an expectation fails with it).

Not needed here, but worth knowing: GE's column expectations (``ExpectColumnValuesToNotBeNull``
...) reflect the table's columns first. Under SQLAlchemy 2.1 that fails for tables
outside the ``main`` schema (it queries ``pg_catalog.pg_collation``, which DuckDB does
not have: duckdb_engine#1391, duckdb#22069) and GE's fallback then silently reads
``main.<table>``. The project pins SQLAlchemy 2.0.x (2.1 also breaks Prefect's
scheduler), where reflection works; the suites still express every check as SQL
(``UnexpectedRowsExpectation``) so each one reports exact counts and sample rows the
same way and needs no reflection. ``tests/test_gx_patch.py`` notices if that regresses.
"""

from __future__ import annotations

DIALECT = "duckdb"


class _DuckDBDialect(str):
    """Stands in for a ``GXSqlDialect`` member (GE has none for DuckDB)."""

    value = DIALECT


def install() -> None:
    """Make GE keep its DuckDB connection open. Idempotent; call before any validation."""
    import great_expectations.execution_engine.sqlalchemy_execution_engine as see

    if any(str(getattr(d, "value", d)) == DIALECT for d in see._PERSISTED_CONNECTION_DIALECTS):
        return  # already installed (or GE learnt DuckDB itself: the test will tell us)
    see._PERSISTED_CONNECTION_DIALECTS = (
        *see._PERSISTED_CONNECTION_DIALECTS,
        _DuckDBDialect(DIALECT),
    )

