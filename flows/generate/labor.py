"""Timesheet entries, one site × month at a time.

Each employee follows a weekly pattern (full-time five days, some Tuesday–Saturday,
part-time three days, temporary staff often absent) from their hire date until the day
they leave. Some work
nights across midnight (and across DST changes: durations are kept as instants), some
do longer shifts (weekly overtime), a few shifts are split into two segments with
different activities, a few are corrected later (a second version), and one employee
per site also works Saturdays at the next site (two sites in one ISO week).
"""

from __future__ import annotations

import numpy as np

from flows.generate.batch import Arr, Batch
from flows.generate.feed import versions
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import DAY_US, US, codes
from flows.generate.world import ROLES, Site, World, allowed

MIN = 60
PART_TIME = 1
TEMPORARY = 2


def site_month(world: World, site: Site, k: int) -> Batch:
    rng = rng_for(world.seed, Stream.LABOR, site.index, k)
    e = world.employees
    days = world.chunk_days(k)
    month = world.month_days(k)
    staff = world.staff(site, int(month[0]), int(month[-1]))
    dow = (days + 3) % 7
    works = ((e["pattern"][staff][:, None] >> dow[None, :]) & 1) == 1
    works &= days[None, :] >= e["hire_day"][staff][:, None]
    works &= days[None, :] < e["leave_day"][staff][:, None]
    absence = np.where(e["type"][staff] == TEMPORARY, 0.2, 0.04)
    works &= rng.random(works.shape) >= absence[:, None]
    ei, di = np.nonzero(works)
    emp, day = staff[ei], days[di]
    n = emp.size
    kind = e["type"][emp]
    start = e["start_min"][emp] + rng.integers(-10, 16, n)
    with_secs = rng.random(n) < 0.5
    secs = rng.integers(0, 60, n) * with_secs
    dur = np.where(kind == PART_TIME, 300, 495) + rng.integers(-10, 11, n)
    dur += ((rng.random(n) < 0.15) & (kind != PART_TIME)) * rng.integers(60, 181, n)
    brk = np.where(dur >= 360, 30, np.where(rng.random(n) < 0.5, 15, 0))
    row_site = np.full(n, site.index)

    # floaters: a Saturday shift at the next site
    if len(world.sites) > 1:
        nxt = world.sites[(site.index + 1) % len(world.sites)]
        floaters = staff[e["floater"][staff]]
        sat = days[dow == 5]
        f_emp = np.repeat(floaters, sat.size)
        f_day = np.tile(sat, floaters.size)
        ok = f_day >= e["hire_day"][f_emp]
        f_emp, f_day = f_emp[ok], f_day[ok]
        m = f_emp.size
        emp = np.r_[emp, f_emp]
        day = np.r_[day, f_day]
        start = np.r_[start, 8 * 60 + rng.integers(-5, 6, m)]
        secs = np.r_[secs, np.zeros(m, np.int64)]
        dur = np.r_[dur, np.full(m, 360)]
        brk = np.r_[brk, np.full(m, 15)]
        row_site = np.r_[row_site, np.full(m, nxt.index)]
        n = emp.size
    zone = np.array([s.zone for s in world.sites])[row_site]
    clock_in = world.wall_to_utc(zone, day, start * MIN + secs)
    clock_out = clock_in + dur * MIN * US + rng.integers(0, 60, n) * (secs > 0) * US

    acts = allowed("timesheets", "activity")
    usual = np.array([acts.index(a) for _, a in ROLES])[e["role"][emp]]
    activity = np.where(rng.random(n) < 0.1, rng.integers(0, len(acts), n), usual)

    # split a few shifts into two segments (the break stays in the first)
    split = np.flatnonzero((rng.random(n) < 0.08) & (dur >= 300))
    mid = clock_in[split] + rng.integers(120, dur[split] - 119) * MIN * US
    seg_out = clock_out.copy()
    seg_out[split] = mid
    idx = np.r_[np.arange(n), split]
    c_in = np.r_[clock_in, mid]
    c_out = np.r_[seg_out, clock_out[split]]
    brk_all = np.r_[brk, np.zeros(split.size, np.int64)]
    act_all = np.r_[activity, rng.integers(0, len(acts), split.size)]
    total = idx.size
    order = np.lexsort((c_in, emp[idx]))  # entries numbered per employee and time
    idx, c_in, c_out, brk_all, act_all = (a[order] for a in (idx, c_in, c_out, brk_all, act_all))
    ids = codes(f"TS-{site.site_id}", (np.full(total, world.yymm(k)), 4),
                (np.arange(1, total + 1), 6))

    # versions: as clocked, and a few corrected clock-outs a day or two later
    upd = c_out + rng.integers(5 * MIN, 90 * MIN, total) * US
    fix = np.flatnonzero(rng.random(total) < 0.02)
    fixed_out = c_out[fix] + rng.integers(-30, 46, fix.size) * MIN * US
    fixed_upd = upd[fix] + rng.integers(1, 3, fix.size) * DAY_US
    v = np.r_[np.arange(total), fix]
    out = np.r_[c_out, fixed_out]
    updated = np.r_[upd, fixed_upd]
    activity_valid = rng.random(v.size) >= 0.03  # empty activity means 'other'
    act_v = act_all[v]
    activity_valid |= act_v != acts.index("other")
    return versions(world, "timesheets", zone[idx][v], rng, updated, {
        "entry_id": ids.take(v),
        "employee_id": Arr(emp[idx][v], None, 0, tuple(e["employee_id"].tolist())),
        "site_id": Arr(row_site[idx][v], None, 0, tuple(s.site_id for s in world.sites)),
        "clock_in": Arr(c_in[v]),
        "clock_out": Arr(out),
        "break_minutes": Arr(brk_all[v]),
        "activity": Arr(act_v, activity_valid, 0, acts),
        "updated_at": Arr(updated),
    })
