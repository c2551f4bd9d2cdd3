"""``write_report``: the published warehouse → one self-contained HTML page.

The page is a single ``index.html`` with its stylesheet inlined and its charts as
inline SVG: no script, no font, no CDN, and a Content-Security-Policy that forbids any
request, so it opens from disk offline and can be mailed as one file. It is written
to a temporary name and renamed into place, so a browser reloading it during a
regeneration never reads half a page.
"""

from __future__ import annotations

from importlib import resources
from itertools import groupby
from pathlib import Path
from typing import Any

from markupsafe import Markup

from flows.atomic import write_text_atomically
from flows.report.charts import site_colors, weekly_chart
from flows.report.data import ReportData, read_report_data, report_generated_at
from flows.report.dbt_docs import DBT_DOCS_DIR
from flows.report.templating import environment


def write_report(warehouse: Path, out_dir: Path | None = None) -> Path:
    """Write the KPI report of ``warehouse`` to ``out_dir/index.html`` and return its path.

    ``out_dir`` defaults to ``<warehouse dir>/report/``. The warehouse is only read
    (read-only connection); the dbt docs are linked when ``out_dir/dbt-docs/index.html``
    exists, so generate them first (``flows.report.dbt_docs.generate_dbt_docs``).
    """
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise FileNotFoundError(f"no published warehouse at {warehouse}")
    out = Path(out_dir) if out_dir is not None else warehouse.parent / "report"
    out.mkdir(parents=True, exist_ok=True)
    data = read_report_data(warehouse)
    html = render_report(data, dbt_docs=(out / DBT_DOCS_DIR / "index.html").is_file())
    return write_text_atomically(out / "index.html", html)


def render_report(data: ReportData, dbt_docs: bool = False) -> str:
    """The page's HTML for ``data`` (separate from writing, for tests and previews)."""
    return environment().get_template("report.html.j2").render(**_context(data, dbt_docs))


def _context(d: ReportData, dbt_docs: bool) -> dict[str, Any]:
    kpi_info, kpi_order = d.catalogue.info, d.catalogue.order
    colors = site_colors([s.site_id for s in d.sites])
    partial_week = d.weeks[-1] if d.weeks and not d.complete_week(d.weeks[-1]) else None
    scorecard_groups = [
        (group, list(kpis))
        for group, kpis in groupby(d.scorecard_kpis, key=lambda k: kpi_info(k).group)
    ]
    chart_items = []
    for kpi, by_site in d.weekly.items():
        info = kpi_info(kpi)
        target = d.targets.get(kpi)
        chart = weekly_chart(
            info, d.weeks, [(s.label, s.site_id, by_site.get(s.site_id, {})) for s in d.sites],
            target["target"] if target else None, partial_week, colors,
        )
        latest = by_site.get("ALL", {}).get(d.scorecard_week) if d.scorecard_week else None
        chart_items.append({"kpi": kpi, "info": info, "chart": chart, "target": target,
                            "latest": latest})
    group_rank = {g: i for i, g in enumerate(d.catalogue.groups)}
    chart_items.sort(key=lambda item: (group_rank.get(item["info"].group, 99), kpi_order(item["kpi"])))
    chart_groups = [(g, list(items)) for g, items in groupby(chart_items, key=lambda i: i["info"].group)]
    volume_kpis = sorted({k for k, _ in d.week_volumes}, key=kpi_order)
    # Vendors: a supplier's month is judged on the whole month, so the latest complete
    # one is shown open (the month to date stays one click away).
    vendor_months = [m["month_start"] for m in d.vendor_months]
    vendor_month = next((m for m in vendor_months if d.complete_month(m)),
                        vendor_months[0] if vendor_months else None)

    def below_target(kpi: str, value: float | None) -> bool:
        """Flag a vendor rate under the default ('*') target of its KPI (colour only)."""
        t = d.targets.get(kpi)
        if value is None or not t or t["target"] is None:
            return False
        return value < t["target"] if t["direction"] == "higher_is_better" else value > t["target"]

    return {
        "d": d,
        # Our own stylesheet, inlined verbatim (HTML-escaping would break '>' and quotes).
        "css": Markup(resources.files("flows.report").joinpath("static/report.css").read_text("utf-8")),
        "catalogue": d.catalogue,
        "scorecard_groups": scorecard_groups,
        "scorecard_sites": {sid for _, sid in d.scorecard},
        "volume_kpis": volume_kpis,
        "chart_groups": chart_groups,
        "vendor_month": vendor_month,
        "colors": colors,
        "partial_week": partial_week,
        "targets": d.targets,
        "below_target": below_target,
        "bar_width": lambda rate: _clamp_pct(rate),
        "budget_width": lambda variance_pct: _clamp_pct(None if variance_pct is None else 1 + variance_pct),
        "dbt_docs": f"{DBT_DOCS_DIR}/index.html" if dbt_docs else None,
        "generated_at": report_generated_at(),
    }


def _clamp_pct(share: float | None) -> float:
    """A share as a CSS width in percent, within 0..100 (drawing only)."""
    if share is None:
        return 0.0
    return round(max(0.0, min(1.0, float(share))) * 100, 1)
