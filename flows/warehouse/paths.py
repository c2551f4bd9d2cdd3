"""Where a warehouse's files live, resolved once.

``<warehouse dir>/.<name>.state/`` (or ``OPSKPI_STATE_DIR``) holds:

- ``work.duckdb``: the last *published* working database (raw versions, manifest,
  quarantine, dbt's staging/incremental tables). Never written by a run in progress.
- ``build.duckdb``: the private build of the run in progress (see ``private_build``).
- ``runs.jsonl`` and ``quality/<run_id>.json``: the history of every run, including
  blocked and failed ones (the published file cannot hold those: it is unchanged).
- ``logs/<run_id>.log``: the detailed log of each run.
- ``dbt/``: dbt's artifacts and the generated docs page; ``quality-reports/``: the gate's
  pages of the latest runs; ``prefect/``: the local Prefect server of ``opskpi serve``.
- ``refresh.lock``: held (flock) by the running refresh.

Every command (refresh, status, serve, report) gets its paths from :func:`resolve`, so
``OPSKPI_STATE_DIR`` means the same folder everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flows.settings import Settings


@dataclass(frozen=True)
class StatePaths:
    warehouse: Path
    root: Path

    @property
    def work_db(self) -> Path:
        return self.root / "work.duckdb"

    @property
    def build_db(self) -> Path:
        return self.root / "build.duckdb"

    @property
    def lock_file(self) -> Path:
        return self.root / "refresh.lock"

    @property
    def runs_log(self) -> Path:
        return self.root / "runs.jsonl"

    @property
    def quality_dir(self) -> Path:
        """Gate results of every run, one JSON file per run."""
        return self.root / "quality"

    @property
    def quality_reports_dir(self) -> Path:
        """The gate's HTML pages (and GE's Data Docs) of the latest runs."""
        return self.root / "quality-reports"

    @property
    def dbt_dir(self) -> Path:
        """dbt's artifacts (target, logs) and the generated docs page."""
        return self.root / "dbt"

    @property
    def logs_dir(self) -> Path:
        """One detailed log per run (what the terminal does not show)."""
        return self.root / "logs"

    @property
    def prefect_home(self) -> Path:
        """The local Prefect server of ``opskpi serve`` (SQLite, logs)."""
        return self.root / "prefect"

    @property
    def report_dir(self) -> Path:
        """The published report, beside the warehouse."""
        return self.warehouse.parent / "report"

    @property
    def publish_tmp(self) -> Path:
        """Where the next published file is written before the atomic rename.

        Same folder as the warehouse, so ``os.replace`` is a rename on one filesystem.
        """
        return self.warehouse.with_name(f".{self.warehouse.name}.publishing")

    def run_log(self, run_id: str) -> Path:
        return self.logs_dir / f"{run_id}.log"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.quality_dir.mkdir(exist_ok=True)
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)


def state_paths(warehouse: Path, state_dir: Path | None = None) -> StatePaths:
    """The paths of ``warehouse``, its state in ``state_dir`` or beside it."""
    wh = Path(warehouse).resolve()
    root = Path(state_dir).resolve() if state_dir else wh.parent / f".{wh.stem}.state"
    return StatePaths(warehouse=wh, root=root)


def resolve(settings: Settings) -> StatePaths:
    """The paths every command uses: ``settings.warehouse`` and ``settings.state_dir``."""
    return state_paths(settings.warehouse, settings.state_dir)
