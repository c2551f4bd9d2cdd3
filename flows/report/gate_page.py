"""The quality gate's page of a run: ``<docs_dir>/index.html`` (self-contained: inline CSS,
no script; links only to GE's Data Docs of the run, made offline, in ``data-docs/``) and
``<docs_dir>/results.json``. Written for every run, blocked ones included: the BLOCKED
line points to it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from markupsafe import Markup

from flows.atomic import write_text_atomically
from flows.gate.results import GateResult
from flows.report.gx_docs import make_data_docs_offline
from flows.report.templating import environment


def write_gate_page(gate: GateResult, docs_dir: Path) -> Path:
    """Write the gate's page of ``gate`` into ``docs_dir``; return the page's path."""
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    if gate.data_docs_path is not None:
        worst: dict[str, str] = {}
        for r in gate.results:
            if not r["success"]:
                worst[r["table_name"]] = "error" if "error" in (r["severity"], worst.get(r["table_name"])) \
                    else "warning"
        make_data_docs_offline(gate.data_docs_path.parent, worst)
    rank = {("error", False): 0, ("warning", False): 1}  # failed errors, then warnings
    order = sorted(range(len(gate.results)),
                   key=lambda i: (rank.get((gate.results[i]["severity"], gate.results[i]["success"]), 2), i))
    rows = [(gate.results[i], gate.sql[i] if i < len(gate.sql) else "") for i in order]
    page = environment().get_template("gate.html.j2").render(
        gate=gate,
        css=Markup(resources.files("flows.report").joinpath("static/gate.css").read_text("utf-8")),
        rows=rows,
        n_passed=sum(1 for r in gate.results if r["success"]),
        plural=lambda n, noun: f"{n} {noun}{'' if n == 1 else 's'}",
        data_docs=_href(gate.data_docs_path, docs_dir) if gate.data_docs_path else None,
        pages=_validation_pages(gate.data_docs_path, docs_dir),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
    write_text_atomically(docs_dir / "results.json", json.dumps(gate.results, indent=1, default=str))
    return write_text_atomically(docs_dir / "index.html", page)


def _href(path: Path, docs_dir: Path) -> str:
    return quote(os.path.relpath(path, docs_dir).replace(os.sep, "/"))


def _validation_pages(index: Path | None, docs_dir: Path) -> dict[str, str]:
    """schema.table -> href of its validation page in the Data Docs (suites are named
    after their table, so the page is validations/<schema>/<table>/<run>/<time>/...)."""
    if index is None:
        return {}
    pages: dict[str, str] = {}
    for page in sorted((index.parent / "validations").glob("*/*/*/*/*.html")):
        schema, table = page.relative_to(index.parent / "validations").parts[:2]
        pages[f"{schema}.{table}"] = _href(page, docs_dir)
    return pages
