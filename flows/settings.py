"""Everything a user can change, in one place, with defaults that work on the sample.

Values come from environment variables prefixed ``OPSKPI_`` (e.g. ``OPSKPI_AS_OF``)
or from the CLI options that override them. Importing this module also switches
off the telemetry of dbt, Great Expectations and Prefect, *before* any of them is
imported, because the machines this runs on have no internet and a nightly job
must never try to reach it.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

# --- telemetry off, in code (not in the user's shell) --------------------------------
_NO_PHONE_HOME = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "false"),
    # The first start of Prefect's temporary server can be slow on 2 cores.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}
for _key, _value in _NO_PHONE_HOME.items():
    os.environ.setdefault(_key, _value)

#: Root of the repository (the package is installed editable, see README).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Paths, thresholds and schedule. Every field can be set as ``OPSKPI_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="OPSKPI_", extra="ignore")

    exports_dir: Path = Field(
        default=PROJECT_ROOT / "data" / "exports",
        description="Folder searched recursively for export files.",
    )
    warehouse: Path = Field(
        default=PROJECT_ROOT / "data" / "warehouse" / "ops.duckdb",
        description="The published DuckDB file analysts open read-only.",
    )
    state_dir: Path | None = Field(
        default=None,
        description="Pipeline working state (raw versions, private build, run history). "
        "Default: a hidden folder beside the warehouse, '.<warehouse name>.state'.",
    )
    as_of: date | None = Field(
        default=None, description="Business date of the refresh; default today in UTC."
    )
    mappings_dir: Path | None = Field(
        default=None,
        description="Folder of source mappings (docs/mappings.md), one *.yml per source "
        "system. Default: 'mappings' beside the exports folder's parent (data/exports -> "
        "mappings/); when that folder does not exist, no file is read through a mapping.",
    )
    dbt_project_dir: Path = Field(default=PROJECT_ROOT / "dbt_project")
    expectations_dir: Path = Field(default=PROJECT_ROOT / "expectations")

    dbt_task_per_node: bool = Field(
        default=True,
        description="Run dbt through prefect-dbt's runner, one Prefect task per model/test "
        "(visible in the Prefect UI). False: one dbt task whose per-node result lines go "
        "to the run log; much less overhead on small data (~0.15 s per node).",
    )

    # Quality gate (see expectations/ and flows/quality.py)
    max_quarantine_share: float = Field(
        default=0.50,
        description="Error (blocks publication) when more than this share of an entity's "
        "rows read in a run is quarantined: the export itself is broken (a wrong date format "
        "in every row), not a few bad records.",
    )
    warn_quarantine_share: float = Field(
        default=0.05,
        description="Warning (published, reported) when more than this share of an "
        "entity's rows read in a run is quarantined.",
    )
    quarantine_min_rows: int = Field(
        default=50,
        description="Entities with fewer rows read in a run never block on the quarantine "
        "share, they warn (a 6-row reference file with 3 bad rows is not a broken export).",
    )
    freshness_max_days: int = Field(
        default=7,
        description="Warn when an entity's newest event is older than this many days "
        "before the as-of date.",
    )
    reconciliation_tolerance: float = Field(
        default=1e-6,
        description="Relative tolerance of the quality gate's reconciliations (a KPI "
        "numerator or denominator against the facts it is computed from): an error when "
        "|kpi - facts| > tolerance x max(|kpi|, |facts|).",
    )

    # KPI alerts (flows/alerts.py), computed after each publish-ready build
    alert_worsening_threshold: float = Field(
        default=0.05, ge=0,
        description="A scorecard cell alerts when its value moved the wrong way (by the KPI's "
        "direction) by more than this share of the week before's value, for "
        "alert_worsening_periods consecutive weeks; an alerted cell alerts again only when it "
        "is worse than at its last alert by more than this share.",
    )
    alert_worsening_periods: int = Field(
        default=2, ge=1,
        description="How many consecutive weeks of worsening make an alert (see "
        "alert_worsening_threshold). A cell that turns red alerts at once.",
    )

    # Concurrency
    lock_timeout_seconds: float = Field(
        default=0.0,
        description="How long a refresh waits for another refresh of the same warehouse "
        "to finish before giving up (0 = do not wait).",
    )

    # Scheduling (opskpi serve)
    schedule_cron: str = Field(default="0 2 * * *", description="Nightly refresh (cron).")
    schedule_timezone: str = Field(default="UTC", description="Time zone of the cron.")
    prefect_port: int = Field(
        default=4200,
        description="Port of the local Prefect server (and its UI) that `opskpi serve` starts "
        "on 127.0.0.1 when PREFECT_API_URL is not set.",
    )
    notify_command: str | None = Field(
        default=None,
        description="Shell command run when a refresh is blocked or fails (it receives the "
        "run record, with its `outcome`, as JSON on stdin) and after a publication with new "
        "KPI alerts (it receives {\"kind\": \"kpi_alerts\", \"alerts\": [...]}): a hook "
        "for mail/chat notifications.",
    )


class SettingsError(ValueError):
    """A setting has a value it cannot take; the message names it (one line)."""


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (CLI) overrides on top.

    Raises :class:`SettingsError` naming the setting and its bad value.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err.get("loc", ())) or "setting"
            where = f"--{name.replace('_', '-')}" if name in clean else f"OPSKPI_{name.upper()}"
            problems.append(f"{where}: {err.get('input')!r} is not valid ({err.get('msg')})")
        raise SettingsError("; ".join(problems)) from None
