"""Numbers and dates as an analyst reads them (registered as Jinja filters).

Rates as percentages with one decimal, money in USD with thousands separators, hours
and days with their unit. Values are only *formatted* here, never derived: the page
shows exactly the warehouse's numbers, rounded for reading. ASCII minus signs and
separators, so a number copied into a spreadsheet still parses.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from jinja2 import pass_context

from flows.report.catalogue import Unit

MISSING = "–"  # en dash: no value (denominator 0 or no row), distinct from zero


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """0.8639 → '86.4%' (signed: '+86.4%')."""
    if _missing(value):
        return MISSING
    return f"{float(value) * 100:{'+' if signed else ''},.{digits}f}%"


def usd(value: float | None, cents: bool = False, signed: bool = False) -> str:
    """1234567.8 → '$1,234,568'; cents: '$1.54'; signed: '+$3,461' / '-$110'."""
    if _missing(value):
        return MISSING
    v = float(value)
    digits = 2 if cents else 0
    if round(abs(v), digits) == 0:
        return f"${0:.{digits}f}"  # '$0', not '+$0' or '-$0'
    sign = "-" if v < 0 else ("+" if signed else "")
    return f"{sign}${abs(v):,.{digits}f}"


def usd_compact(value: float | None) -> str:
    """Axis labels: 1_250_000 → '$1.25M', 250_000 → '$250k'."""
    if _missing(value):
        return MISSING
    v = float(value)
    sign, v = ("-" if v < 0 else ""), abs(v)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= limit:
            return f"{sign}${_trim(v / limit)}{suffix}"
    return f"{sign}${_trim(v)}"


def _trim(v: float) -> str:
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def number(value: float | None, digits: int = 0) -> str:
    """1234.5 → '1,235' (digits=0) or '1,234.50' (digits=2)."""
    if _missing(value):
        return MISSING
    return f"{float(value):,.{digits}f}"


def hours(value: float | None, digits: int = 1) -> str:
    """1234.56 → '1,234.6 h'."""
    return MISSING if _missing(value) else f"{float(value):,.{digits}f} h"


def days(value: float | None) -> str:
    """3.2549 → '3.25 days'."""
    return MISSING if _missing(value) else f"{float(value):,.2f} days"


def per_hour(value: float | None) -> str:
    """1.966 → '1.97 units/h'."""
    return MISSING if _missing(value) else f"{float(value):,.2f} units/h"


def by_unit(value: float | None, unit: Unit) -> str:
    """A value in the unit of its KPI."""
    match unit:
        case "rate":
            return pct(value)
        case "usd":
            return usd(value)
        case "usd_signed":
            return usd(value, signed=True)
        case "usd_unit":
            return usd(value, cents=True)
        case "usd_order":
            return "" if _missing(value) else usd(value, cents=True) + "/order"
        case "per_200k_hours":
            return MISSING if _missing(value) else f"{float(value):,.2f} per 200k h"
        case "days":
            return days(value)
        case "hours":
            return hours(value)
        case "per_hour":
            return per_hour(value)
    return number(value, 2)


@pass_context
def kpi_value(ctx, value: float | None, kpi: str) -> str:
    """A KPI value in its unit (the page's ``catalogue``): 0.8639 of otif_rate → '86.4%'."""
    return by_unit(value, ctx["catalogue"](kpi).unit)


@pass_context
def kpi_target(ctx, target: float | None, kpi: str, direction: str | None) -> str:
    """'≥ 95.0%' for higher-is-better, '≤ 3.00 days' for lower-is-better."""
    if _missing(target):
        return "no target"
    sign = {"higher_is_better": "≥ ", "lower_is_better": "≤ "}.get(direction or "", "")
    return sign + by_unit(target, ctx["catalogue"](kpi).unit)


def axis_label(value: float, unit: Unit, step: float) -> str:
    """Tick label of a chart axis, with just the decimals the tick spacing needs."""
    if unit == "rate":
        return f"{value * 100:.{_step_digits(step * 100)}f}%"
    if unit in ("usd", "usd_signed"):
        return usd_compact(value)
    text = f"{abs(value):,.{_step_digits(step)}f}"
    sign = "-" if value < 0 and float(text.replace(",", "")) != 0 else ""
    return sign + ("$" if unit == "usd_unit" else "") + text


def _step_digits(step: float) -> int:
    """Decimals that spell every multiple of ``step`` exactly (0.25 → 2, 5 → 0)."""
    for digits in range(4):
        scaled = step * 10**digits
        if abs(scaled - round(scaled)) < 1e-6:
            return digits
    return 4


def day(value: date | None) -> str:
    """date(2026, 2, 23) → '23 Feb 2026'."""
    return MISSING if value is None else f"{value.day} {value:%b %Y}"


def day_short(value: date | None) -> str:
    """date(2026, 2, 23) → '23 Feb'."""
    return MISSING if value is None else f"{value.day} {value:%b}"


def week(week_start: date | None) -> str:
    """ISO week label: 'Week 9 · 23 Feb – 1 Mar 2026'."""
    if week_start is None:
        return MISSING
    end = week_start + timedelta(days=6)
    first = day_short(week_start) if week_start.year == end.year else day(week_start)
    return f"Week {week_start.isocalendar().week} · {first} – {day(end)}"


def month(month_start: date | None) -> str:
    """date(2026, 2, 1) → 'February 2026'."""
    return MISSING if month_start is None else f"{month_start:%B %Y}"


def timestamp(value: datetime | None) -> str:
    """An instant in UTC: '2026-11-21 11:57 UTC'."""
    if value is None:
        return MISSING
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return f"{value:%Y-%m-%d %H:%M} UTC"


def seconds(value: float | None) -> str:
    """Run durations: 14.2 → '14 s', 185 → '3 min 5 s'."""
    if _missing(value):
        return MISSING
    v = round(float(value))
    return f"{v} s" if v < 60 else f"{v // 60} min {v % 60} s"


FILTERS = {
    "pct": pct, "usd": usd, "usd_compact": usd_compact, "number": number, "hours": hours,
    "days": days, "kpi_value": kpi_value, "kpi_target": kpi_target, "day": day,
    "day_short": day_short, "week": week, "month": month, "timestamp": timestamp,
    "seconds": seconds,
}
