"""The one way opskpi invokes dbt.

Every dbt command of the pipeline, its docs and its tests goes through
:func:`invoke_dbt`: the database the profile opens and the run's as-of date are set in
the environment for the duration of the call only (and put back after), dbt's artifacts
and logs go to a folder of the caller's (never into the project), and a failure comes
back as one :class:`DbtFailed` naming every failed node and its message.

The as-of date reaches the models as an environment variable read by the ``as_of()``
macro, not as a ``--vars`` value: a new value of a var forces dbt to re-parse the whole
project, an environment variable read in a macro does not (stack-notes), so nightly
runs keep dbt's partial parsing.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flows.settings import get_settings

#: statuses of a node that failed (a model error, a failing test, ...)
_FAILED = ("error", "fail", "runtime error")

#: dbt events that report one node each (start, result), shown in the run log.
_NODE_EVENTS = {
    "LogStartLine", "LogModelResult", "LogTestResult", "LogSeedResult", "LogHookEndLine",
    "RunResultError", "RunResultFailure", "RunResultWarning", "RunResultErrorNoMessage",
    # not a node, but why a build took seconds longer: dbt re-parsed the whole project
    "UnableToPartialParse",
}


class DbtFailed(RuntimeError):
    """A dbt command failed; the message names each failed node and its error."""

    def __init__(self, command: str, failures: list[str]):
        self.command = command
        self.failures = failures
        super().__init__(f"dbt {command} failed: " + "; ".join(failures))


@dataclass(frozen=True)
class DbtResult:
    command: str
    nodes: int
    seconds: float
    statuses: dict[str, int] = field(default_factory=dict)  # status -> number of nodes
    results: list = field(default_factory=list, repr=False)  # dbt's own node results


@contextlib.contextmanager
def dbt_environment(database: Path, as_of: date | None) -> Iterator[None]:
    """The environment of one dbt call: the database its profile opens, the as-of date,
    telemetry off. The previous values are restored afterwards."""
    values = {
        "OPSKPI_DBT_DATABASE": str(Path(database).resolve()),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if as_of is not None:
        values["OPSKPI_AS_OF"] = as_of.isoformat()
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def invoke_dbt(
    command: list[str],
    database: Path,
    artifacts_dir: Path,
    *,
    as_of: date | None = None,
    dbt_vars: dict | None = None,
    project_dir: Path | None = None,
    per_node_tasks: bool = False,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
) -> DbtResult:
    """Run ``dbt <command...>`` on ``database``; raise :class:`DbtFailed` if anything failed.

    ``per_node_tasks``: through prefect-dbt's runner, one Prefect task run per node
    (inside a flow); otherwise dbt's own runner, each node's start and result line going
    to ``logger`` (the Prefect run logger when there is one).
    """
    project = Path(project_dir or get_settings().dbt_project_dir).resolve()
    artifacts = Path(artifacts_dir).resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    args = [
        *command,
        "--target-path", str(artifacts / "target"),
        "--log-path", str(artifacts / "logs"),
    ]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    # the command's words before its first option: "build", "docs generate"
    label = " ".join(itertools.takewhile(lambda c: not c.startswith("-"), command))[:60] or "dbt"
    t0 = time.perf_counter()
    with dbt_environment(database, as_of):
        if per_node_tasks:
            result = _invoke_prefect_dbt(project, args)
        else:
            result = _invoke_dbt_runner(project, args, logger or _run_logger())
    if result.exception is not None:
        raise DbtFailed(label, [_one_line(str(result.exception))])
    nodes = list(getattr(result.result, "results", None) or [])
    failures = [
        f"{r.node.resource_type.title()} '{r.node.name}' {r.status}: {_one_line(r.message or '')}"
        for r in nodes
        if str(r.status) in _FAILED
    ]
    if failures or not result.success:
        raise DbtFailed(label, failures or ["see the dbt log in " + str(artifacts / "logs")])
    statuses: dict[str, int] = {}
    for r in nodes:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
    return DbtResult(label, len(nodes), round(time.perf_counter() - t0, 3), statuses, nodes)


def _invoke_prefect_dbt(project: Path, args: list[str]):
    from dbt_common.events.base_types import EventLevel
    from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

    runner = PrefectDbtRunner(
        # dbt's own level, not derived from Prefect's (PREFECT_LOGGING_LEVEL=WARNING
        # would map to 'warning', which is not a dbt level)
        settings=PrefectDbtSettings(project_dir=project, profiles_dir=project, log_level=EventLevel.INFO),
        raise_on_failure=False,
    )
    try:
        return runner.invoke(args)
    except ValueError as exc:  # prefect-dbt raises when dbt itself could not run
        return _Exception(exc)


class _Exception:
    """A dbt invocation that raised before producing a result."""

    success = False
    result = None

    def __init__(self, exc: BaseException):
        self.exception = exc


def _invoke_dbt_runner(project: Path, args: list[str], logger):
    from dbt.cli.main import dbtRunner

    def on_event(event) -> None:
        if event.info.name in _NODE_EVENTS:
            level = {"error": logging.ERROR, "warn": logging.WARNING}.get(event.info.level, logging.INFO)
            logger.log(level, event.info.msg)

    return dbtRunner(callbacks=[on_event]).invoke(
        [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--log-level", "none"]
    )


def _run_logger():
    try:
        from prefect import get_run_logger

        return get_run_logger()
    except Exception:  # outside a flow or task (tests, docs)
        return logging.getLogger("opskpi.dbt")


def _one_line(text: str) -> str:
    return " ".join(text.split())
