"""The ``opskpi`` command: generate, refresh, demo, serve, status, report, query."""

from __future__ import annotations

import atexit
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from flows.settings import PROJECT_ROOT, get_settings

app = typer.Typer(
    help="opskpi: operational exports → trusted DuckDB warehouse of operations KPIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEMO_EXPORTS = PROJECT_ROOT / "data" / "exports" / "demo"

ExportsOpt = Annotated[
    Path | None, typer.Option("--exports", help="Exports folder (searched recursively).")
]
WarehouseOpt = Annotated[
    Path | None, typer.Option("--warehouse", help="Published DuckDB file.")
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Business date YYYY-MM-DD (default: today, UTC).")
]


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the exports to.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 42,
    sites: Annotated[int, typer.Option(help="Number of sites.")] = 3,
    days: Annotated[int, typer.Option(help="Number of days.")] = 90,
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")] = "2026-01-05",
    faults: Annotated[bool, typer.Option("--faults", help="Inject known faults.")] = False,
    scale: Annotated[
        float, typer.Option(help="Volume per site and day (1 = the small demo sample: ~5 order "
                            "lines, 10 employees per site; 5: 50 sites x 1095 days ~ 14 M rows).")
    ] = 5.0,
    report: Annotated[
        Path | None, typer.Option(help="Write what was generated/injected as JSON here.")
    ] = None,
) -> None:
    """Generate realistic sample exports of all 18 entities (deterministic by seed)."""
    from flows.generate import generate_exports

    result = generate_exports(
        out, seed=seed, sites=sites, days=days, start=_parse_date(start, "--start"), faults=faults,
        scale=scale,
    )
    text = result.to_json()
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(result.files)} files to {out}; report: {report}")
    else:
        typer.echo(text)


@app.command()
def refresh(
    exports: ExportsOpt = None,
    warehouse: WarehouseOpt = None,
    as_of: AsOfOpt = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild every incremental model.")
    ] = False,
) -> None:
    """Ingest → build → check → publish. Exit 0 published, 2 blocked, 1 failed, 3 busy."""
    settings = get_settings(exports_dir=exports, warehouse=warehouse)
    code, message = _refresh(
        settings.exports_dir, settings.warehouse,
        _parse_date(as_of, "--as-of") or settings.as_of, full_refresh,
    )
    _say_last(message, err=code != 0)
    raise typer.Exit(code)


def _refresh(exports: Path, warehouse: Path, as_of: date | None, full_refresh: bool) -> tuple[int, str]:
    from flows.refresh import run_refresh

    if not exports.is_dir():
        return 1, f"FAILED: exports folder not found: {exports}"
    code, message, _ = run_refresh(exports, warehouse, as_of, full_refresh)
    return code, message


@app.command()
def demo(
    warehouse: WarehouseOpt = None,
    out: Annotated[Path, typer.Option(help="Where the sample exports are written.")] = DEMO_EXPORTS,
) -> None:
    """Generate the sample exports (3 sites, 90 days) and refresh the warehouse from them."""
    import shutil

    from flows.generate import generate_exports

    start, days = date(2026, 1, 5), 90
    if out == DEMO_EXPORTS and out.exists():
        shutil.rmtree(out)  # our own demo folder: regenerated from scratch every time
    result = generate_exports(out, seed=42, sites=3, days=days, start=start, scale=1.0)
    typer.echo(f"generated {len(result.files)} export files in {out}")
    settings = get_settings(warehouse=warehouse)
    as_of = start + timedelta(days=days - 1)
    code, message = _refresh(out, settings.warehouse, as_of, False)
    _say_last(message, err=code != 0)
    raise typer.Exit(code)


@app.command()
def serve(
    exports: ExportsOpt = None,
    warehouse: WarehouseOpt = None,
    cron: Annotated[str | None, typer.Option(help="Cron schedule (default OPSKPI_SCHEDULE_CRON).")] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Time zone of the cron (default OPSKPI_SCHEDULE_TIMEZONE).")
    ] = None,
) -> None:
    """Run the refresh on a schedule (starts a local Prefect server unless PREFECT_API_URL is set)."""
    from flows.serve import serve as serve_flow

    settings = get_settings(exports_dir=exports, warehouse=warehouse)
    serve_flow(settings.exports_dir, settings.warehouse, cron or settings.schedule_cron,
               timezone or settings.schedule_timezone)


@app.command()
def status(
    warehouse: WarehouseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Last runs, freshness per entity, quarantine, rejected files and failing checks."""
    from flows.status import read_status, render_status, status_json

    settings = get_settings(warehouse=warehouse)
    result = read_status(settings.warehouse)
    if as_json:
        typer.echo(status_json(result))
    else:
        render_status(result)


@app.command()
def report(
    warehouse: WarehouseOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the report (default: beside the warehouse).")
    ] = None,
) -> None:
    """(Re)generate the HTML KPI report of a published warehouse."""
    from flows.report import write_report

    settings = get_settings(warehouse=warehouse)
    index = write_report(settings.warehouse, out)
    typer.echo(f"report written: {index}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query.")],
    warehouse: WarehouseOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
) -> None:
    """Run a read-only query on the published warehouse and print the result."""
    from flows.query import QueryError, run_query

    settings = get_settings(warehouse=warehouse)
    try:
        typer.echo(run_query(settings.warehouse, sql, fmt))
    except QueryError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


#: The one line that tells the user the outcome, printed after everything else.
_LAST_WORDS: list[tuple[str, bool]] = []


def _say_last(message: str, err: bool) -> None:
    _LAST_WORDS.append((message, err))


def main() -> None:
    """Console entry point.

    Exit handlers (Prefect's temporary server, log flushing) run normally; interpreter
    teardown is then skipped, because DuckDB's bindings print a page of harmless
    "nanobind: leaked instance" lines at teardown after dbt or SQLAlchemy were used.
    """
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except typer.TyperException as exc:  # usage errors: bad option values, unknown command
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"Error: {exc}", err=True)
        code = getattr(exc, "exit_code", 2)
    code = code if isinstance(code, int) else 0
    atexit._run_exitfuncs()  # e.g. Prefect stopping its temporary server, which logs a line
    for message, err in _LAST_WORDS:
        typer.echo(message, err=err)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
