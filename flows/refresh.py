"""The nightly refresh, as a Prefect flow that reads as the process it runs:

    prepare → ingest → build → check → gate pages → alerts → publish → docs → report
    (→ the new KPI alerts are sent)

Each step is a Prefect task that takes paths and returns a small result that says how
long it took. Write-audit-publish: everything is written into a private build database
(a copy of the last published working state); only when every step up to the gate has
passed is the published file replaced, atomically. A blocked, failed or killed run leaves
the published file and the working state exactly as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from prefect.states import Failed

from flows.alerts import AlertRules, alerts_payload, compute_alerts, emit_alert_events
from flows.build import BuildResult, build_models
from flows.build.docs import generate_docs
from flows.db import connect
from flows.gate import GateResult, run_quality_gate
from flows.ingest.load import ingest_exports
from flows.ingest.mapcheck import preflight
from flows.ingest.mappings import MappingError, default_mappings_dir, load_mappings
from flows.notify import notify_kpi_alerts, notify_unpublished
from flows.report import publish_report, write_gate_page
from flows.settings import Settings, get_settings
from flows.warehouse.history import append_run, write_quality_results
from flows.warehouse.lock import RefreshBusy, refresh_lock
from flows.warehouse.paths import StatePaths, resolve, state_paths
from flows.warehouse.private_build import start_private_build
from flows.warehouse.publish import PublishResult
from flows.warehouse.publish import publish as publish_build

EXIT_PUBLISHED, EXIT_FAILED, EXIT_BLOCKED, EXIT_BUSY, EXIT_USAGE = 0, 1, 2, 3, 64

#: One line per step and per rejected file, for the terminal (the CLI shows this logger;
#: everything else goes to the run log).
progress = logging.getLogger("opskpi.progress")

#: HTML pages of the last gate runs kept in the state folder (~4 MB each); the results
#: of every run stay in the run history and audit.quality_results.
QUALITY_REPORTS_KEPT = 20


class PublicationBlocked(RuntimeError):
    """The quality gate found an error-level problem; nothing was published."""


class NothingToLoad(RuntimeError):
    """A first refresh found no file it could load: there is nothing to publish."""


class BadParameter(ValueError):
    """A parameter of the refresh has a value it cannot use (one line: option and value)."""


@dataclass(frozen=True)
class RefreshParameters:
    """The flow's parameters, validated: Prefect passes deployment parameters as text."""

    exports_dir: Path
    warehouse: Path
    as_of: date | None
    full_refresh: bool
    state_dir: Path | None
    mappings_dir: Path | None = None  # None: OPSKPI_MAPPINGS_DIR or the default folder
    reload_mapping: str | None = None  # a mapping whose loaded files are loaded again

    @classmethod
    def parse(cls, exports_dir: Any, warehouse: Any, as_of: Any = None, full_refresh: Any = False,
              state_dir: Any = None, mappings_dir: Any = None,
              reload_mapping: Any = None) -> RefreshParameters:
        if not exports_dir:
            raise BadParameter("exports_dir: missing")
        if not warehouse:
            raise BadParameter("warehouse: missing")
        if mappings_dir and not Path(mappings_dir).is_dir():
            raise BadParameter(f"mappings_dir: folder not found: {mappings_dir}")
        return cls(Path(exports_dir), Path(warehouse), parse_as_of(as_of), _parse_bool(full_refresh),
                   Path(state_dir) if state_dir else None,
                   Path(mappings_dir) if mappings_dir else None,
                   str(reload_mapping).strip() if reload_mapping else None)


def mappings_folder(mappings_dir: Path | None, settings: Settings, exports_dir: Path) -> Path:
    """The mapping folder of a refresh: the option, else OPSKPI_MAPPINGS_DIR, else
    ``mappings/`` beside the exports folder's parent (mappings.md)."""
    return Path(mappings_dir or settings.mappings_dir or default_mappings_dir(exports_dir))


def parse_as_of(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise BadParameter(f"as_of: {str(value)!r} is not a date (YYYY-MM-DD)") from None


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "", "none"):
        return False
    raise BadParameter(f"full_refresh: {value!r} is not true or false")


@dataclass
class RunRecord:
    """One refresh, as kept in the run history and ``audit.runs``."""

    run_id: str
    as_of_date: date
    started_at: datetime
    exports_dir: str
    full_refresh: bool
    finished_at: datetime | None = None
    published_at: datetime | None = None
    outcome: str = "running"
    reason: str | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    rows_published: dict[str, int] = field(default_factory=dict)
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    prefect_flow_run_id: str | None = None
    quality_report: str | None = None
    report: str | None = None
    log: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)  # the settings the run judged by
    kpi_alerts: int = 0  # new KPI alerts of this publication (audit.kpi_alerts)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def step(name: str, **task_options: Any):
    """A step of the refresh: a Prefect task whose result carries how long it took
    (``seconds``) and which says so on the progress line."""

    def decorate(fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            result = fn(*args, **kwargs)
            seconds = round(time.perf_counter() - t0, 3)
            progress.info("%-8s %6.1f s  %s", name, seconds, getattr(result, "summary", lambda: "")())
            return dataclasses.replace(result, seconds=seconds)

        return task(name=name, **task_options)(timed)

    return decorate


# --- step results --------------------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    build_db: Path
    first_run: bool  # no published working state yet
    seconds: float = 0.0

    def summary(self) -> str:
        return "first refresh of this warehouse" if self.first_run else "private copy of the working state"


@dataclass(frozen=True)
class MappingsChecked:
    folder: Path
    names: list[str]
    seconds: float = 0.0

    def summary(self) -> str:
        if not self.names:
            return f"no source mappings ({self.folder})"
        return f"{len(self.names)} source mapping(s) checked against the exports: {', '.join(self.names)}"


@dataclass(frozen=True)
class Ingested:
    counts: dict[str, int]
    rejected: list[tuple[str, str]]  # (path, reason) of files rejected in this run
    seconds: float = 0.0
    reloaded: tuple[str, ...] = ()  # files reloaded through a changed mapping

    @property
    def new_files(self) -> int:
        return self.counts["files_loaded"] + self.counts["files_skipped_duplicate"]

    def summary(self) -> str:
        c = self.counts
        if not self.new_files and not self.rejected:
            return f"no new files ({c['files_seen']} seen, all loaded before)"
        rejected = f", {len(self.rejected)} rejected" if self.rejected else ""
        return (f"{c['files_loaded']} new files{rejected}: {c['rows_loaded']:,} rows loaded, "
                f"{c['rows_quarantined']:,} quarantined")


@dataclass(frozen=True)
class Built:
    result: BuildResult
    seconds: float = 0.0

    def summary(self) -> str:
        mode = "full" if self.result.full_refresh or self.result.reason == "first build" else "incremental"
        return f"{self.result.nodes} dbt nodes, {mode} ({self.result.reason})"


@dataclass(frozen=True)
class Checked:
    gate: GateResult
    seconds: float = 0.0

    def summary(self) -> str:
        return self.gate.reason()


@dataclass(frozen=True)
class Page:
    path: Path | None
    seconds: float = 0.0

    def summary(self) -> str:
        return str(self.path or "")


@dataclass(frozen=True)
class Alerted:
    alerts: list[dict[str, Any]]
    seconds: float = 0.0

    def summary(self) -> str:
        return f"{len(self.alerts)} new KPI alert{'' if len(self.alerts) == 1 else 's'}"


@dataclass(frozen=True)
class Published:
    result: PublishResult
    published_at: datetime | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        return f"{self.result.warehouse} ({len(self.result.rows)} tables, {self.result.size_bytes:,} bytes)"


# --- steps ---------------------------------------------------------------------------------

@step("prepare", retries=2, retry_delay_seconds=2)
def prepare(paths: StatePaths) -> Prepared:
    """Copy the last published working state into a fresh private build database."""
    first = not paths.work_db.exists()
    return Prepared(start_private_build(paths), first)


def _worth_retrying(task, task_run, state) -> bool:
    """A transient fault may pass on a retry; a folder that is missing or unreadable won't."""
    exc = state.data if isinstance(state.data, BaseException) else None
    return not isinstance(exc, (PermissionError, FileNotFoundError, NotADirectoryError))


@step("mappings")
def check_mappings(folder: Path, exports_dir: Path, reload_mapping: str | None) -> MappingsChecked:
    """Source mappings checked against the exports before anything loads: a broken one
    (bad YAML, unknown entity or column, a required column without source, an sql
    expression or a format that does not work) stops the run here. Not retried."""
    mappings = preflight(folder, exports_dir)
    if reload_mapping and reload_mapping not in mappings.names():
        raise BadParameter(f"reload_mapping: no mapping named {reload_mapping!r} in {folder} "
                           f"(mappings: {', '.join(mappings.names()) or 'none'})")
    return MappingsChecked(folder, mappings.names())


@step("ingest", retries=2, retry_delay_seconds=5, retry_condition_fn=_worth_retrying)
def ingest(build_db: Path, exports_dir: Path, run_id: str, now: datetime,
           mappings_dir: Path | None = None, reload_mapping: str | None = None) -> Ingested:
    """exports → raw: files judged and loaded into the private build (per-file transactions,
    so a retry after a transient fault continues where it stopped). Files matched by a
    source mapping are read through it (checked by the step before)."""
    logger = get_run_logger()

    def log(line: str) -> None:
        logger.info(line)
        if line.lstrip().startswith(("REJECTED", "unrecognised", "quarantined", "mapping",
                                     "reloaded", "not reloaded")):
            progress.info("%s", line)

    mappings, problems = load_mappings(mappings_dir)
    if problems:
        raise MappingError(problems)
    con = connect(build_db)
    try:
        summary = ingest_exports(con, exports_dir, run_id, now, log=log, mappings=mappings,
                                 reload_mapping=reload_mapping)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    rejected = [(f.rel, f.reason or "") for f in summary.files if f.status == "rejected" and f.new]
    return Ingested(summary.as_dict(), rejected, reloaded=tuple(summary.reloaded))


@step("build")
def build(build_db: Path, as_of: date, full_refresh: bool, paths: StatePaths) -> Built:
    """raw → staging → facts → KPI marts, with dbt's data tests. Not retried: a failing
    model or test fails the same way twice."""
    return Built(build_models(build_db, as_of, paths.dbt_dir, full_refresh=full_refresh))


@step("check")
def check(build_db: Path, record: RunRecord, settings: Settings, paths: StatePaths) -> Checked:
    """The quality gate's checkpoint on the private build; its results are kept in the run
    history whatever the outcome."""
    gate = run_quality_gate(
        build_db, as_of=record.as_of_date, run_id=record.run_id, settings=settings,
        data_docs_dir=paths.quality_reports_dir / record.run_id / "data-docs",
    )
    write_quality_results(paths, record.run_id, gate.results)
    logger = get_run_logger()
    for r in gate.warnings:
        logger.warning("quality warning %s on %s: %s", r["check"], r["table_name"], r["observed"])
    for r in gate.errors:
        logger.error("quality ERROR %s on %s: %s", r["check"], r["table_name"], r["observed"])
    return Checked(gate)


@step("gate page", retries=1, retry_delay_seconds=2)
def gate_page(gate: GateResult, paths: StatePaths) -> Page:
    """The gate's page of this run (blocked runs too: the BLOCKED line points to it)."""
    folder = paths.quality_reports_dir / gate.run_id
    page = write_gate_page(gate, folder)
    prune_quality_reports(paths.quality_reports_dir, keep=QUALITY_REPORTS_KEPT)
    return Page(page)


@step("alerts")
def kpi_alerts(build_db: Path, record: RunRecord, settings: Settings, now: datetime) -> Alerted:
    """The scorecard cells that turned red or kept worsening (flows/alerts.py), stored in
    the private build's audit.kpi_alerts (published with it, and kept in the working state
    to deduplicate the next runs); sent only once published."""
    rules = AlertRules(settings.alert_worsening_threshold, settings.alert_worsening_periods)
    con = connect(build_db)
    try:
        alerts = compute_alerts(con, record.run_id, record.as_of_date, now, rules)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return Alerted(alerts)


@step("publish", retries=2, retry_delay_seconds=2)
def publish(paths: StatePaths, record: RunRecord) -> Published:
    """Write the published copy beside the warehouse, verify it, swap it in atomically;
    then the private build becomes the working state for the next run."""
    now = datetime.now(UTC)
    return Published(publish_build(paths, {**record.as_dict(), "outcome": "published",
                                           "published_at": now, "finished_at": now}), now)


@step("docs", retries=1, retry_delay_seconds=2)
def docs(paths: StatePaths, as_of: date) -> Page:
    """dbt's documentation page of the published models (from the committed working
    state, which nobody else writes while the refresh holds its lock)."""
    return Page(generate_docs(paths.work_db, as_of, paths.dbt_dir / "docs"))


@step("report", retries=1, retry_delay_seconds=2)
def report(paths: StatePaths, gate_folder: Path | None) -> Page:
    """The KPI report, the gate's pages and the dbt docs, in the report folder."""
    return Page(publish_report(paths, quality_docs=gate_folder))


def prune_quality_reports(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest per-run gate pages (run ids sort by time)."""
    import shutil

    for old in sorted(p for p in folder.iterdir() if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


# --- the flow ------------------------------------------------------------------------------

@flow(name="opskpi-refresh", log_prints=True, validate_parameters=False)
def refresh_flow(
    exports_dir: str,
    warehouse: str,
    as_of: str | None = None,
    full_refresh: bool = False,
    state_dir: str | None = None,
    mappings_dir: str | None = None,
    reload_mapping: str | None = None,
) -> dict[str, Any]:
    """Refresh the warehouse from the exports folder; returns the run record."""
    try:  # deployment runs pass parameters as text: converted here, before any work
        params = RefreshParameters.parse(exports_dir, warehouse, as_of, full_refresh, state_dir,
                                         mappings_dir, reload_mapping)
    except BadParameter as exc:
        # a failed run whose message is the one line (no traceback: nothing went wrong
        # inside the flow, it was asked something it cannot do)
        get_run_logger().error("refresh not started: %s", exc)
        return Failed(message=f"refresh not started: {exc}", data=exc)
    settings = get_settings(warehouse=params.warehouse, state_dir=params.state_dir)
    paths = resolve(settings)
    now = datetime.now(UTC)
    record = RunRecord(
        run_id=new_run_id(now),
        as_of_date=params.as_of or settings.as_of or now.date(),
        started_at=now,
        exports_dir=str(params.exports_dir.resolve()),
        full_refresh=params.full_refresh,
        prefect_flow_run_id=str(flow_run.get_id() or ""),
        thresholds={"freshness_max_days": settings.freshness_max_days,
                    "alert_worsening_threshold": settings.alert_worsening_threshold,
                    "alert_worsening_periods": settings.alert_worsening_periods},
    )
    logger = get_run_logger()
    with refresh_lock(paths, settings.lock_timeout_seconds), run_log(paths, record):
        logger.info("refresh %s as of %s: %s → %s", record.run_id, record.as_of_date,
                    record.exports_dir, paths.warehouse)
        try:
            _run_steps(paths, record, settings, now,
                       mappings_folder(params.mappings_dir, settings, params.exports_dir),
                       params.reload_mapping)
            record.outcome = "published"
        except PublicationBlocked as exc:
            record.outcome, record.reason = "blocked", str(exc)
        except Exception as exc:
            record.outcome, record.reason = "failed", _one_line(f"{type(exc).__name__}: {exc}")
            logger.exception("refresh %s failed", record.run_id)
            raise
        finally:
            record.finished_at = datetime.now(UTC)
            append_run(paths, record.as_dict())
            logger.info("refresh %s: %s%s", record.run_id, record.outcome,
                        f" ({record.reason})" if record.reason else "")
            if record.outcome != "published":
                notify_unpublished(record.as_dict(), settings.notify_command, logger)
    if record.outcome == "blocked":
        raise PublicationBlocked(record.reason)
    return record.as_dict()


def _run_steps(paths: StatePaths, record: RunRecord, settings: Settings, now: datetime,
               mappings_dir: Path | None = None, reload_mapping: str | None = None) -> None:
    if mappings_dir is not None and (mappings_dir.is_dir() or reload_mapping):
        # no mapping folder (the default one is optional): no mappings step, no line
        mapped = check_mappings(mappings_dir, Path(record.exports_dir), reload_mapping)
        record.step_seconds["mappings"] = mapped.seconds
    prepared = prepare(paths)
    ingested = ingest(prepared.build_db, Path(record.exports_dir), record.run_id, now,
                      mappings_dir, reload_mapping)
    record.files = ingested.counts
    if prepared.first_run and not ingested.counts["files_loaded"]:
        raise NothingToLoad(
            f"nothing to load in {record.exports_dir}: {ingested.counts['files_seen']} files seen, "
            "none could be loaded (export files are named after an entity of the contract: "
            "shipments_2026-11.csv, ...)")
    full = record.full_refresh
    if ingested.reloaded and not full:
        # Reloaded files replaced records (some may be gone, now quarantined): the
        # incremental models only revisit keys with new versions, so everything is
        # rebuilt from raw once.
        progress.info("build: a full dbt build, because %d file(s) were reloaded through a "
                      "changed mapping (the records they fed are rebuilt)", len(ingested.reloaded))
        full = True
    built = build(prepared.build_db, record.as_of_date, full, paths)
    checked = check(prepared.build_db, record, settings, paths)
    gate = checked.gate
    record.checks_failed = [f"{r['suite']}.{r['check']}" for r in gate.errors]
    record.checks_warned = [f"{r['suite']}.{r['check']}" for r in gate.warnings]
    page = gate_page(gate, paths)
    record.quality_report = str(page.path) if page.path else None
    record.step_seconds.update({"prepare": prepared.seconds, "ingest": ingested.seconds,
                                "build": built.seconds, "check": checked.seconds,
                                "gate page": page.seconds})
    if gate.blocked:
        raise PublicationBlocked(f"quality gate: {gate.reason()}")
    alerted = kpi_alerts(prepared.build_db, record, settings, now)
    record.kpi_alerts = len(alerted.alerts)
    record.step_seconds["alerts"] = alerted.seconds
    published = publish(paths, record)
    record.rows_published = published.result.rows
    record.published_at = published.published_at  # the instant the published file records
    record.step_seconds["publish"] = published.seconds
    try:  # the warehouse is published; a missing page is not a failed run
        record.step_seconds["docs"] = docs(paths, record.as_of_date).seconds
    except Exception as exc:
        get_run_logger().warning("dbt docs not generated: %s", exc)
    try:
        written = report(paths, page.path.parent if page.path else None)
        record.report, record.step_seconds["report"] = str(written.path), written.seconds
    except Exception as exc:
        get_run_logger().warning("report not written: %s", exc)
    send_kpi_alerts(alerted.alerts, record, paths, settings)


def send_kpi_alerts(alerts: list[dict[str, Any]], record: RunRecord, paths: StatePaths,
                    settings: Settings) -> None:
    """The publication's new KPI alerts, to the notification command (JSON on stdin,
    ``"kind": "kpi_alerts"``) and as Prefect events (``opskpi.kpi.*``) for automations."""
    if not alerts:
        return
    logger = get_run_logger()
    payload = alerts_payload(alerts, {**record.as_dict(), "warehouse": str(paths.warehouse)})
    notify_kpi_alerts(json.loads(json.dumps(payload, default=str)), settings.notify_command, logger)
    events = emit_alert_events(alerts, logger)
    to_command = " to the notify command" if settings.notify_command else ""
    progress.info("%-8s %d new KPI alert%s sent%s, %d Prefect event%s", "alerts", len(alerts),
                  "" if len(alerts) == 1 else "s", to_command, events, "" if events == 1 else "s")


@contextlib.contextmanager
def run_log(paths: StatePaths, record: RunRecord):
    """Everything logged during the run (Prefect, dbt, ingestion, tracebacks) also goes to
    ``<state>/logs/<run_id>.log``, which the outcome line and ``opskpi status`` name."""
    paths.logs_dir.mkdir(parents=True, exist_ok=True)
    path = paths.run_log(record.run_id)
    record.log = str(path)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# --- entry point used by the CLI and tests --------------------------------------------------

def run_refresh(
    exports_dir: Path,
    warehouse: Path,
    as_of: date | None = None,
    full_refresh: bool = False,
    state_dir: Path | None = None,
    mappings_dir: Path | None = None,
    reload_mapping: str | None = None,
) -> tuple[int, str, dict[str, Any] | None]:
    """Run the flow; return (exit code, one-line message, run record or None)."""
    settings = get_settings(warehouse=warehouse, state_dir=state_dir)
    paths = resolve(settings)
    try:
        with refresh_lock(paths, settings.lock_timeout_seconds):
            state = refresh_flow(
                str(exports_dir), str(paths.warehouse), as_of.isoformat() if as_of else None,
                full_refresh, str(paths.root),
                str(mappings_dir) if mappings_dir else None, reload_mapping,
                return_state=True,
            )
    except RefreshBusy as exc:
        return EXIT_BUSY, f"BUSY: {exc}", None
    return outcome_message(state, paths)


def status_command(paths: StatePaths) -> str:
    """The exact ``opskpi status`` command for this warehouse (with its state folder when
    that is not the default one beside it, e.g. from OPSKPI_STATE_DIR)."""
    command = f"opskpi status --warehouse {paths.warehouse}"
    if paths.root != state_paths(paths.warehouse).root:
        command += f" --state-dir {paths.root}"
    return command


def outcome_message(state, paths: StatePaths) -> tuple[int, str, dict[str, Any] | None]:
    """The exit code and the one line that tells the user what happened and where to look."""
    from flows.warehouse.history import read_runs

    status = status_command(paths)
    if state.is_completed():
        rec = state.result()
        files = rec.get("files") or {}
        new = files.get("files_loaded", 0) + files.get("files_skipped_duplicate", 0)
        what = (f"{new} new files, {files.get('rows_loaded', 0):,} rows loaded" if new
                else "no new files")
        rejected = files.get("files_rejected", 0)
        what += f", {rejected} files rejected" if rejected else ""
        report_part = f"; report: {rec['report']}" if rec.get("report") else ""
        return EXIT_PUBLISHED, (
            f"published {paths.warehouse} (run {rec['run_id']}, as of {rec['as_of_date']}; {what})"
            f"{report_part}; query it: opskpi query \"SELECT ...\" --warehouse {paths.warehouse}; "
            f"state: {status}"
        ), rec
    exc = state.result(raise_on_failure=False)
    last = (read_runs(paths) or [{}])[-1]
    unchanged = (f"{paths.warehouse} unchanged" if paths.warehouse.is_file()
                 else f"no warehouse published yet at {paths.warehouse}")
    log = f"log: {last['log']}" if last.get("log") else f"history: {status}"
    if isinstance(exc, BadParameter):
        return EXIT_USAGE, f"Error: {exc}", None
    if isinstance(exc, MappingError):  # found before anything loaded
        return EXIT_USAGE, f"Error: {exc}. Nothing loaded, {unchanged} ({log})", None
    if isinstance(exc, RefreshBusy):
        return EXIT_BUSY, f"BUSY: {exc}", None
    if isinstance(exc, PublicationBlocked):
        where = last.get("quality_report") or status
        return EXIT_BLOCKED, f"BLOCKED: nothing published, {unchanged}. {exc} (details: {where}; {log})", None
    return EXIT_FAILED, f"FAILED: nothing published, {unchanged}. {_one_line(str(exc))} ({log})", None
