"""The quality gate: may this build be published?

The checks live in ``expectations/*.yml`` (format: ``expectations/README.md``), each an
``error`` (blocks publication) or a ``warning`` (published, reported). This module turns
them into Great Expectations expectations, one suite and validation definition per
table, runs them as one checkpoint on the DuckDB file (read-only, SQL inside DuckDB,
never pandas), and returns one result per check with the columns of
``audit.quality_results``. It also writes a self-contained HTML report (no network, no
script) to ``docs_dir/index.html``, with the results as ``docs_dir/results.json``.

Every check is SQL (``UnexpectedRowsExpectation``: the rows a query returns are the
findings), plus GE's row count per table: one uniform way to report exact counts and
sample rows, independent of SQLAlchemy's table reflection (see ``flows/gx_duckdb.py``).

Great Expectations takes seconds to import: it is imported inside
:func:`run_quality_gate` only.
"""

from __future__ import annotations

import html
import json
import string
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from flows.db import quote_literal
from flows.publish import QUALITY_COLUMNS
from flows.settings import Settings

SEVERITIES = ("error", "warning")
_SAMPLE_ROWS = 3  # findings quoted in `observed` / `details`
_DATASOURCE = "warehouse"


# --- the result ----------------------------------------------------------------------------

@dataclass
class GateResult:
    """One dict per check, with exactly the keys of ``flows.publish.QUALITY_COLUMNS``."""

    results: list[dict]
    seconds: float = 0.0
    docs_path: Path | None = None
    sql: list[str] = field(default_factory=list, repr=False)  # per result, for the report

    @property
    def errors(self) -> list[dict]:
        """Failed checks of severity ``error``: each one blocks publication."""
        return [r for r in self.results if not r["success"] and r["severity"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        """Failed checks of severity ``warning``."""
        return [r for r in self.results if not r["success"] and r["severity"] == "warning"]

    @property
    def blocked(self) -> bool:
        return bool(self.errors)

    def reason(self) -> str:
        """One line: the failed error checks with what was observed, or that all passed."""
        errors, n_warn = self.errors, len(self.warnings)
        warned = f", {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else ""
        if not errors:
            n = sum(1 for r in self.results if r["severity"] == "error")
            return f"all {n} error checks passed{warned}"
        listed = "; ".join(_one_line(f"{r['check']} {r['observed']}") for r in errors)
        return f"{len(errors)} error check{'s' if len(errors) != 1 else ''} failed: {listed}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --- checks from expectations/*.yml --------------------------------------------------------

@dataclass
class Check:
    """One check of a suite file, before run-time parameters are filled in."""

    suite: str
    name: str
    table: str  # schema.table: the batch, ``{batch}`` in the SQL
    severity: str
    kind: str  # rows | findings | row_count
    sql: str = ""  # template: {batch} and run-time parameters
    description: str = ""
    observed: str = ""  # findings: template applied to each returned row
    passed: str = ""  # findings: text when nothing is returned
    count_label: str = ""  # findings: "<n> <count_label>: " before the listed rows
    unit: str = "rows"  # rows: what the table's rows are called
    params: dict[str, Any] = field(default_factory=dict)  # per-check SQL parameters
    min_rows: int | None = None  # row_count

    @property
    def short_table(self) -> str:
        return self.table.split(".", 1)[-1]


def load_checks(expectations_dir: Path) -> list[Check]:
    """Every check of ``expectations_dir/*.yml``, in file order (shorthands expanded)."""
    checks: list[Check] = []
    files = sorted(Path(expectations_dir).glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"no suite files (*.yml) in {expectations_dir}")
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        suite = doc.get("suite") or path.stem
        for i, spec in enumerate(doc.get("checks") or []):
            try:
                checks.extend(_expand(suite, spec))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path.name}, check {i + 1}: {exc}") from exc
    seen: set[tuple[str, str]] = set()
    for c in checks:
        if (c.name, c.table) in seen:
            raise ValueError(f"check {c.name!r} on {c.table} is defined twice")
        seen.add((c.name, c.table))
        _render_sql(c, _sql_params(date(2000, 1, 1), "run", Settings()))  # placeholders known?
    return checks


def _expand(suite: str, spec: dict) -> list[Check]:
    table = spec["table"]
    if table.count(".") != 1:
        raise ValueError(f"table must be schema.table, got {table!r}")
    severity = spec.get("severity", "error")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    short = table.split(".", 1)[1]
    common = {"suite": suite, "table": table, "severity": severity,
              "params": dict(spec.get("params") or {})}

    if "key" in spec:
        cols = list(spec["key"])
        col_list = ", ".join(cols)
        return [
            Check(
                name=f"{short} key not null", kind="rows", **common,
                description=f"No row has a null in its key ({col_list}).",
                sql=f"SELECT {col_list} FROM {{batch}} WHERE "
                + " OR ".join(f"{c} IS NULL" for c in cols),
            ),
            Check(
                name=f"{short} key unique", kind="findings", **common,
                description=f"No two rows share a key ({col_list}).",
                sql=f"SELECT {col_list}, count(*) AS n FROM {{batch}} GROUP BY ALL "
                f"HAVING count(*) > 1 ORDER BY n DESC, {col_list}",
                observed="(" + ", ".join(f"{{{c}}}" for c in cols) + ") ×{n}",
                passed="every key once",
                count_label="repeated keys",
            ),
        ]

    name = spec["name"]
    description = " ".join(str(spec.get("description", "")).split())
    if "row_count" in spec:
        return [Check(name=name, kind="row_count", description=description or "The table has rows.",
                      min_rows=int(spec["row_count"].get("min", 1)), **common)]

    if "between" in spec or "rows" in spec:
        if "between" in spec:
            b = spec["between"]
            col, lo, hi = b["column"], b.get("min"), b.get("max")
            if lo is not None and hi is not None:
                condition, what = f"NOT ({col} BETWEEN {lo} AND {hi})", f"{col} outside [{lo}, {hi}]"
            elif lo is not None:
                condition, what = f"{col} < {lo}", f"{col} below {lo}"
            elif hi is not None:
                condition, what = f"{col} > {hi}", f"{col} above {hi}"
            else:
                raise ValueError("between needs min or max")
            description = description or f"No row with {what} (nulls allowed)."
        else:
            condition = " ".join(str(spec["rows"]).split())
            description = description or f"No row where {condition}."
        if spec.get("where"):
            where = " ".join(str(spec["where"]).split())
            condition = f"({where}) AND ({condition})"
            description = f"{description[:-1]}, among rows where {where}."
        show = ", ".join(spec.get("show") or ["*"])
        return [Check(name=name, kind="rows", description=description, unit=spec.get("unit", "rows"),
                      sql=f"SELECT {show} FROM {{batch}} WHERE {condition}", **common)]

    if "sql" in spec:
        return [Check(name=name, kind="findings", description=description, sql=spec["sql"].strip(),
                      observed=spec.get("observed", ""), passed=spec.get("passed", ""),
                      count_label=spec.get("count", ""), **common)]
    raise ValueError("a check needs one of: key, between, rows, sql, row_count")


def _sql_params(as_of: date, run_id: str, settings: Settings) -> dict[str, str]:
    """Run-time parameters as SQL literals (``{batch}`` is left for GE to fill in)."""
    return {
        "batch": "{batch}",
        "as_of": f"DATE '{as_of.isoformat()}'",
        "run_id": quote_literal(run_id),
        "max_quarantine_share": repr(float(settings.max_quarantine_share)),
        "warn_quarantine_share": repr(float(settings.warn_quarantine_share)),
        "quarantine_min_rows": str(int(settings.quarantine_min_rows)),
        "freshness_max_days": str(int(settings.freshness_max_days)),
        "reconciliation_tolerance": repr(float(settings.reconciliation_tolerance)),
    }


def _text_params(as_of: date, run_id: str, settings: Settings) -> dict[str, Any]:
    """The same parameters as plain values, for ``observed`` and ``passed`` texts."""
    return {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "max_quarantine_share": float(settings.max_quarantine_share),
        "warn_quarantine_share": float(settings.warn_quarantine_share),
        "quarantine_min_rows": int(settings.quarantine_min_rows),
        "freshness_max_days": int(settings.freshness_max_days),
        "reconciliation_tolerance": float(settings.reconciliation_tolerance),
    }


def _render_sql(check: Check, params: dict[str, str]) -> str:
    try:
        return check.sql.format(**{**params, **{k: str(v) for k, v in check.params.items()}})
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"check {check.name!r}: bad placeholder in its SQL: {exc!r}") from exc


class _Lenient(string.Formatter):
    """str.format that formats '1.5' with ':.2f' and prints '?' for a missing field."""

    def get_value(self, key, args, kwargs):
        return kwargs.get(key, "?") if isinstance(key, str) else super().get_value(key, args, kwargs)

    def format_field(self, value, format_spec):
        if value is None:
            return "null"
        try:
            return format(value, format_spec)
        except (TypeError, ValueError):
            try:
                return format(float(value), format_spec)
            except (TypeError, ValueError):
                return str(value)


_fmt = _Lenient()


# --- running the checkpoint ----------------------------------------------------------------

def run_quality_gate(
    database: Path, *, as_of: date, run_id: str, settings: Settings, docs_dir: Path
) -> GateResult:
    """Run every check on ``database`` (opened read-only) and write the HTML report.

    The file must not be open for writing by anyone (DuckDB: one writer or many readers).
    """
    t0 = time.perf_counter()
    database = Path(database).resolve()
    if not database.exists():
        raise FileNotFoundError(database)
    checks = load_checks(settings.expectations_dir)
    sql_params = _sql_params(as_of, run_id, settings)
    text_params = _text_params(as_of, run_id, settings)
    queries = [_render_sql(c, sql_params) if c.kind != "row_count" else "" for c in checks]

    outcomes, table_rows = _run_checkpoint(database, checks, queries, run_id)

    results = [
        {col: r[col] for col in QUALITY_COLUMNS}  # exactly audit.quality_results' columns
        for r in (
            _result(check, outcome, table_rows.get(check.table), run_id, text_params)
            for check, outcome in zip(checks, outcomes, strict=True)
        )
    ]
    gate = GateResult(results=results, sql=queries)
    gate.seconds = round(time.perf_counter() - t0, 3)
    gate.docs_path = write_report(gate, Path(docs_dir), database=database, as_of=as_of, run_id=run_id)
    return gate


def _run_checkpoint(
    database: Path, checks: list[Check], queries: list[str], run_id: str
) -> tuple[list[dict], dict[str, int]]:
    """One GE checkpoint. Returns per check {success, observed_value, rows} or {error},
    and the row count of each table."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from flows import gx_duckdb

    gx_duckdb.install()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    datasource = context.data_sources.add_sql(
        name=_DATASOURCE,
        connection_string=f"duckdb:///{database}",
        kwargs={"connect_args": {"read_only": True, "config": {
            "autoinstall_known_extensions": False, "TimeZone": "UTC"}}},
    )
    outcomes: list[dict] = [{} for _ in checks]
    by_table: dict[str, list[int]] = {}
    for i, c in enumerate(checks):
        by_table.setdefault(c.table, []).append(i)

    E = gx.expectations
    severity = {"error": "critical", "warning": "warning"}
    validations = []
    try:
        for table, idxs in by_table.items():
            schema, name = table.split(".", 1)
            try:
                with warnings.catch_warnings():
                    # schema_name is deprecated in GE 1.14+ for dialects that put the
                    # schema in the URL; a DuckDB URL cannot, and the argument works.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    asset = datasource.add_table_asset(name=table, table_name=name, schema_name=schema)
            except Exception as exc:  # GE tests the table when the asset is added
                missing = "does not exist" in str(exc) or "not found" in str(exc)
                problem = f"table {table} not found" if missing else f"{table}: {_one_line(str(exc))}"
                for i in idxs:
                    outcomes[i] = {"error": problem}
                continue
            suite = context.suites.add(gx.ExpectationSuite(name=f"opskpi {table}"))
            counted = False
            for i in idxs:
                c = checks[i]
                meta = {"opskpi_check": i, "table": table, "suite": c.suite}
                if c.kind == "row_count":
                    counted = True
                    exp = E.ExpectTableRowCountToBeBetween(
                        min_value=c.min_rows, meta=meta, description=c.name,
                        severity=severity[c.severity])
                else:
                    exp = E.UnexpectedRowsExpectation(
                        unexpected_rows_query=queries[i], meta=meta,
                        description=f"{c.name}: {c.description}", severity=severity[c.severity])
                suite.add_expectation(exp)
            if not counted:  # the "of N rows" of row checks
                suite.add_expectation(E.ExpectTableRowCountToBeBetween(
                    min_value=0, meta={"opskpi_check": -1, "table": table}))
            validations.append(context.validation_definitions.add(gx.ValidationDefinition(
                name=f"opskpi {table}", data=asset.add_batch_definition_whole_table("whole table"),
                suite=suite)))
        if validations:
            checkpoint = context.checkpoints.add(gx.Checkpoint(
                name="opskpi quality gate", validation_definitions=validations,
                result_format={"result_format": "COMPLETE"}))
            run = checkpoint.run(run_id=RunIdentifier(run_name=run_id))
            table_rows = _collect(run, checks, outcomes)
        else:
            table_rows = {}
    finally:
        _close(datasource)
    return outcomes, table_rows


def _collect(run, checks: list[Check], outcomes: list[dict]) -> dict[str, int]:
    """Fill ``outcomes`` from the checkpoint's results; return the row count per table."""
    table_rows: dict[str, int] = {}
    for validation in run.run_results.values():
        for r in validation.results:
            meta = r.expectation_config.meta or {}
            i, res = meta.get("opskpi_check"), r.result or {}
            if (r.expectation_config.type == "expect_table_row_count_to_be_between"
                    and isinstance(res.get("observed_value"), int)):
                table_rows[meta.get("table", "")] = res["observed_value"]
            if not isinstance(i, int) or i < 0:
                continue
            err = _exception_message(r.exception_info)
            outcomes[i] = {"error": err} if err else {
                "success": bool(r.success), "observed_value": res.get("observed_value"),
                "rows": (res.get("details") or {}).get("unexpected_rows") or []}
    return table_rows


def _exception_message(info: Any) -> str:
    """GE reports an exception either directly or keyed by the metric that raised it."""
    if not info:
        return ""
    candidates = [info] if "raised_exception" in info else list(info.values())
    for item in candidates:
        if isinstance(item, dict) and item.get("raised_exception"):
            return _one_line(item.get("exception_message") or "exception")[:300]
    return ""


def _close(datasource) -> None:
    """Close GE's kept-open DuckDB connection (the patch keeps one per engine)."""
    for get in (datasource.get_execution_engine, datasource.get_engine):
        try:
            obj = get()
            engine = getattr(obj, "engine", obj)
            conn = getattr(obj, "_connection", None)
            if conn is not None:
                conn.close()
            engine.dispose()
        except Exception:  # closing is best effort; the process ends soon anyway
            pass


# --- one result per check --------------------------------------------------------------------

def _result(check: Check, outcome: dict, total: int | None, run_id: str, params: dict) -> dict:
    base = {"run_id": run_id, "suite": check.suite, "check": check.name, "table_name": check.table}
    if "error" in outcome or "success" not in outcome:
        message = outcome.get("error", "no result from Great Expectations")
        # Fail closed: a check that cannot be evaluated (missing table or column, bad SQL)
        # blocks publication, whatever its declared severity.
        return {**base, "severity": "error", "success": False,
                "observed": f"could not evaluate: {message}"[:300],
                "details": f"{check.description} (declared severity: {check.severity})"}
    success, rows = outcome["success"], outcome.get("rows") or []
    n = outcome.get("observed_value")
    if check.kind == "row_count":
        observed = f"{n} rows" if success else f"{n} rows (expected at least {check.min_rows})"
        details = check.description
    elif check.kind == "rows":
        observed = _count_text(int(n or 0), total, check.unit)
        details = check.description + (f" E.g. {_samples(rows)}" if rows else "")
    else:
        if success:
            observed = _fmt.format(check.passed or "none", **params)
        else:
            shown = "; ".join(_fmt.format(check.observed or _plain(row), **{**params, **row})
                              for row in rows[:_SAMPLE_ROWS])
            more = f" (+{int(n) - _SAMPLE_ROWS} more)" if n and int(n) > _SAMPLE_ROWS else ""
            label = check.count_label
            if n == 1 and label.endswith("s"):
                label = label[:-1]  # "1 repeated key"
            prefix = f"{n} {label}: " if label else ""
            observed = f"{prefix}{shown}{more}"
        details = check.description
    return {**base, "severity": check.severity, "success": success,
            "observed": _one_line(observed), "details": _one_line(_fmt.format(details, **params))}


def _count_text(n: int, total: int | None, unit: str) -> str:
    if total is None:
        return f"{n} {unit}"
    if n == 0 or not total:
        return f"{n} of {total} {unit}"
    return f"{n} of {total} {unit} ({100 * n / total:.1f} %)"


def _plain(row: dict) -> str:
    return ", ".join(f"{k}={{{k}}}" for k in row)


def _samples(rows: list[dict]) -> str:
    return " | ".join(
        ", ".join(f"{k}={_fmt.format_field(v, '')}" for k, v in row.items()) for row in rows[:_SAMPLE_ROWS]
    ) + (" | ..." if len(rows) > _SAMPLE_ROWS else "")


# --- the report ----------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem;
       color: #1d2433; background: #fff; }
h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
.verdict { display: inline-block; padding: .15rem .6rem; border-radius: .3rem; color: #fff; }
.blocked { background: #c0392b; } .passed { background: #1e8449; }
.meta { color: #5d6778; margin: .2rem 0 1rem; }
.summary span { margin-right: 1.2rem; }
table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid #e3e6ec; }
th { background: #f4f6f9; position: sticky; top: 0; }
tr.fail-error td { background: #fdecea; } tr.fail-warning td { background: #fff6e0; }
.status { font-weight: 600; white-space: nowrap; }
.ok { color: #1e8449; } .bad { color: #c0392b; } .warn { color: #a86400; }
td.details { color: #3d4656; max-width: 40rem; }
details summary { cursor: pointer; color: #2c5fa8; }
pre { background: #f4f6f9; padding: .5rem; overflow-x: auto; font-size: 12px; }
"""


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def write_report(gate: GateResult, docs_dir: Path, *, database: Path, as_of: date, run_id: str) -> Path:
    """``docs_dir/index.html`` (self-contained: inline CSS, no script, no link) and
    ``docs_dir/results.json``. Returns the HTML path."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    rank = {("error", False): 0, ("warning", False): 1}  # failed errors, then warnings
    res = gate.results
    indexed = sorted(range(len(res)), key=lambda i: (rank.get((res[i]["severity"], res[i]["success"]), 2), i))
    rows = []
    for i in indexed:
        r = gate.results[i]
        if r["success"]:
            cls, status = "", '<span class="status ok">passed</span>'
        elif r["severity"] == "error":
            cls, status = "fail-error", '<span class="status bad">FAILED</span>'
        else:
            cls, status = "fail-warning", '<span class="status warn">warning</span>'
        sql = gate.sql[i] if i < len(gate.sql) else ""
        sql_html = f"<details><summary>SQL</summary><pre>{esc(sql)}</pre></details>" if sql else ""
        rows.append(
            f'<tr class="{cls}"><td>{status}</td><td>{esc(r["severity"])}</td><td>{esc(r["suite"])}</td>'
            f'<td>{esc(r["check"])}</td><td>{esc(r["table_name"])}</td><td>{esc(r["observed"])}</td>'
            f'<td class="details">{esc(r["details"] or "")}{sql_html}</td></tr>'
        )
    n_pass = sum(1 for r in gate.results if r["success"])
    verdict = ('<span class="verdict blocked">BLOCKED</span>' if gate.blocked
               else '<span class="verdict passed">PASSED</span>')
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>opskpi quality gate - run {esc(run_id)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Quality gate {verdict}</h1>
<p>{esc(gate.reason())}</p>
<p class="meta">run {esc(run_id)} · as of {as_of.isoformat()} · {esc(str(database))} ·
generated {generated} in {gate.seconds:.1f} s · Great Expectations checkpoint, SQL in DuckDB</p>
<p class="summary"><span>{len(gate.results)} checks</span><span class="ok">{n_pass} passed</span>
<span class="bad">{_n(len(gate.errors), "error")}</span>
<span class="warn">{_n(len(gate.warnings), "warning")}</span></p>
<table>
<thead><tr><th>status</th><th>severity</th><th>suite</th><th>check</th><th>table</th><th>observed</th>
<th>details</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""
    target = docs_dir / "index.html"
    target.write_text(page, encoding="utf-8")
    (docs_dir / "results.json").write_text(json.dumps(gate.results, indent=1, default=str), encoding="utf-8")
    return target
