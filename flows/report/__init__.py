"""Every page opskpi writes for people: the KPI report of a published warehouse, the
quality gate's page of a run with GE's Data Docs made offline, and the dbt docs page.

- :func:`write_report` (``kpi_report.py``): read-only SQL on the ``kpi``/``audit`` tables
  (``data.py``) → one self-contained, offline ``index.html``: the data of every week and
  month embedded, drawn for the chosen period and sites by ``static/report.js`` with the
  vendored uPlot (``static/vendor/``), the publication's quality rendered by the Jinja
  template (``templates/``, ``formatting.py``), the KPIs presented as the warehouse's
  catalogue says (``catalogue.py``);
- :func:`write_gate_page` (``gate_page.py``, ``gx_docs.py``);
- :func:`write_dbt_docs` (``dbt_docs.py``);
- :func:`publish_report` (``folder.py``): all of them together, in the report folder.
"""

from __future__ import annotations

from flows.report.dbt_docs import write_dbt_docs
from flows.report.folder import publish_report
from flows.report.gate_page import write_gate_page
from flows.report.kpi_report import write_report

__all__ = ["publish_report", "write_dbt_docs", "write_gate_page", "write_report"]
