"""The HTML KPI report of a published warehouse (``opskpi report``) and its dbt docs.

- :func:`write_report` (``build.py``): read-only SQL on the ``kpi``/``audit`` tables
  (``data.py``) → one self-contained, offline ``index.html`` (Jinja template, inline
  CSS and SVG charts: ``templates/``, ``static/``, ``charts.py``, ``formatting.py``).
- :func:`generate_dbt_docs` (``dbt_docs.py``): the dbt project's static documentation
  page, linked from the report as ``dbt-docs/index.html``.
"""

from __future__ import annotations

from flows.report.build import write_report

__all__ = ["generate_dbt_docs", "write_report"]


def __getattr__(name: str):
    # dbt is heavy to import; only the publish step needs the docs.
    if name == "generate_dbt_docs":
        from flows.report.dbt_docs import generate_dbt_docs

        return generate_dbt_docs
    raise AttributeError(name)
