"""The ``opskpi`` command: generate, refresh, demo, serve, status, report, query, mappings.

Every outcome is one line (the last thing printed), every error too: details and
tracebacks go to the run log that the line names. Exit codes: 0 published (or done),
1 failed, 2 blocked by the quality gate, 3 busy (another refresh of the warehouse is
running), 64 usage error (a bad option or setting value).
"""

from __future__ import annotations

import atexit
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.29 vendors click (typer._click); its usage errors are those
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on the real click
    from click import ClickException

from flows.settings import PROJECT_ROOT, Settings, SettingsError, get_settings

EXIT_OK, EXIT_FAILED, EXIT_BLOCKED, EXIT_BUSY, EXIT_USAGE = 0, 1, 2, 3, 64

app = typer.Typer(
    help="opskpi: operational exports → trusted DuckDB warehouse of operations KPIs. "
    "Exit codes: 0 done, 1 failed, 2 blocked by the quality gate, 3 busy, 64 usage error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DEMO_EXPORTS = PROJECT_ROOT / "data" / "exports" / "demo"
_DEFAULTS = Settings.model_construct()

ExportsOpt = Annotated[Path | None, typer.Option(
    "--exports", help="Exports folder, searched recursively [default: OPSKPI_EXPORTS_DIR or "
    f"{_DEFAULTS.exports_dir}]", show_default=False)]
WarehouseOpt = Annotated[Path | None, typer.Option(
    "--warehouse", help="The published DuckDB file [default: OPSKPI_WAREHOUSE or "
    f"{_DEFAULTS.warehouse}]", show_default=False)]
StateDirOpt = Annotated[Path | None, typer.Option(
    "--state-dir", help="Working state of the warehouse [default: OPSKPI_STATE_DIR or "
    "'.<warehouse name>.state' beside the warehouse]", show_default=False)]
AsOfOpt = Annotated[str | None, typer.Option(
    "--as-of", metavar="YYYY-MM-DD", help="Business date YYYY-MM-DD [default: OPSKPI_AS_OF or today in UTC]",
    show_default=False)]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="Show the run's whole log on the terminal (else: one line per step).")]
MappingsOpt = Annotated[Path | None, typer.Option(
    "--mappings", help="Folder of source mappings, one *.yml per source system "
    "[default: OPSKPI_MAPPINGS_DIR or 'mappings' beside the exports folder's parent]",
    show_default=False)]


class UsageError(Exception):
    """A bad option or setting value: one line, exit 64."""


def _settings(**overrides: object) -> Settings:
    try:
        return get_settings(**overrides)
    except SettingsError as exc:
        raise UsageError(str(exc)) from None


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the exports to (must be empty).")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 42,
    sites: Annotated[int, typer.Option(help="Number of sites.")] = 3,
    days: Annotated[int, typer.Option(help="Number of days.")] = 90,
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")] = "2026-01-05",
    faults: Annotated[bool, typer.Option("--faults", help="Inject known faults.")] = False,
    scale: Annotated[
        float, typer.Option(help="Volume per site and day (1 = the small demo sample: ~5 order "
                            "lines, 10 employees per site; 5: 50 sites x 1095 days ~ 21 M rows).")
    ] = 5.0,
    report: Annotated[
        Path | None, typer.Option(help="Write what was generated/injected as JSON here.")
    ] = None,
) -> None:
    """Generate realistic sample exports of all 18 entities (deterministic by seed)."""
    from flows.generate import generate_exports

    first_day = _parse_date(start, "--start")
    for option, value in (("--sites", sites), ("--days", days), ("--scale", scale)):
        if not value > 0:
            raise UsageError(f"{option}: {value!r} must be greater than 0")
    try:
        result = generate_exports(out, seed=seed, sites=sites, days=days, start=first_day,
                                  faults=faults, scale=scale)
    except FileExistsError as exc:
        raise UsageError(f"--out: {exc}") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
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
    state_dir: StateDirOpt = None,
    as_of: AsOfOpt = None,
    full_refresh: Annotated[bool, typer.Option(
        "--full-refresh", help="Rebuild every incremental model from scratch.")] = False,
    mappings: MappingsOpt = None,
    reload_mapping: Annotated[str | None, typer.Option(
        "--reload-mapping", help="Load the files already loaded through this source mapping "
        "again, through its current entries, replacing the records they produced (then a full "
        "dbt build).", show_default=False)] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Ingest → build → check → publish → report.
    Exit 0 published, 1 failed, 2 blocked by the gate, 3 busy, 64 usage error (also a
    broken source mapping: nothing is loaded)."""
    settings = _settings(exports_dir=exports, warehouse=warehouse, state_dir=state_dir,
                         mappings_dir=mappings)
    day = _parse_date(as_of, "--as-of") or settings.as_of
    code, message = _refresh(settings, day, full_refresh, verbose, reload_mapping)
    _say_last(message, err=code != EXIT_OK)
    raise typer.Exit(code)


def _mappings_folder(settings: Settings) -> Path:
    """The mapping folder of ``settings``; one named explicitly must exist."""
    from flows.ingest.mappings import default_mappings_dir

    if settings.mappings_dir is not None:
        if not settings.mappings_dir.is_dir():
            raise UsageError(f"--mappings: folder not found: {settings.mappings_dir}")
        return settings.mappings_dir
    return default_mappings_dir(settings.exports_dir)


def _check_mappings_quickly(settings: Settings, reload_mapping: str | None) -> None:
    """The mappings' own mistakes (YAML, entity and column names, formats, sql that does
    not compile), found before Prefect even starts; the flow's first step checks them
    against the files."""
    from flows.ingest.mappings import MappingError, load_mappings

    folder = _mappings_folder(settings)
    mappings, problems = load_mappings(folder)
    if problems:
        raise UsageError(f"{MappingError(problems)}. Nothing loaded")
    if reload_mapping and reload_mapping not in mappings.names():
        raise UsageError(f"--reload-mapping: no mapping named {reload_mapping!r} in {folder} "
                         f"(mappings: {', '.join(mappings.names()) or 'none'})")


def _refresh(settings: Settings, as_of: date | None, full_refresh: bool, verbose: bool,
             reload_mapping: str | None = None) -> tuple[int, str]:
    """Check what can be checked in a blink (the folder, the mappings, the lock), then run
    the flow."""
    from flows.warehouse.lock import RefreshBusy, refresh_lock
    from flows.warehouse.paths import resolve

    if not settings.exports_dir.is_dir():
        raise UsageError(f"--exports: folder not found: {settings.exports_dir}")
    try:
        with os.scandir(settings.exports_dir):
            pass
    except PermissionError:
        raise UsageError(f"--exports: '{settings.exports_dir}' is not readable") from None
    _check_mappings_quickly(settings, reload_mapping)
    paths = resolve(settings)
    try:
        # held before Prefect is even imported: a second refresh is told at once
        with refresh_lock(paths, settings.lock_timeout_seconds):
            _quiet_logging(verbose)
            from flows.refresh import run_refresh

            # an explicit folder (option or OPSKPI_MAPPINGS_DIR); None: the flow's default
            code, message, _ = run_refresh(settings.exports_dir, settings.warehouse, as_of,
                                           full_refresh, settings.state_dir,
                                           settings.mappings_dir, reload_mapping)
    except RefreshBusy as exc:
        return EXIT_BUSY, f"BUSY: {exc}"
    return code, message


def _quiet_logging(verbose: bool) -> None:
    """The terminal shows one line per step (logger ``opskpi.progress``) and the outcome;
    Prefect's and dbt's console output goes to the run log only, unless ``--verbose``."""
    import logging

    # the run log gets the details (dbt's node lines are INFO) whatever the terminal shows
    if os.environ.get("PREFECT_LOGGING_LEVEL", "").upper() in ("WARNING", "ERROR", "CRITICAL"):
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    if not verbose:
        for handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
            os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{handler}_LEVEL", "CRITICAL")
    for name in ("opskpi", "flows"):
        logging.getLogger(name).setLevel(logging.INFO)
    progress = logging.getLogger("opskpi.progress")
    if verbose:  # Prefect's console handler shows them, with the rest of the log
        return
    if not any(getattr(h, "_opskpi", False) for h in progress.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._opskpi = True  # type: ignore[attr-defined]
        progress.addHandler(handler)


@app.command()
def demo(
    warehouse: WarehouseOpt = None,
    out: Annotated[Path, typer.Option(help="Where the sample exports are written.")] = DEMO_EXPORTS,
    verbose: VerboseOpt = False,
) -> None:
    """Generate the sample exports (3 sites, 90 days) and refresh the warehouse from them."""
    import shutil

    from flows.generate import generate_exports

    start, days = date(2026, 1, 5), 90
    if out == DEMO_EXPORTS and out.exists():
        shutil.rmtree(out)  # our own demo folder: regenerated from scratch every time
    result = generate_exports(out, seed=42, sites=3, days=days, start=start, scale=1.0)
    typer.echo(f"generated {len(result.files)} export files in {out}")
    settings = _settings(exports_dir=out, warehouse=warehouse)
    code, message = _refresh(settings, start + timedelta(days=days - 1), False, verbose)
    _say_last(message, err=code != EXIT_OK)
    raise typer.Exit(code)


@app.command()
def serve(
    exports: ExportsOpt = None,
    warehouse: WarehouseOpt = None,
    state_dir: StateDirOpt = None,
    cron: Annotated[str | None, typer.Option(
        help="Cron schedule [default: OPSKPI_SCHEDULE_CRON or '0 2 * * *']", show_default=False)] = None,
    timezone: Annotated[str | None, typer.Option(
        help="Time zone of the cron [default: OPSKPI_SCHEDULE_TIMEZONE or UTC]", show_default=False)] = None,
) -> None:
    """Run the refresh on a schedule (starts a local Prefect server with its UI on
    127.0.0.1:OPSKPI_PREFECT_PORT unless PREFECT_API_URL is set)."""
    from flows.ops.serve import BadSchedule, PortInUse
    from flows.ops.serve import serve as serve_flow
    from flows.warehouse.paths import resolve

    settings = _settings(exports_dir=exports, warehouse=warehouse, state_dir=state_dir)
    if not settings.exports_dir.is_dir():
        raise UsageError(f"--exports: folder not found: {settings.exports_dir}")
    try:
        serve_flow(settings.exports_dir, resolve(settings), cron or settings.schedule_cron,
                   timezone or settings.schedule_timezone, settings.prefect_port)
    except (PortInUse, BadSchedule) as exc:
        raise UsageError(str(exc)) from None


@app.command()
def status(
    warehouse: WarehouseOpt = None,
    state_dir: StateDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Last runs, freshness per entity, loads, rejected files and failing checks.
    Exit 1 when the warehouse has never been published."""
    from flows.ops.status import NoWarehouse, read_status, render_status, status_json
    from flows.warehouse.paths import resolve

    settings = _settings(warehouse=warehouse, state_dir=state_dir)
    try:
        result = read_status(resolve(settings), settings.freshness_max_days)
    except NoWarehouse as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    typer.echo(status_json(result) if as_json else render_status(result))
    if not result.published:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def report(
    warehouse: WarehouseOpt = None,
    state_dir: StateDirOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the report [default: 'report' beside the warehouse]",
        show_default=False)] = None,
) -> None:
    """(Re)write the report folder of a published warehouse: KPI report, the gate's pages
    and the dbt docs."""
    from flows.report import publish_report
    from flows.warehouse.paths import resolve

    paths = resolve(_settings(warehouse=warehouse, state_dir=state_dir))
    if not paths.warehouse.is_file():
        raise UsageError(f"--warehouse: no published warehouse at {paths.warehouse}")
    index = publish_report(paths, out)
    typer.echo(f"report written: {index}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query.")],
    warehouse: WarehouseOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
) -> None:
    """Run a read-only query on the latest published warehouse and print the result."""
    from flows.ops.query import FORMATS, QueryError, run_query

    if fmt not in FORMATS:
        raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    settings = _settings(warehouse=warehouse)
    try:
        typer.echo(run_query(settings.warehouse, sql, fmt))
    except QueryError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None


mappings_app = typer.Typer(
    help="Source mappings: read a system's own exports (its column names, codes, number "
    "and date notation) as contract entities. See docs/mappings.md.",
    no_args_is_help=True,
)
app.add_typer(mappings_app, name="mappings")


@mappings_app.command("check")
def mappings_check(
    mappings: MappingsOpt = None,
    exports: Annotated[Path | None, typer.Option(
        "--exports", help="Also read the first rows of every file a mapping matches and show "
        "what each contract column gets; list the files nothing matches.",
        show_default=False)] = None,
    rows: Annotated[int, typer.Option(help="Rows shown per file with --exports.")] = 3,
) -> None:
    """Check every mapping (YAML, entities and columns, formats, sql expressions, map
    keys; with --exports also against the files) without loading anything.
    Exit 0 when all is well, 1 when a mapping has a problem, 64 usage error."""
    from flows.ingest.mapcheck import check_mappings

    settings = _settings(mappings_dir=mappings, exports_dir=exports)
    folder = _mappings_folder(settings)
    if exports is not None and not exports.is_dir():
        raise UsageError(f"--exports: folder not found: {exports}")
    if not folder.is_dir():
        _say_last(f"no mappings: {folder} does not exist (files are read by their names, "
                  "exports.md)", err=False)
        raise typer.Exit(EXIT_OK)
    result = check_mappings(folder, exports, preview_rows=max(rows, 1) if exports else 0)
    typer.echo(_render_check(result, folder, exports))
    problems = len(result.problems) + len(result.conflicts)
    if problems:
        _say_last(f"{problems} problem(s) in the mappings of {folder}: nothing would load "
                  "until they are fixed", err=True)
        raise typer.Exit(EXIT_FAILED)
    _say_last(f"mappings OK: {len(result.mappings.mappings)} in {folder}", err=False)
    raise typer.Exit(EXIT_OK)


def _render_check(result, folder: Path, exports: Path | None) -> str:
    """The check as text: problems first, then each mapping, each file's preview."""
    lines = [f"ERROR {p}" for p in result.problems + result.conflicts]
    for mapping in result.mappings.mappings:
        zone = f", wall-clock times in {mapping.timezone}" if mapping.timezone else ""
        lines.append(f"{mapping.path}: source {mapping.source}{zone}, "
                     f"{len(mapping.files)} entr{'y' if len(mapping.files) == 1 else 'ies'}")
        for entry in mapping.files:
            idle = " (matches no file)" if exports is not None and entry in result.idle else ""
            lines.append(f"  {entry.where} [{entry.digest}]{idle}")
            if exports is None and entry.by_name:
                lines.append(f"    note: required {', '.join(entry.by_name)} not under columns: "
                             "every file must have a source column of that name "
                             "(--exports checks the files)")
    for preview in result.previews:
        entry = preview.entry
        lines.append("")
        lines.append(f"{preview.rel} → {entry.entity.name} through {entry.source} {entry.where}")
        if preview.problem:
            lines.append(f"  would be REJECTED: {preview.problem}")
            continue
        width = max((len(c) for c, _, _ in preview.columns), default=10)
        for column, where, values in preview.columns:
            shown = ", ".join("null" if v is None else repr(v) for v in values) or "(no rows)"
            lines.append(f"  {column:<{width}}  ← {where}: {shown}")
        for row, reasons in preview.quarantined:
            lines.append(f"  row {row} would be quarantined: {reasons}")
        if preview.extra:
            lines.append(f"  not used (schema drift): {', '.join(preview.extra)}")
    if exports is not None:
        lines.append("")
        if result.unmatched:
            lines.append(f"{len(result.unmatched)} file(s) matched by no mapping and no contract "
                         "name (skipped as unrecognised):")
            lines += [f"  {rel}" for rel in result.unmatched]
        else:
            lines.append("every file is matched by a mapping or named after an entity")
    return "\n".join(lines)


#: The one line that tells the user the outcome, printed after everything else.
_LAST_WORDS: list[tuple[str, bool]] = []


def _say_last(message: str, err: bool) -> None:
    _LAST_WORDS.append((message, err))


def main() -> None:
    """Console entry point: runs a command, prints its outcome line last, exits."""
    try:
        code = app(standalone_mode=False, prog_name="opskpi")
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except UsageError as exc:
        _say_last(f"Error: {exc}", err=True)
        code = EXIT_USAGE
    except ClickException as exc:  # click's usage errors: bad option, unknown command
        where = f"{exc.ctx.command_path}: " if getattr(exc, "ctx", None) else ""
        given = _given_value(exc, sys.argv[1:])
        given = f" (given: {given!r})" if given is not None else ""
        _say_last(f"Error: {where}{' '.join(exc.format_message().split())}{given} (see --help)",
                  err=True)
        code = EXIT_USAGE
    code = code if isinstance(code, int) else EXIT_OK
    atexit._run_exitfuncs()  # e.g. Prefect stopping its temporary server, which logs a line
    for message, err in _LAST_WORDS:
        typer.echo(message, err=err)
    exit_now(code)


def _given_value(exc: Exception, argv: list[str]) -> str | None:
    """The value the user gave to the option a click error is about (click's own message
    says what is wrong with it but not what it was)."""
    param = getattr(exc, "param", None)
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    for i, arg in enumerate(argv):
        for opt in opts:
            if arg == opt and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
    return None


def exit_now(code: int) -> None:
    """Leave without interpreter teardown: DuckDB's bindings print pages of harmless
    "nanobind: leaked instance" lines at teardown after dbt or SQLAlchemy were used.
    Exit handlers must have run already."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
