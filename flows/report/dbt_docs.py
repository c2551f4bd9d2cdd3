"""The dbt docs page, made to work offline and copied beside the KPI report.

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

import re
from pathlib import Path

from flows.atomic import write_text_atomically

#: The broken favicon link of dbt-docs' static page, and what replaces it.
_FAVICON = re.compile(r"""<link rel="shortcut icon" href="\$\{require\([^"]*\)\}"\s*/?>""")
_EMPTY_ICON = '<link rel="icon" href="data:,">'
_ICON_USE = '<use xlink:href="{{ getIcon('
_ICON_USE_FIXED = '<use ng-attr-xlink:href="{{ getIcon('
_TRACKING_OFF = re.compile(r'"send_anonymous_usage_stats":\s*false')

#: Where the dbt docs go, relative to the report folder.
DBT_DOCS_DIR = "dbt-docs"


class DbtDocsError(RuntimeError):
    """The docs page would not work offline."""


def write_dbt_docs(static_page: Path, out_dir: Path) -> Path:
    """Copy dbt's static docs page to ``out_dir/index.html``, patched to work offline."""
    html = Path(static_page).read_text(encoding="utf-8")
    if not _TRACKING_OFF.search(html):
        raise DbtDocsError("the docs page would load dbt's usage tracker (usage stats are on)")
    html = _FAVICON.sub(_EMPTY_ICON, html, count=1).replace(_ICON_USE, _ICON_USE_FIXED)
    return write_text_atomically(Path(out_dir) / "index.html", html)
