"""GE's Data Docs of a gate run, made to work offline.

GE 1.24's Data Docs load Bootstrap, jQuery, Font Awesome, Vega ... from CDNs and its logo
from S3. :func:`make_data_docs_offline` copies the vendored files of ``flows/report/static/gx/``
(see its README) into the site and points every page at them by relative paths, so the
site works offline and can be copied anywhere.

It also makes the site agree with the gate and link back: GE marks a table "Failed" as
soon as one expectation fails, whatever its severity; a table whose failures are all
warnings (the gate published it) is shown as "Passed with a warning", with a warning icon,
on its validation page and in the index; and every page gets a bar linking to the gate's
page (the folder above the site), the KPI report and the dbt docs beside it.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

_GX_STATIC = Path(__file__).resolve().parent / "static" / "gx"
_VENDOR = "static/vendor"  # where a site gets its copy of flows/report/static/gx

# Every URL that GE 1.24's Data Docs pages load, and its vendored copy (flows/report/static/gx/README.md).
_CDN_ASSETS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap-4.3.1/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap-4.3.1/dist/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table-1.19.1/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        "bootstrap-table-1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        "bootstrap-table-1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        "bootstrap-table-1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker-1.9.0/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker-1.9.0/dist/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark-1.1.0/dist/css/bootstrap-prefers-dark.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome-free-6.6.0/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js-1.12.9/dist/umd/popper.min.js",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/build/vega-embed.min.js",
}
# GE's logo comes from its S3 bucket (with a timestamp and the context id in the query
# string); the same image ships in GE's package, which copies it into every site.
_GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_LOGO = "static/images/logo-long.png"

_REMOTE = re.compile(r"^(?:https?:)?//", re.I)
# <script src=...></script> (GE's have no body), <link>, <img>
_LOADING_TAG = re.compile(r"<script\b[^>]*>\s*</script>|<(?:link|img)\b[^>]*>", re.I)
_SRC_OR_HREF = re.compile(r'\b(src|href)="([^"]*)"', re.I)
_SRI_ATTRS = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"', re.I)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)""", re.I)
_EXTERNAL_LINK = re.compile(r"""<a\b[^>]*\bhref=["'](?:https?:)?//[^>]*>(.*?)</a>""", re.I | re.S)
_NEWSLETTER_FOOTER = re.compile(r"<footer>(?:(?!</footer>).)*?newsletter.*?</footer>\s*", re.I | re.S)



def make_data_docs_offline(site: Path, failed_severity: dict[str, str] | None = None) -> None:
    """Make a built Data Docs site self-contained: copy the vendored assets into
    ``site/static/vendor/``, rewrite every page to load them (and GE's packaged logo) by
    relative paths, drop links to the web, and delete GE's static files no page uses.

    ``failed_severity``: per table (schema.table) with a failed check, the worst severity
    of its failures (``error`` or ``warning``); warning-only tables are relabelled.
    """
    shutil.copytree(_GX_STATIC, site / _VENDOR, dirs_exist_ok=True)
    warned = {t for t, sev in (failed_severity or {}).items() if sev == "warning"}
    used: set[Path] = set()
    for page in sorted(site.rglob("*.html")):
        text = _offline_page(page.read_text(encoding="utf-8"), page, site, used)
        text = _severity_as_gate(text, page, site, warned)
        page.write_text(_with_navigation(text, page, site), encoding="utf-8")
    vendor = (site / _VENDOR).resolve()
    for path in sorted((site / "static").rglob("*"), reverse=True):  # files before their folders
        resolved = path.resolve()
        if resolved == vendor or vendor in resolved.parents:
            continue
        if path.is_file() and resolved not in used:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _offline_page(text: str, page: Path, site: Path, used: set[Path]) -> str:
    """One page of the site, loading nothing from the network. ``used`` collects the
    local files it loads."""

    def relative(target: str) -> str:
        used.add((site / target).resolve())
        return quote(os.path.relpath(site / target, page.parent).replace(os.sep, "/"))

    def local(url: str) -> str | None:
        """The local replacement of a loaded URL (None: drop what loads it)."""
        if url in _CDN_ASSETS:
            return relative(f"{_VENDOR}/{_CDN_ASSETS[url]}")
        if url.startswith(_GX_WEB_ASSETS) and "logo" in url:
            return relative(_LOGO)
        if _REMOTE.match(url):
            logger.warning("Data Docs: dropped %s from %s (not vendored)", url, page.name)
            return None
        path, sep, rest = url.partition("static/")
        if sep and not path.strip("./"):  # ../../static/...: GE miscounts the ../ of some pages
            return relative("static/" + rest.split("?")[0].split("#")[0])
        return url

    def tag(match: re.Match) -> str:
        element = match.group(0)
        attr = _SRC_OR_HREF.search(element)
        if not attr:
            return element
        url = html.unescape(attr.group(2))
        new = local(url)
        if new is None:
            return ""
        if new == url:
            return element
        element = element[:attr.start(2)] + html.escape(new) + element[attr.end(2):]
        return _SRI_ATTRS.sub("", element)  # a file:// page cannot make the CORS request SRI needs

    def css_url(match: re.Match) -> str:
        url = html.unescape(match.group(2))
        if not _REMOTE.match(url):
            return match.group(0)
        new = local(url)
        return f"url('{new}')" if new else "none"

    text = _NEWSLETTER_FOOTER.sub("", text)
    text = _LOADING_TAG.sub(tag, text)
    text = _CSS_URL.sub(css_url, text)
    return _EXTERNAL_LINK.sub(r"\1", text)  # "Data Docs autogenerated using Great Expectations."



_FAILED_STATUS = '<i class="fas fa-times text-danger" aria-hidden="true"></i> Failed'
_WARNED_STATUS = ('<i class="fas fa-exclamation-triangle text-warning" aria-hidden="true"></i> '
                  "Passed with a warning")
_INDEX_ROW = re.compile(r"\{'validation_success':.*?'asset_name': '([^']*)'\}", re.S)


def _severity_as_gate(text: str, page: Path, site: Path, warned: set[str]) -> str:
    """A table whose failed checks are all warnings: 'Passed with a warning', not 'Failed'."""
    if not warned:
        return text
    rel = page.relative_to(site).parts
    if rel[0] == "validations" and len(rel) >= 3 and f"{rel[1]}.{rel[2]}" in warned:
        text = text.replace(_FAILED_STATUS, _WARNED_STATUS)
        return text.replace("fas fa-times text-danger", "fas fa-exclamation-triangle text-warning")

    def row(match: re.Match) -> str:
        if match.group(1) not in warned:
            return match.group(0)
        return (match.group(0)
                .replace("fas fa-times text-danger ge-failed-icon",
                         "fas fa-exclamation-triangle text-warning ge-warning-icon")
                .replace("'_validation_success_text': 'Failed'",
                         "'_validation_success_text': 'Passed with a warning'"))

    return _INDEX_ROW.sub(row, text) if page.name == "index.html" and len(rel) == 1 else text


def _with_navigation(text: str, page: Path, site: Path) -> str:
    """A bar at the top of the page: the gate's page of this run (the folder holding the
    site), and the KPI report and dbt docs of the report folder it is published in."""
    up = os.path.relpath(site.parent, page.parent).replace(os.sep, "/")
    bar = (f'<nav class="opskpi-nav" style="padding:6px 16px;background:#102a43;font:14px sans-serif">'
           f'<a style="color:#fff;margin-right:18px" href="{quote(up)}/index.html">&larr; Quality gate</a>'
           f'<a style="color:#cbd5e1;margin-right:18px" href="{quote(up)}/../index.html">KPI report</a>'
           f'<a style="color:#cbd5e1" href="{quote(up)}/../dbt-docs/index.html">dbt docs</a></nav>')
    return re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + bar, text, count=1)
