"""The Jinja environment of every page the report package writes."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from flows.report.formatting import FILTERS


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("flows.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env
