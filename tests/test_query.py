"""``opskpi query`` / ``flows.ops.query.run_query``: exact results, and no way to write."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.ops.query import QueryError, run_query

ROWS_SQL = "SELECT site_id, week_start, value, spend, ok, note FROM kpi.sample ORDER BY site_id"


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    """A tiny published-looking warehouse with values whose spelling we know exactly."""
    path = tmp_path / "ops.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA kpi")
    con.execute(
        "CREATE TABLE kpi.sample (site_id VARCHAR, week_start DATE, value DOUBLE, "
        "spend DECIMAL(18,2), ok BOOLEAN, note VARCHAR)"
    )
    con.execute(
        """INSERT INTO kpi.sample VALUES
           ('S01', DATE '2026-02-23', 0.8639455782312925, 1234567.89, true, 'plain'),
           ('S02', DATE '2026-03-02', NULL, 0.5, false, 'has, comma and "quotes"')"""
    )
    con.execute("CHECKPOINT")
    con.close()
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_select_as_csv_has_exact_values(warehouse: Path) -> None:
    out = run_query(warehouse, ROWS_SQL, "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [
        ["site_id", "week_start", "value", "spend", "ok", "note"],
        ["S01", "2026-02-23", "0.8639455782312925", "1234567.89", "true", "plain"],
        ["S02", "2026-03-02", "", "0.50", "false", 'has, comma and "quotes"'],
    ]


def test_select_as_json_has_exact_values(warehouse: Path) -> None:
    out = json.loads(run_query(warehouse, ROWS_SQL, "json"))
    assert out == [
        {"site_id": "S01", "week_start": "2026-02-23", "value": 0.8639455782312925,
         "spend": 1234567.89, "ok": True, "note": "plain"},
        {"site_id": "S02", "week_start": "2026-03-02", "value": None,
         "spend": 0.5, "ok": False, "note": 'has, comma and "quotes"'},
    ]


def test_json_columns_are_embedded_as_json(warehouse: Path) -> None:
    out = json.loads(run_query(warehouse, """SELECT '{"a": [1, 2]}'::JSON AS j""", "json"))
    assert out == [{"j": {"a": [1, 2]}}]


def test_select_as_table_is_readable(warehouse: Path) -> None:
    out = run_query(warehouse, ROWS_SQL, "table")
    lines = out.splitlines()
    header = next(line for line in lines if "site_id" in line)
    for name in ("site_id", "week_start", "value", "spend", "ok", "note"):
        assert name in header
    s01 = next(line for line in lines if "S01" in line)
    for cell in ("2026-02-23", "0.8639455782312925", "1234567.89", "true", "plain"):
        assert cell in s01, (cell, s01)
    s02 = next(line for line in lines if "S02" in line)
    assert "NULL" in s02 and "0.50" in s02
    assert lines[-1] == "2 rows"


def test_default_format_is_table_and_unknown_format_is_refused(warehouse: Path) -> None:
    assert run_query(warehouse, "SELECT 42 AS answer").splitlines()[-1] == "1 row"
    with pytest.raises(QueryError, match="unknown format"):
        run_query(warehouse, "SELECT 1", "xml")


def test_several_statements_return_the_last_result(warehouse: Path) -> None:
    assert run_query(warehouse, "SELECT 1 AS a; SELECT 2 AS b", "csv") == "b\n2"


def test_describe_and_summarize_are_reads(warehouse: Path) -> None:
    assert "week_start" in run_query(warehouse, "DESCRIBE kpi.sample", "csv")
    assert "spend" in run_query(warehouse, "SUMMARIZE kpi.sample", "csv")


WRITES = {
    "insert": "INSERT INTO kpi.sample VALUES ('S03', DATE '2026-01-05', 1, 1, true, 'x')",
    "update": "UPDATE kpi.sample SET value = 0",
    "delete": "DELETE FROM kpi.sample",
    "create": "CREATE TABLE kpi.other AS SELECT 1 AS a",
    "create temp": "CREATE TEMP TABLE t AS SELECT 1 AS a",
    "create view": "CREATE VIEW kpi.v AS SELECT 1 AS a",
    "drop": "DROP TABLE kpi.sample",
    "alter": "ALTER TABLE kpi.sample ADD COLUMN z INTEGER",
    "truncate": "TRUNCATE kpi.sample",
    "copy table to": "COPY kpi.sample TO '{out}/copy.csv'",
    "copy query to": "COPY (SELECT * FROM kpi.sample) TO '{out}/query.csv' (FORMAT csv)",
    "export database": "EXPORT DATABASE '{out}/export'",
    "attach": "ATTACH '{out}/other.duckdb' AS other",
    "attach then create": "ATTACH '{out}/other.duckdb' AS other; CREATE TABLE other.t AS SELECT 1 AS a",
    "select then write": "SELECT 1; DELETE FROM kpi.sample",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "set": "SET enable_external_access = true",
    "checkpoint setting": "PRAGMA enable_checkpoint_on_shutdown",
    "update extensions": "UPDATE EXTENSIONS",
}


@pytest.mark.parametrize("statement", WRITES.values(), ids=WRITES.keys())
def test_writes_are_refused_and_leave_the_file_unchanged(
    warehouse: Path, tmp_path: Path, statement: str
) -> None:
    out = tmp_path / "elsewhere"
    out.mkdir()
    before = _digest(warehouse)
    with pytest.raises(QueryError, match=r"^the warehouse is read-only: "):
        run_query(warehouse, statement.format(out=out), "csv")
    assert _digest(warehouse) == before
    assert list(out.iterdir()) == [], "a refused statement wrote a file"
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["elsewhere", "ops.duckdb"]


def test_select_cannot_read_or_write_other_files(warehouse: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(QueryError, match=r"^the warehouse is read-only: "):
        run_query(warehouse, f"SELECT * FROM read_csv('{secret}')", "csv")


def test_the_session_is_locked_down(warehouse: Path) -> None:
    out = run_query(
        warehouse,
        "SELECT current_setting('enable_external_access') AS ext, "
        "current_setting('lock_configuration') AS locked",
        "csv",
    )
    assert out == "ext,locked\nfalse,true"


def test_invalid_sql_and_missing_warehouse(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="syntax error"):
        run_query(warehouse, "SELEC 1", "csv")
    with pytest.raises(QueryError, match=r"does not exist|not found"):
        run_query(warehouse, "SELECT * FROM kpi.nope", "csv")
    with pytest.raises(QueryError, match="no warehouse"):
        run_query(tmp_path / "missing.duckdb", "SELECT 1", "csv")


def test_cli_prints_the_result_or_the_error(warehouse: Path) -> None:
    from flows.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["query", ROWS_SQL, "--warehouse", str(warehouse), "--format", "csv"])
    assert ok.exit_code == 0
    assert ok.stdout.splitlines()[1] == "S01,2026-02-23,0.8639455782312925,1234567.89,true,plain"
    refused = runner.invoke(app, ["query", "DROP TABLE kpi.sample", "--warehouse", str(warehouse)])
    assert refused.exit_code == 1
    assert "the warehouse is read-only" in refused.output


#: Every statement form the refusal message promises, each run for real.
READING_FORMS = {
    "SELECT": "SELECT 42 AS answer",
    "FROM": "FROM kpi.sample SELECT site_id ORDER BY site_id",
    "WITH": "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
    "VALUES": "VALUES (1), (2)",
    "PIVOT": "PIVOT (SELECT site_id, spend FROM kpi.sample) ON site_id USING sum(spend)",
    "UNPIVOT": "UNPIVOT (SELECT site_id, CAST(value AS DOUBLE) AS v, CAST(spend AS DOUBLE) AS s "
               "FROM kpi.sample) ON v, s INTO NAME measure VALUE amount",
    "DESCRIBE": "DESCRIBE kpi.sample",
    "SHOW": "SHOW ALL TABLES",
    "SUMMARIZE": "SUMMARIZE kpi.sample",
    "EXPLAIN": "EXPLAIN SELECT * FROM kpi.sample",
    "PRAGMA": "PRAGMA table_info('kpi.sample')",
    "CALL": "CALL pragma_table_info('kpi.sample')",
}


@pytest.mark.parametrize("form", READING_FORMS)
def test_every_form_the_refusal_lists_runs(warehouse: Path, form: str) -> None:
    out = json.loads(run_query(warehouse, READING_FORMS[form], "json"))
    assert out, f"{form} returned no rows"
    if form == "PIVOT":  # one column per site: S01 1234567.89, S02 0.50
        assert out == [{"S01": 1234567.89, "S02": 0.5}]
    if form == "UNPIVOT":  # 2 sites x 2 measures, S02's NULL value dropped: 3 rows
        assert sorted((r["site_id"], r["measure"]) for r in out) == [
            ("S01", "s"), ("S01", "v"), ("S02", "s")]


def test_the_refusal_lists_every_allowed_form(warehouse: Path) -> None:
    with pytest.raises(QueryError) as refused:
        run_query(warehouse, "DELETE FROM kpi.sample", "csv")
    message = str(refused.value)
    assert "\n" not in message
    listed = message.split("(only reading statements: ")[1].split(")")[0]
    assert set(re.findall(r"\b[A-Z]{3,}\b", listed)) == set(READING_FORMS)


def _tiny(path: Path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute(f"CREATE SCHEMA kpi; CREATE TABLE kpi.t AS SELECT {value} AS v")
    con.close()


def test_a_query_sees_a_publish_that_an_open_connection_hides(tmp_path: Path) -> None:
    """DuckDB keeps one database per path and process: while a connection is open, a new
    plain read-only connect returns that instance, i.e. the file before the last publish.
    run_query (and status and the report, through flows.db.open_read_only) see the new."""
    published = tmp_path / "ops.duckdb"
    _tiny(published, 1)
    held = duckdb.connect(str(published), read_only=True)  # an analyst's notebook
    try:
        assert held.execute("SELECT v FROM kpi.t").fetchone() == (1,)
        _tiny(tmp_path / "new.duckdb", 2)
        os.replace(tmp_path / "new.duckdb", published)  # what a publish does

        assert run_query(published, "SELECT v FROM kpi.t", "csv") == "v\n2"
        plain = duckdb.connect(str(published), read_only=True)
        assert plain.execute("SELECT v FROM kpi.t").fetchone() == (1,)  # the stale instance
        plain.close()
    finally:
        held.close()
