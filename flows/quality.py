"""The quality gate: may this build be published?

The checks live in ``expectations/*.yml`` (format: ``expectations/README.md``), each an
``error`` (blocks publication) or a ``warning`` (published, reported). This module turns
them into Great Expectations expectations, one suite and validation definition per
table, runs them as one checkpoint on the DuckDB file (read-only, SQL inside DuckDB,
never pandas), and returns one result per check with the columns of
``audit.quality_results``. It also writes a self-contained HTML report (no network, no
script) to ``docs_dir/index.html``, with the results as ``docs_dir/results.json``, and
GE's own Data Docs of the run (expectation suites and validation results) to
``docs_dir/data-docs/``, linked from that page.

GE 1.24's Data Docs load Bootstrap, jQuery, Font Awesome, Vega ... from CDNs and its logo
from S3. :func:`make_data_docs_offline` copies the vendored files of ``flows/static/gx/``
(see its README) into the site and points every page at them by relative paths, so the
``docs_dir`` folder works offline and can be copied anywhere.

Every check is SQL (``UnexpectedRowsExpectation``: the rows a query returns are the
findings), plus GE's row count per table: one uniform way to report exact counts and
sample rows, independent of SQLAlchemy's table reflection (see ``flows/gx_duckdb.py``).

Great Expectations takes seconds to import: it is imported inside
:func:`run_quality_gate` only.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import string
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from flows.db import quote_literal
from flows.publish import QUALITY_COLUMNS
from flows.settings import Settings

SEVERITIES = ("error", "warning")
_SAMPLE_ROWS = 3  # findings quoted in `observed` / `details`
_DATASOURCE = "warehouse"
DATA_DOCS_DIR = "data-docs"  # GE's Data Docs site, inside docs_dir

logger = logging.getLogger(__name__)


# --- the result ----------------------------------------------------------------------------

@dataclass
class GateResult:
    """One dict per check, with exactly the keys of ``flows.publish.QUALITY_COLUMNS``."""

    results: list[dict]
    seconds: float = 0.0
    docs_path: Path | None = None
    data_docs_path: Path | None = None  # GE's Data Docs index, when they could be built
    data_docs_error: str = ""
    data_docs_seconds: float = 0.0  # part of ``seconds``
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

    docs_dir = Path(docs_dir)
    outcomes, table_rows, context = _run_checkpoint(database, checks, queries, run_id)

    results = [
        {col: r[col] for col in QUALITY_COLUMNS}  # exactly audit.quality_results' columns
        for r in (
            _result(check, outcome, table_rows.get(check.table), run_id, text_params)
            for check, outcome in zip(checks, outcomes, strict=True)
        )
    ]
    gate = GateResult(results=results, sql=queries)
    t_docs = time.perf_counter()
    try:
        gate.data_docs_path = build_data_docs(context, docs_dir / DATA_DOCS_DIR)
    except Exception as exc:  # the verdict stands without its rendering; the report says why
        gate.data_docs_error = _one_line(f"{type(exc).__name__}: {exc}")[:300]
        logger.warning("Great Expectations Data Docs not built: %s", gate.data_docs_error)
    gate.data_docs_seconds = round(time.perf_counter() - t_docs, 3)
    gate.seconds = round(time.perf_counter() - t0, 3)
    gate.docs_path = write_report(gate, docs_dir, database=database, as_of=as_of, run_id=run_id)
    return gate


def _run_checkpoint(
    database: Path, checks: list[Check], queries: list[str], run_id: str
) -> tuple[list[dict], dict[str, int], Any]:
    """One GE checkpoint. Returns per check {success, observed_value, rows} or {error},
    the row count of each table, and the (ephemeral) context holding the suites and
    validation results."""
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
            # named after the table: Data Docs pages are validations/<schema>/<table>/...
            suite = context.suites.add(gx.ExpectationSuite(name=table))
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
    return outcomes, table_rows, context


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


# --- GE's Data Docs, offline ---------------------------------------------------------------

_GX_STATIC = Path(__file__).resolve().parent / "static" / "gx"
_VENDOR = "static/vendor"  # where a site gets its copy of flows/static/gx
_DATA_DOCS_SITE = "opskpi"

# Every URL that GE 1.24's Data Docs pages load, and its vendored copy (flows/static/gx/README.md).
_CDN_ASSETS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap-4.3.1/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap-4.3.1/dist/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        "bootstrap-table-1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        "bootstrap-table-1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        "bootstrap-table-1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker-1.9.0/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker-1.9.0/dist/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark-1.1.0/dist/css/bootstrap-prefers-dark.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome-free-6.6.0/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js-1.12.9/dist/umd/popper.min.js",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/build/vega-embed.min.js",
}
# GE's logo comes from its S3 bucket (with a timestamp and the context id in the query
# string); the same image ships in GE's package, which copies it into every site.
_GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_LOGO = "static/images/logo-long.png"

_REMOTE = re.compile(r"^(?:https?:)?//", re.I)
# <script src=...></script> (GE's have no body), <link>, <img>
_LOADING_TAG = re.compile(r"<script\b[^>]*>\s*</script>|<(?:link|img)\b[^>]*>", re.I)
_SRC_OR_HREF = re.compile(r'\b(src|href)="([^"]*)"', re.I)
_SRI_ATTRS = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"', re.I)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)""", re.I)
_EXTERNAL_LINK = re.compile(r"""<a\b[^>]*\bhref=["'](?:https?:)?//[^>]*>(.*?)</a>""", re.I | re.S)
_NEWSLETTER_FOOTER = re.compile(r"<footer>(?:(?!</footer>).)*?newsletter.*?</footer>\s*", re.I | re.S)


def build_data_docs(context, site: Path) -> Path:
    """Build GE's Data Docs of ``context`` (its suites and validation results) into the
    folder ``site``, made to work offline. Returns the site's ``index.html``."""
    if site.exists():
        shutil.rmtree(site)  # only this run's pages
    context.add_data_docs_site(_DATA_DOCS_SITE, {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,  # GE's walkthrough and links to its online docs
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    context.build_data_docs(site_names=[_DATA_DOCS_SITE])
    index = site / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"Great Expectations wrote no {index}")
    make_data_docs_offline(site)
    return index


def make_data_docs_offline(site: Path) -> None:
    """Make a built Data Docs site self-contained: copy the vendored assets into
    ``site/static/vendor/``, rewrite every page to load them (and GE's packaged logo) by
    relative paths, drop links to the web, and delete GE's static files no page uses."""
    shutil.copytree(_GX_STATIC, site / _VENDOR, dirs_exist_ok=True)
    used: set[Path] = set()
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        page.write_text(_offline_page(text, page, site, used), encoding="utf-8")
    vendor = (site / _VENDOR).resolve()
    for path in sorted((site / "static").rglob("*"), reverse=True):  # files before their folders
        resolved = path.resolve()
        if resolved == vendor or vendor in resolved.parents:
            continue
        if path.is_file() and resolved not in used:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _offline_page(text: str, page: Path, site: Path, used: set[Path]) -> str:
    """One page of the site, loading nothing from the network. ``used`` collects the
    local files it loads."""

    def relative(target: str) -> str:
        used.add((site / target).resolve())
        return quote(os.path.relpath(site / target, page.parent).replace(os.sep, "/"))

    def local(url: str) -> str | None:
        """The local replacement of a loaded URL (None: drop what loads it)."""
        if url in _CDN_ASSETS:
            return relative(f"{_VENDOR}/{_CDN_ASSETS[url]}")
        if url.startswith(_GX_WEB_ASSETS) and "logo" in url:
            return relative(_LOGO)
        if _REMOTE.match(url):
            logger.warning("Data Docs: dropped %s from %s (not vendored)", url, page.name)
            return None
        path, sep, rest = url.partition("static/")
        if sep and not path.strip("./"):  # ../../static/...: GE miscounts the ../ of some pages
            return relative("static/" + rest.split("?")[0].split("#")[0])
        return url

    def tag(match: re.Match) -> str:
        element = match.group(0)
        attr = _SRC_OR_HREF.search(element)
        if not attr:
            return element
        url = html.unescape(attr.group(2))
        new = local(url)
        if new is None:
            return ""
        if new == url:
            return element
        element = element[:attr.start(2)] + html.escape(new) + element[attr.end(2):]
        return _SRI_ATTRS.sub("", element)  # a file:// page cannot make the CORS request SRI needs

    def css_url(match: re.Match) -> str:
        url = html.unescape(match.group(2))
        if not _REMOTE.match(url):
            return match.group(0)
        new = local(url)
        return f"url('{new}')" if new else "none"

    text = _NEWSLETTER_FOOTER.sub("", text)
    text = _LOADING_TAG.sub(tag, text)
    text = _CSS_URL.sub(css_url, text)
    return _EXTERNAL_LINK.sub(r"\1", text)  # "Data Docs autogenerated using Great Expectations."


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
.gx-docs { margin: 1rem 0; padding: .7rem 1rem; border: 1px solid #c9d6ea; border-radius: .4rem;
           background: #f1f6fd; }
.gx-docs a.button { display: inline-block; margin-right: .8rem; padding: .35rem .8rem; border-radius: .3rem;
                    background: #2c5fa8; color: #fff; font-weight: 600; text-decoration: none; }
.gx-docs a.button:hover { background: #214a85; }
.gx-docs.missing { border-color: #f0c36d; background: #fff6e0; }
td a { color: inherit; }
"""


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def write_report(gate: GateResult, docs_dir: Path, *, database: Path, as_of: date, run_id: str) -> Path:
    """``docs_dir/index.html`` (self-contained: inline CSS, no script; links only to GE's
    Data Docs in ``docs_dir/data-docs/``) and ``docs_dir/results.json``. Returns the HTML
    path."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    pages = _validation_pages(gate.data_docs_path, docs_dir)
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
            f'<td>{esc(r["check"])}</td><td>{_table_cell(r["table_name"], pages)}</td>'
            f'<td>{esc(r["observed"])}</td>'
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
{_data_docs_panel(gate, docs_dir)}
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


def _href(path: Path, docs_dir: Path) -> str:
    return html.escape(quote(os.path.relpath(path, docs_dir).replace(os.sep, "/")))


def _data_docs_panel(gate: GateResult, docs_dir: Path) -> str:
    if gate.data_docs_path is None:
        why = html.escape(gate.data_docs_error or "not built")
        return f'<p class="gx-docs missing">Great Expectations Data Docs could not be built: {why}</p>'
    return (f'<p class="gx-docs"><a class="button" id="gx-data-docs" '
            f'href="{_href(gate.data_docs_path, docs_dir)}">Great Expectations Data Docs &rarr;</a>'
            "GE's own pages for this run: each table's expectation suite and validation "
            "result, with every check's status and observed value (offline).</p>")


def _validation_pages(index: Path | None, docs_dir: Path) -> dict[str, str]:
    """schema.table -> href of its validation page in the Data Docs (suites are named
    after their table, so the page is validations/<schema>/<table>/<run>/<time>/...)."""
    if index is None:
        return {}
    pages: dict[str, str] = {}
    for page in sorted((index.parent / "validations").glob("*/*/*/*/*.html")):
        schema, table = page.relative_to(index.parent / "validations").parts[:2]
        pages[f"{schema}.{table}"] = _href(page, docs_dir)
    return pages


def _table_cell(table: str, pages: dict[str, str]) -> str:
    if table in pages:
        return (f'<a href="{pages[table]}" title="its validation result in the Data Docs">'
                f"{html.escape(table)}</a>")
    return html.escape(table)
