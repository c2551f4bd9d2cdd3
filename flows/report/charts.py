"""Weekly trend charts as inline SVG geometry (drawn by the ``charts.html.j2`` macros).

Why SVG generated here rather than a JavaScript charting library: the report must open
from disk, offline, in any browser, and e-mail well; SVG needs no script, no bundle to
vendor and license, and prints sharply. This module only places the warehouse's values
on a canvas (pixels, ticks, the target line); it computes no KPI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from flows.report.catalogue import KpiInfo
from flows.report.formatting import axis_label, by_unit, day_short

#: Okabe-Ito palette (distinguishable with colour-vision deficiencies); 'All sites' is ink.
ALL_COLOR = "#1f2937"
SITE_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str  # tooltip: site, week, formatted value


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    width: float
    paths: list[str]  # one SVG path per run of consecutive weeks with a value
    points: list[Point]


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class LineChart:
    """Everything the SVG macro needs, in pixels."""

    title: str
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    target: Tick | None  # y position and label of the target line
    partial: tuple[float, float] | None  # x range of the week to date
    zero: float | None  # y of the zero line when the range spans zero
    description: str


def site_colors(site_ids: Sequence[str]) -> dict[str, str]:
    """One colour per site, stable for the whole page (charts and legend agree)."""
    palette = iter(SITE_COLORS * (len(site_ids) // len(SITE_COLORS) + 1))
    return {sid: ALL_COLOR if sid == "ALL" else next(palette) for sid in site_ids}


def nice_ticks(lo: float, hi: float, count: int = 4) -> tuple[float, float, float]:
    """A rounded axis range and step (1, 2, 2.5 or 5 × 10^n) covering [lo, hi]."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw - 1e-12)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step


def weekly_chart(
    info: KpiInfo,
    weeks: Sequence[date],
    series: Sequence[tuple[str, str, Mapping[date, float | None]]],
    target: float | None,
    partial_week: date | None,
    colors: Mapping[str, str],
    width: int = 400,
    height: int = 220,
) -> LineChart:
    """A line per series (label, site_id, {week: value}); 'ALL' is drawn bold, on top.

    ``partial_week`` (the week containing as_of, when incomplete) is shaded: its value
    covers only the days to date.
    """
    left, right, top, bottom = 58.0, width - 12.0, 12.0, height - 26.0
    values = [v for _, _, s in series for v in s.values() if v is not None and math.isfinite(v)]
    lo = min(values + ([target] if target is not None else []), default=0.0)
    hi = max(values + ([target] if target is not None else []), default=1.0)
    if info.is_total:  # a sum reads against zero; a rate reads better zoomed in
        lo = min(lo, 0.0)
    y0, y1, step = nice_ticks(lo, hi)
    if info.unit == "rate" and y1 > 1 >= hi:
        y1 = 1.0

    def sy(v: float) -> float:
        return bottom - (v - y0) / (y1 - y0) * (bottom - top)

    n = len(weeks)
    slot = (right - left) / max(n, 1)

    def sx(i: int) -> float:
        return left + slot * (i + 0.5)

    index = {w: i for i, w in enumerate(weeks)}
    lines: list[Line] = []
    ordered = sorted(series, key=lambda s: s[1] == "ALL")  # sites first, 'All sites' on top
    for label, site_id, points in ordered:
        runs: list[list[tuple[float, float]]] = []
        marks: list[Point] = []
        previous = None
        for week in weeks:
            v = points.get(week)
            if v is None or not math.isfinite(v):
                previous = None
                continue
            i = index[week]
            xy = (round(sx(i), 1), round(sy(v), 1))
            if previous is None or previous != i - 1:
                runs.append([])
            runs[-1].append(xy)
            previous = i
            note = " (week to date)" if week == partial_week else ""
            marks.append(Point(*xy, f"{label} · week of {day_short(week)}{note}: {by_unit(v, info.unit)}"))
        paths = ["M" + " L".join(f"{x},{y}" for x, y in run) for run in runs]
        lines.append(Line(label, colors[site_id], 2.6 if site_id == "ALL" else 1.5, paths, marks))

    every = max(1, math.ceil(n / 6))
    x_ticks = [Tick(round(sx(i), 1), day_short(w)) for i, w in enumerate(weeks) if (n - 1 - i) % every == 0]
    count = round((y1 - y0) / step)
    y_ticks = [Tick(round(sy(y0 + k * step), 1), axis_label(y0 + k * step, info.unit, step))
               for k in range(count + 1)]
    partial = None
    if partial_week is not None and partial_week in index:
        i = index[partial_week]
        partial = (round(sx(i) - slot / 2, 1), round(slot, 1))
    target_tick = None
    if target is not None and y0 <= target <= y1:
        target_tick = Tick(round(sy(target), 1), f"target {by_unit(target, info.unit)}")
    zero = round(sy(0.0), 1) if y0 < 0 < y1 else None
    return LineChart(
        title=info.label, width=width, height=height, left=left, top=top, right=right,
        bottom=bottom, x_ticks=x_ticks, y_ticks=y_ticks, lines=lines, target=target_tick,
        partial=partial, zero=zero,
        description=f"{info.label} per ISO week, {len(weeks)} weeks, by site",
    )
