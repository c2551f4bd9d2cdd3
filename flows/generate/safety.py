"""Safety incidents of one site × month.

Drawn from ``rng_for(seed, SAFETY, site, month)`` over the whole calendar month, at
rates per ten employees on staff (near misses often, lost-time injuries rarely; the
first site's first month has one of each severity, so every run shows them all). An
incident happens during the shift of an employee of the site (near misses often name
nobody). A lost-time injury is first reported as recordable; once the employee is back
a second version gives the severity ``lost_time`` and the days lost. A few first-aid
cases are re-classified recordable days later. Other incidents have no days lost
(written as 0 or left empty: null = 0).
"""

from __future__ import annotations

import numpy as np

from flows.generate.batch import Arr, Batch
from flows.generate.feed import versions
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import DAY_US, US, codes
from flows.generate.world import Site, World, allowed

H = 3600
MIN = 60
#: Incidents per month per ten employees, by severity (near_miss, first_aid,
#: recordable, lost_time): far above a good site's record so a small sample shows them.
PER_TEN_EMPLOYEES = {"near_miss": 2.0, "first_aid": 0.9, "recordable": 0.35, "lost_time": 0.12}


def site_month(world: World, site: Site, k: int) -> Batch:
    rng = rng_for(world.seed, Stream.SAFETY, site.index, k)
    days = world.month_days(k)
    e = world.employees
    staff = world.staff(site, int(days[0]), int(days[-1]))
    severities = allowed("safety_incidents", "severity")
    rate = np.array([PER_TEN_EMPLOYEES[s] for s in severities])
    counts = rng.poisson(rate * staff.size / 10 * days.size / 30.4)
    if site.index == 0 and k == 0:
        counts = np.maximum(counts, 1)
    severity = np.repeat(np.arange(len(severities)), counts)
    n = severity.size
    day = rng.choice(days, n)
    emp = staff[rng.integers(0, staff.size, n)]
    occurred = world.wall_to_utc(site.zone, day,
                                 e["start_min"][emp] * MIN + rng.integers(0, 8 * H, n))
    named = (severity != severities.index("near_miss")) | (rng.random(n) < 0.6)
    lost_time = severity == severities.index("lost_time")
    days_lost = np.where(lost_time, 1 + rng.geometric(0.15, n), 0)
    reported = occurred + rng.integers(10 * MIN, 8 * H, n) * US
    back = occurred + (days_lost + rng.integers(1, 4, n)) * DAY_US  # days lost are known
    # a few first-aid cases turn out to need treatment beyond first aid
    escalated = (severity == severities.index("first_aid")) & (rng.random(n) < 0.15)
    reviewed = reported + rng.integers(1, 6, n) * DAY_US
    recordable = severities.index("recordable")
    later, review = np.flatnonzero(lost_time), np.flatnonzero(escalated)
    v = np.r_[np.arange(n), later, review]
    stage = np.repeat([0, 1, 2], [n, later.size, review.size])
    shown = np.select([(stage == 0) & lost_time[v], stage == 2], [recordable, recordable],
                      severity[v])
    upd = np.r_[reported, back[later], reviewed[review]]
    ids = codes(f"INC-{site.site_id}", (np.full(n, world.yymm(k)), 4), (np.arange(1, n + 1), 4))
    return versions(world, "safety_incidents", site.zone, rng, upd, {
        "incident_id": ids.take(v),
        "site_id": Arr(np.full(v.size, site.index), None, 0,
                       tuple(s.site_id for s in world.sites)),
        "occurred_at": Arr(occurred[v]),
        "severity": Arr(shown, None, 0, severities),
        "days_lost": Arr(np.where(stage == 1, days_lost[v], 0)),
        "employee_id": Arr(emp[v], named[v], 0, tuple(e["employee_id"].tolist())),
        "updated_at": Arr(upd),
    })
