"""The GE-on-DuckDB patch (flows/gate/gx_duckdb.py) is still needed, and still works.

Each case runs Great Expectations in a fresh interpreter (the patch changes a module
global, so "without the patch" cannot be tested in a process that ever installed it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    path, mode = sys.argv[1], sys.argv[2]
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    out = {}
    if mode == "patched":
        from flows.gate import gx_duckdb
        gx_duckdb.install()
        gx_duckdb.install()  # idempotent
        import great_expectations.execution_engine.sqlalchemy_execution_engine as see
        out["duckdb_entries"] = sum(
            str(getattr(d, "value", d)) == "duckdb" for d in see._PERSISTED_CONNECTION_DIALECTS
        )
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ds = ctx.data_sources.add_sql(
        name="wh", connection_string=f"duckdb:///{path}",
        kwargs={"connect_args": {"read_only": True}},
    )
    E = gx.expectations
    for schema in ("main", "core"):
        asset = ds.add_table_asset(name=schema, table_name=f"t_{schema}", schema_name=schema)
        suite = ctx.suites.add(gx.ExpectationSuite(name=schema))
        suite.add_expectation(E.ExpectTableRowCountToBeBetween(min_value=1, meta={"k": "row_count"}))
        suite.add_expectation(E.UnexpectedRowsExpectation(
            unexpected_rows_query="SELECT * FROM {batch} WHERE qty < 0", meta={"k": "sql"}))
        suite.add_expectation(E.ExpectColumnValuesToNotBeNull(column="id", meta={"k": "column"}))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(
            name=schema, data=asset.add_batch_definition_whole_table("all"), suite=suite))
        res = vd.run(result_format="SUMMARY")
        for r in res.results:
            info = r.exception_info or {}
            if "raised_exception" not in info:  # keyed by metric when a metric failed
                info = next(iter(info.values()), {}) if info else {}
            out[f"{schema}.{r.expectation_config.meta['k']}"] = {
                "success": r.success,
                "observed": (r.result or {}).get("observed_value"),
                "unexpected_count": (r.result or {}).get("unexpected_count"),
                "raised": bool(info.get("raised_exception")),
                "message": str(info.get("exception_message") or "")[:300],
            }
    ee = ds.get_execution_engine()
    out["engine"] = [type(ee).__name__, ee.dialect_name]
    print("PROBE" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def probes(tmp_path_factory) -> dict[str, dict]:
    """Run the probe without and with the patch (in parallel: GE takes seconds to import)."""
    db = tmp_path_factory.mktemp("gxpatch") / "probe.duckdb"
    con = duckdb.connect(str(db))
    for schema in ("main", "core"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(
            f"CREATE TABLE {schema}.t_{schema} AS "
            "SELECT * FROM (VALUES (1, 5), (2, -1), (3, 0)) v(id, qty)"
        )
    con.close()
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    procs = {
        mode: subprocess.Popen(
            [sys.executable, "-c", PROBE, str(db), mode],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for mode in ("none", "patched")
    }
    out = {}
    for mode, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        lines = [ln for ln in stdout.splitlines() if ln.startswith("PROBE")]
        assert proc.returncode == 0 and lines, f"probe ({mode}) crashed:\n{stderr[-3000:]}"
        out[mode] = json.loads(lines[-1][len("PROBE"):])
    return out


def test_patch_is_still_needed(probes):
    """Without the patch, SQL expectations on a DuckDB file do not compute."""
    plain = probes["none"]
    for key in ("main.row_count", "main.sql", "core.row_count", "core.sql"):
        assert plain[key]["raised"] and not plain[key]["success"], (
            f"{key} now works on DuckDB without flows/gate/gx_duckdb.py ({plain[key]}): "
            "the GE patch looks unnecessary after the upgrade; remove it and this test"
        )


def test_patch_makes_expectations_compute_in_duckdb(probes):
    patched = probes["patched"]
    assert patched["duckdb_entries"] == 1, "install() is not idempotent"
    assert patched["engine"] == ["SqlAlchemyExecutionEngine", "duckdb"]
    for schema in ("main", "core"):
        count, sql = patched[f"{schema}.row_count"], patched[f"{schema}.sql"]
        assert not count["raised"] and count["success"] and count["observed"] == 3, (
            f"row count on {schema}.t_{schema} broken with the patch: {count}")
        assert not sql["raised"] and sql["success"] is False and sql["observed"] == 1, (
            f"UnexpectedRowsExpectation on {schema}.t_{schema} broken with the patch: {sql}")


def test_column_expectations_reflect_tables_outside_main_schema(probes):
    """With SQLAlchemy 2.0.x (pinned: 2.1 breaks Prefect's scheduler) GE can reflect
    tables in every schema. Under SQLAlchemy 2.1 it could not (it queries
    pg_catalog.pg_collation, which DuckDB lacks: duckdb_engine#1391), and silently fell
    back to ``main.<table>``. The suites use SQL checks either way (see
    flows/gate/gx_duckdb.py); this notices if the stack regresses."""
    patched = probes["patched"]
    for name in ("main.column", "core.column"):
        col = patched[name]
        assert not col["raised"] and col["success"], (
            f"column expectation on {name} broken ({col}): did SQLAlchemy move to 2.1? "
            "GE's column expectations then cannot reflect non-main schemas."
        )
