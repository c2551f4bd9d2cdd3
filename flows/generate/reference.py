"""Reference entities: sites, carriers, vendors, employees, pay rates, fx rates, budgets.

They are small (hundreds to a few thousand rows even at 50 sites × 3 years), so each is
built in one piece. Each also yields its later *versions* (vendor terms, employee role
changes and hires, pay raises, budget revisions) grouped by the file they belong to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from flows.contract import ENTITY_BY_NAME
from flows.generate.batch import Arr, Batch, build, text_array
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import DAY_US, US, civil
from flows.generate.vectors import noise
from flows.generate.world import BASE_USD_PER_UNIT, CATEGORIES, EPOCH, ROLES, World, allowed


@dataclass(frozen=True)
class Slot:
    """Which file of an entity rows go to: ``base`` (one file), ``month`` k, ``year``
    (calendar year), ``revision`` of a year, or ``correction`` of month k."""

    kind: str
    value: int = 0


BASE = Slot("base")


def _text(values) -> pa.Array:
    return text_array([str(v) for v in values])


def _cats(values: np.ndarray, cats: tuple[str, ...], valid: np.ndarray | None = None) -> Arr:
    return Arr(np.asarray(values, np.int64), valid, 0, cats)


def _site_ids(world: World, idx: np.ndarray) -> Arr:
    return _cats(idx, tuple(s.site_id for s in world.sites))


def sites(world: World) -> Iterator[tuple[Slot, Batch]]:
    rng = rng_for(world.seed, Stream.SITES)
    n = len(world.sites)
    cols = {
        "site_id": _site_ids(world, np.arange(n)),
        "site_name": _text(s.name for s in world.sites),
        "region": _text(s.region for s in world.sites),
        "country": _text(s.country for s in world.sites),
        "timezone": _text(s.timezone for s in world.sites),
    }
    zone = np.array([s.zone for s in world.sites])
    yield BASE, build(ENTITY_BY_NAME["sites"], cols, zone, noise(rng, n))


def carriers(world: World) -> Iterator[tuple[Slot, Batch]]:
    rng = rng_for(world.seed, Stream.CARRIERS, 1)
    c = world.carriers
    n = c["carrier_id"].shape[0]
    cols = {
        "carrier_id": _text(c["carrier_id"]),
        "carrier_name": _text(c["carrier_name"]),
        "mode": _cats(c["mode"], allowed("carriers", "mode")),
        "on_time_target": Arr(c["on_time_target"], c["target_known"], 2),
    }
    yield BASE, build(ENTITY_BY_NAME["carriers"], cols, world.utc_zone, noise(rng, n))


def _instants(world: World, rng: np.random.Generator, days: np.ndarray,
              lo_h: float = 7, hi_h: float = 19) -> np.ndarray:
    """UTC instants at a random business hour of each day (for entities read in UTC)."""
    secs = rng.integers(int(lo_h * 3600), int(hi_h * 3600), days.shape[0])
    return days * DAY_US + secs * US


def vendors(world: World) -> Iterator[tuple[Slot, Batch]]:
    v = world.vendors
    n = v["vendor_id"].shape[0]
    rng = rng_for(world.seed, Stream.VENDORS, 1)
    entity = ENTITY_BY_NAME["vendors"]
    cats = tuple(c[0] for c in CATEGORIES)

    def rows(idx: np.ndarray, terms: np.ndarray, updated: np.ndarray,
             r: np.random.Generator) -> Batch:
        cols = {
            "vendor_id": _text(v["vendor_id"][idx]),
            "vendor_name": _text(v["vendor_name"][idx]),
            "category": _cats(v["category"][idx], cats),
            "country": _text(v["country"][idx]),
            "payment_terms_days": Arr(terms.astype(np.int64)),
            "updated_at": Arr(updated),
        }
        return build(entity, cols, world.utc_zone, noise(r, idx.shape[0]))

    base_days = world.start_day - rng.integers(20, 400, n)
    yield BASE, rows(np.arange(n), v["terms"], _instants(world, rng, base_days), rng)
    for k in range(world.n_months):
        r = rng_for(world.seed, Stream.VENDORS, 100 + k)
        days = world.chunk_days(k)
        pick = np.flatnonzero(r.random(n) < 0.08)
        if k == 0 and pick.size == 0:
            pick = np.array([0])
        if pick.size == 0 or days.size == 0:
            continue
        terms = r.choice(np.array([15, 30, 45, 60, 90]), pick.size)
        when = _instants(world, r, r.choice(days, pick.size))
        yield Slot("month", k), rows(pick, terms, when, r)


def employees(world: World) -> Iterator[tuple[Slot, Batch]]:
    e = world.employees
    rng = rng_for(world.seed, Stream.EMPLOYEES, 10_000)
    entity = ENTITY_BY_NAME["employees"]
    roles = tuple(sorted({r for r, _ in ROLES}))
    role_code = np.array([roles.index(ROLES[r][0]) for r in e["role"]], dtype=np.int64)
    site_ids = tuple(s.site_id for s in world.sites)
    types = allowed("employees", "employment_type")

    def rows(idx: np.ndarray, role: np.ndarray, updated: np.ndarray,
             r: np.random.Generator) -> Batch:
        cols = {
            "employee_id": _text(e["employee_id"][idx]),
            "home_site_id": _cats(e["site"][idx], site_ids),
            "role": _cats(role, roles),
            "employment_type": _cats(e["type"][idx], types),
            "hire_date": Arr(e["hire_day"][idx].astype(np.int64)),
            "updated_at": Arr(updated),
        }
        return build(entity, cols, world.utc_zone, noise(r, idx.shape[0]))

    before = np.flatnonzero(e["hire_day"] < world.start_day)
    updated = _instants(world, rng, e["hire_day"][before] - rng.integers(1, 10, before.size))
    yield BASE, rows(before, role_code[before], updated, rng)
    hire_month = world.month_index(e["hire_day"])
    for k in range(world.n_months):
        r = rng_for(world.seed, Stream.EMPLOYEES, 20_000 + k)
        days = world.chunk_days(k)
        if days.size == 0:
            continue
        hires = np.flatnonzero((e["hire_day"] >= world.start_day) & (hire_month == k)
                               & (e["hire_day"] < world.end_day))
        hire_upd = np.maximum(e["hire_day"][hires] - r.integers(0, 4, hires.size), days[0])
        staff = np.flatnonzero((e["hire_day"] < days[0]) & (e["leave_day"] > days[0]))
        change = staff[r.random(staff.size) < 0.03]
        if k == 0 and hires.size + change.size == 0 and staff.size:
            change = staff[:1]
        new_role = (role_code[change] + 1 + r.integers(0, len(roles) - 1, change.size)) % len(roles)
        idx = np.concatenate([hires, change])
        if idx.size == 0:
            continue
        upd_days = np.concatenate([hire_upd, r.choice(days, change.size)])
        yield Slot("month", k), rows(idx, np.concatenate([role_code[hires], new_role]),
                                     _instants(world, r, upd_days), r)


def pay_rates(world: World) -> Iterator[tuple[Slot, Batch]]:
    """Initial rates (one file) and effective-dated changes: hires and yearly raises on
    the 15th of each employee's review month (one monthly file per month)."""
    e = world.employees
    rng = rng_for(world.seed, Stream.PAY_RATES)
    entity = ENTITY_BY_NAME["pay_rates"]
    site_currency = np.array([world.currencies.index(s.currency) for s in world.sites])
    currency = site_currency[e["site"]]

    def rows(idx: np.ndarray, eff: np.ndarray, rate: np.ndarray, r) -> Batch:
        cols = {
            "employee_id": _text(e["employee_id"][idx]),
            "effective_from": Arr(eff.astype(np.int64)),
            "hourly_rate": Arr(rate.astype(np.int64), None, 2),
            "currency": _cats(currency[idx], world.currencies),
        }
        return build(entity, cols, world.utc_zone, noise(r, idx.shape[0]))

    before = np.flatnonzero(e["hire_day"] < world.start_day)
    eff = np.maximum(e["hire_day"][before], world.start_day - rng.integers(30, 300, before.size))
    yield BASE, rows(before, eff, e["rate"][before], rng)

    # raise events: (employee, effective day, new rate) in effective-date order
    events: list[tuple[int, int, int]] = []
    years = range(world.start.year, world.start.year + world.days // 365 + 2)
    for i in range(e["employee_id"].shape[0]):
        r = rng_for(world.seed, Stream.PAY_RATES, 1 + i)
        rate = int(e["rate"][i])
        for y in years:
            day = (date(y, int(e["review_month"][i]), 15) - EPOCH).days
            if day <= e["hire_day"][i] + 60 or day <= world.start_day - 300:
                continue
            rate = round(rate * (1 + r.uniform(0.02, 0.06)))
            if world.start_day < day < min(world.end_day, int(e["leave_day"][i])):
                events.append((i, day, rate))
    hires = np.flatnonzero((e["hire_day"] >= world.start_day) & (e["hire_day"] < world.end_day))
    events += [(int(i), int(e["hire_day"][i]), int(e["rate"][i])) for i in hires]
    if not events:
        return
    ev = np.array(sorted(events, key=lambda t: (t[1], t[0])), dtype=np.int64)
    month = world.month_index(ev[:, 1])
    for k in range(world.n_months):
        sel = np.flatnonzero(month == k)
        if sel.size:
            r = rng_for(world.seed, Stream.PAY_RATES, 1_000_000 + k)
            yield Slot("month", k), rows(ev[sel, 0], ev[sel, 1], ev[sel, 2], r)


def fx_rates(world: World) -> Iterator[tuple[Slot, Batch]]:
    """Weekday rates (no weekends, no 1 Jan / 25 Dec), from three weeks before the first
    month so month-start conversions find an earlier rate; USD has no rows."""
    first = world.month_first_day(0) - 20
    days = np.arange(first, world.end_day, dtype=np.int64)
    _, m, d = civil(days)
    weekday = (days + 3) % 7  # 0 = Monday
    keep = (weekday < 5) & ~((m == 1) & (d == 1)) & ~((m == 12) & (d == 25))
    days = days[keep]
    codes = [c for c in world.currencies if c != "USD"]
    all_codes = list(BASE_USD_PER_UNIT)
    walks = []
    for c in codes:
        r = rng_for(world.seed, Stream.FX_RATES, all_codes.index(c), first)
        walks.append(BASE_USD_PER_UNIT[c] * np.exp(np.cumsum(r.normal(0, 0.004, days.size))))
    rate = np.stack(walks, axis=1)  # (days, currencies)
    scaled = np.maximum(np.round(rate * 1e8).astype(np.int64), 1)
    day_col = np.repeat(days, len(codes))
    cur_col = np.tile(np.array([world.currencies.index(c) for c in codes]), days.size)
    year, _, _ = civil(day_col)
    rng = rng_for(world.seed, Stream.FX_RATES, 999)
    entity = ENTITY_BY_NAME["fx_rates"]
    for y in np.unique(year).tolist():
        sel = np.flatnonzero(year == y)
        cols = {
            "rate_date": Arr(day_col[sel]),
            "currency": _cats(cur_col[sel], world.currencies),
            "usd_per_unit": Arr(scaled.reshape(-1)[sel], None, 8),
        }
        yield Slot("year", y), build(entity, cols, world.utc_zone, noise(rng, sel.size))


def budgets(world: World) -> Iterator[tuple[Slot, Batch]]:
    """Budget per site × category × month in the site's currency: one workbook per
    calendar year the run touches, with all twelve months (a budget is planned for the
    year ahead), plus a revision file per year (a few keys re-stated, month written as
    a date). Each (site, year) draws from its own stream, so the files of a year never
    depend on how far into it the run goes."""
    entity = ENTITY_BY_NAME["budgets"]
    cats = tuple(c[0] for c in CATEGORIES)
    vol = world.volumes
    lines_per_month = vol.pos_per_day * 22 * 1.9 / len(CATEGORIES)
    monthly_usd = np.array([lines_per_month * price * qty
                            + (vol.non_po_invoices_per_month / 4 * price * 3 if non_po else 0)
                            for _, price, qty, non_po in CATEGORIES])
    last_year = world.start.year + (world.n_months - 1 + world.start.month - 1) // 12
    site_cur = np.array([world.currencies.index(s.currency) for s in world.sites])
    zone_of = np.array([s.zone for s in world.sites])
    for y in range(world.start.year, last_year + 1):
        month_day = np.array([(date(y, m, 1) - EPOCH).days for m in range(1, 13)])
        rows = []
        for s in world.sites:
            r = rng_for(world.seed, Stream.BUDGETS, s.index, y)
            local = monthly_usd / world.fx_base(s.currency)
            amount = local[None, :] * r.uniform(0.85, 1.2, (12, len(cats)))
            amount = np.round(amount / 100) * 100 * 100  # whole hundreds, scaled by 100
            has = np.ones((12, len(cats)), bool)
            if s.index % 2 == 1:
                has[:, cats.index("utilities")] = False  # spend without a budget
            if s.index == 0 and y == world.start.year:
                amount[world.start.month - 1, cats.index("safety")] = 0  # variance_pct null
            for mi, ci in zip(*np.nonzero(has), strict=True):
                rows.append((s.index, int(ci), int(month_day[mi]), int(amount[mi, ci])))
        arr = np.array(rows, dtype=np.int64)
        rng = rng_for(world.seed, Stream.BUDGETS, 10_000, y)
        revise = rng.random(arr.shape[0]) < 0.06
        factor = rng.uniform(0.9, 1.25, arr.shape[0])

        def batch(sel: np.ndarray, amount: np.ndarray, day_shift: int,
                  arr: np.ndarray = arr, rng: np.random.Generator = rng) -> Batch:
            cols = {
                "site_id": _site_ids(world, arr[sel, 0]),
                "category": _cats(arr[sel, 1], cats),
                "month": Arr(arr[sel, 2] + day_shift),
                "budget_amount": Arr(amount, None, 2),
                "currency": _cats(site_cur[arr[sel, 0]], world.currencies),
            }
            return build(entity, cols, zone_of[arr[sel, 0]], noise(rng, sel.size))

        every = np.arange(arr.shape[0])
        yield Slot("year", y), batch(every, arr[:, 3], 0)
        rev = every[revise]
        if rev.size:
            new = (np.round(arr[rev, 3] * factor[rev] / 10000) * 10000).astype(np.int64)
            yield Slot("revision", y), batch(rev, new, 14)
