"""``write_report``: the published warehouse → one self-contained HTML page.

The page is a single ``index.html``: its data (every KPI cell of every week and month,
their top drivers, carriers, vendors, budget) is embedded as JSON, its stylesheet, the
vendored uPlot chart library (MIT, ``static/vendor/``) and its own script
(``static/report.js``) are inlined, and a Content-Security-Policy forbids any request,
so it opens from disk offline and can be mailed as one file. The script draws every
section for the chosen period (any week or month of the warehouse) and sites; the
publication's quality (trust banner, checks, files, quarantine, runs) is rendered here.
It is written to a temporary name and renamed into place, so a browser reloading it
during a regeneration never reads half a page.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from flows.atomic import write_text_atomically
from flows.report.data import ReportData, read_report_data, report_generated_at
from flows.report.dbt_docs import DBT_DOCS_DIR
from flows.report.templating import environment

#: Where the gate's pages of the published run go, relative to the report folder.
QUALITY_DIR = "quality"
_UPLOT = "static/vendor/uplot-1.6.32"


def write_report(warehouse: Path, out_dir: Path | None = None) -> Path:
    """Write the KPI report of ``warehouse`` to ``out_dir/index.html`` and return its path.

    ``out_dir`` defaults to ``<warehouse dir>/report/``. The warehouse is only read
    (read-only connection); the dbt docs and the gate's page are linked when they exist
    in ``out_dir`` (``flows.report.folder.publish_report`` writes them first).
    """
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise FileNotFoundError(f"no published warehouse at {warehouse}")
    out = Path(out_dir) if out_dir is not None else warehouse.parent / "report"
    out.mkdir(parents=True, exist_ok=True)
    data = read_report_data(warehouse)
    html = render_report(data, links=_links(out))
    return write_text_atomically(out / "index.html", html)


def _links(out: Path) -> dict[str, str | None]:
    """Relative links to the pages beside the report, when they are there."""
    def present(rel: str) -> str | None:
        return rel if (out / rel).is_file() else None

    return {
        "dbt_docs": present(f"{DBT_DOCS_DIR}/index.html"),
        "gate": present(f"{QUALITY_DIR}/index.html"),
        "data_docs": present(f"{QUALITY_DIR}/data-docs/index.html"),
    }


def render_report(data: ReportData, links: dict[str, str | None] | None = None,
                  dbt_docs: bool = False) -> str:
    """The page's HTML for ``data`` (separate from writing, for tests and previews)."""
    links = dict(links or {})
    if dbt_docs and not links.get("dbt_docs"):
        links["dbt_docs"] = f"{DBT_DOCS_DIR}/index.html"
    return environment().get_template("report.html.j2").render(**_context(data, links))


def _static(name: str) -> Markup:
    """A file of ``flows/report/static``, inlined verbatim (HTML-escaping would break it)."""
    return Markup(resources.files("flows.report").joinpath(name).read_text("utf-8"))


def embedded_json(payload: Any) -> Markup:
    """JSON safe inside a <script> element ('</' cannot close it)."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Markup(text.replace("</", "<\\/").replace("<!--", "<\\!--"))


def _context(d: ReportData, links: dict[str, str | None]) -> dict[str, Any]:
    t = d.trust
    payload = {**d.payload, "links": {k: v for k, v in links.items() if v}}
    return {
        "d": d,
        "t": t,
        "css": _static("static/report.css"),
        "uplot_css": _static(f"{_UPLOT}/uPlot.min.css"),
        "uplot_js": _static(f"{_UPLOT}/uPlot.iife.min.js"),
        "app_js": _static("static/report.js"),
        "payload": embedded_json(payload),
        "catalogue": d.catalogue,
        "links": {k: links.get(k) for k in ("dbt_docs", "gate", "data_docs")},
        "trust_issues": bool(t.feed_is_stale or t.stale or t.rejected_files or t.quarantined_rows
                             or t.warnings),
        "generated_at": report_generated_at(),
    }
