"""The dbt project's documentation as one static page, linked from the report.

``dbt docs generate --static`` writes ``static_index.html``: the docs site with the
manifest and catalog embedded, which opens from disk without ``dbt docs serve``. It is
generated through dbt's Python API (``dbtRunner``) against the pipeline's database
(``OPSKPI_DBT_DATABASE``, read by ``dbt_project/profiles.yml``) and copied to
``<out_dir>/index.html``; the report links it as ``dbt-docs/index.html``.

Offline check (dbt-core 1.11 / dbt-docs bundled page, inspected and loaded in headless
Chromium with every request recorded, see tests/test_report_browser.py):

- no web font, stylesheet or script is fetched: fonts, icons and images are inlined
  (data: URIs) and the manifest/catalog are embedded;
- the page contains a Snowplow tracker that injects ``//d1fc8wv8zag5ca.cloudfront.net``
  only when the manifest says ``send_anonymous_usage_stats: true``; we always generate
  with usage stats off, and check the embedded manifest says so;
- two local-file bugs, not network requests, which we patch in the copy:
  its ``<link rel="shortcut icon">`` holds an unrendered template literal
  (``${require('./assets/favicons/favicon.ico')}``), replaced by an empty inline icon;
  and the sidebar's ``<use xlink:href="{{ getIcon(...) }}">`` makes the browser load
  the literal ``{{ getIcon(...) }}`` as a relative file before AngularJS interpolates
  it (hundreds of "Unsafe attempt to load URL file:///…%7B%7B getIcon…" console
  errors on a 40-model project); ``ng-attr-xlink:href`` sets it only once interpolated.

What degrades offline: nothing we found; the few links to docs.getdbt.com in the
page's help texts just don't open without a network.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from flows.atomic import write_text_atomically
from flows.build import dbt_environment
from flows.settings import get_settings

#: The broken favicon link of dbt-docs' static page, and what replaces it.
_FAVICON = re.compile(r"""<link rel="shortcut icon" href="\$\{require\([^"]*\)\}"\s*/?>""")
_EMPTY_ICON = '<link rel="icon" href="data:,">'
_ICON_USE = '<use xlink:href="{{ getIcon('
_ICON_USE_FIXED = '<use ng-attr-xlink:href="{{ getIcon('
_TRACKING_OFF = re.compile(r'"send_anonymous_usage_stats":\s*false')


class DbtDocsError(RuntimeError):
    """``dbt docs generate`` failed, or its page would not work offline."""


def generate_dbt_docs(
    database: Path,
    as_of: date,
    out_dir: Path,
    artifacts_dir: Path,
    project_dir: Path | None = None,
) -> Path:
    """Generate the dbt docs of ``database`` and write them to ``out_dir/index.html``.

    ``as_of`` is passed as the dbt var (models that read it compile as in the build);
    dbt's artifacts (manifest, catalog, the static page) go to
    ``<artifacts_dir>/docs-target``, its log to ``<artifacts_dir>/logs``, so nothing is
    written into the project folder. ``database`` is opened by dbt-duckdb to read its
    catalog (information schema); pass a database no other process is writing.
    Returns the path of the written page.
    """
    from dbt.cli.main import dbtRunner

    project = Path(project_dir or get_settings().dbt_project_dir).resolve()
    target = Path(artifacts_dir).resolve() / "docs-target"
    args = [
        "docs", "generate", "--static",
        "--project-dir", str(project),
        "--profiles-dir", str(project),
        "--vars", json.dumps({"as_of": as_of.isoformat()}),
        "--target-path", str(target),
        "--log-path", str(Path(artifacts_dir).resolve() / "logs"),
        "--no-send-anonymous-usage-stats",
    ]
    with _environment(dbt_environment(Path(database))):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise DbtDocsError(f"dbt docs generate failed: {result.exception or _failures(result)}")
    static = target / "static_index.html"
    if not static.is_file():
        raise DbtDocsError(f"dbt docs generate wrote no static page ({static})")
    html = static.read_text(encoding="utf-8")
    if not _TRACKING_OFF.search(html):
        raise DbtDocsError("the docs page would load dbt's usage tracker (usage stats are on)")
    html = _FAVICON.sub(_EMPTY_ICON, html, count=1).replace(_ICON_USE, _ICON_USE_FIXED)
    return write_text_atomically(Path(out_dir) / "index.html", html)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for one dbt invocation, then put the old ones back."""
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


def _failures(result) -> str:
    nodes = getattr(getattr(result, "result", None), "results", None) or []
    failed = [f"{r.node.name}: {r.message}" for r in nodes if str(r.status) in ("error", "fail")]
    return "; ".join(failed) or "see the dbt log"


__all__ = ["DbtDocsError", "generate_dbt_docs"]
