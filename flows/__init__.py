"""opskpi: operational exports → trusted DuckDB warehouse of operations KPIs.

Importing the package first loads :mod:`flows.settings`, which switches off the
telemetry of dbt, Great Expectations and Prefect before any of them is imported.
"""

from flows import settings as _settings  # noqa: F401  (side effect: telemetry off)

__version__ = "0.1.0"
