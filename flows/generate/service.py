"""Customer-service and operations tickets of one site × month.

Drawn from ``rng_for(seed, SERVICE, site, month)`` over the whole calendar month. Every
priority; urgent tickets around the clock, the others in office hours. Against the
default service levels (urgent 1 h response / 8 h resolution, high 4 / 24, normal 8 / 72,
low 24 / 168, elapsed hours) most are answered and resolved in time, some late, some
exactly at the deadline (to the microsecond; at least the month's first ticket of each
priority), some never answered, some cancelled, some still open. Around every clock
change of the site's zone a few tickets are opened so that their deadlines fall on the
other side of it (one in the hour after the change: when clocks go back, the second
occurrence of a repeated wall-clock hour). Versions: opened, answered (pending),
resolved, closed or cancelled, each in the file of its update month.
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
#: Default service levels of kpis.md: priority → (first response, resolution) hours.
SLA_HOURS = {"urgent": (1, 8), "high": (4, 24), "normal": (8, 72), "low": (24, 168)}
CATEGORIES = ("delivery", "damage", "billing", "returns", "inventory", "system", "other")
#: How a ticket meets its levels.
NEVER, EXACT, LATE, IN_TIME = 0, 1, 2, 3  # response
CANCELLED, UNRESOLVED = 4, 5  # resolution (with EXACT, LATE, IN_TIME)
#: Tickets opened around a clock change: (priority, opened relative to it, response,
#: resolution): due instants on the other side of the change.
AROUND_DST = (
    ("normal", -3 * H, EXACT, EXACT),
    ("urgent", -30 * MIN, EXACT, EXACT),
    ("high", 30 * MIN, IN_TIME, LATE),
    ("low", -12 * H, LATE, EXACT),
)


def clock_changes(world: World, site: Site, days: np.ndarray) -> np.ndarray:
    """Instants (µs) where the site's UTC offset changes during ``days`` (±1 day); the
    zones used change on whole UTC hours."""
    grid = np.arange((int(days[0]) - 1) * DAY_US, (int(days[-1]) + 2) * DAY_US, H * US)
    offset = world.zones.offset_s(site.zone, grid)
    return grid[1:][np.diff(offset) != 0]


def site_month(world: World, site: Site, k: int) -> Batch:
    rng = rng_for(world.seed, Stream.SERVICE, site.index, k)
    days = world.month_days(k)
    z = site.zone
    prios = allowed("service_tickets", "priority")
    dow = (days + 3) % 7
    day = np.repeat(days, rng.poisson(world.volumes.tickets_per_day * np.where(dow < 5, 1, .35)))
    n = day.size
    prio = rng.choice(len(prios), n, p=[0.2, 0.55, 0.2, 0.05])
    around_the_clock = prio == prios.index("urgent")
    secs = np.where(around_the_clock, rng.integers(0, 24 * H, n), rng.integers(7 * H, 20 * H, n))
    opened = world.wall_to_utc(z, day, secs)
    u = rng.random(n)
    response = np.select([u < 0.06, u < 0.10, u < 0.22], [NEVER, EXACT, LATE], IN_TIME)
    u = rng.random(n)
    resolution = np.select([u < 0.04, u < 0.09, u < 0.13, u < 0.28],
                           [CANCELLED, UNRESOLVED, EXACT, LATE], IN_TIME)
    resolution = np.where((response == NEVER) & (rng.random(n) < 0.5), UNRESOLVED, resolution)
    # the month's first ticket of each priority is answered and resolved on the deadline
    _, first = np.unique(prio, return_index=True)
    response[first], resolution[first] = EXACT, EXACT

    changes = clock_changes(world, site, days)
    if changes.size:
        cases = len(AROUND_DST)
        at = np.repeat(changes, cases)
        opened = np.r_[opened, at + np.tile([c[1] for c in AROUND_DST], changes.size) * US]
        prio = np.r_[prio, np.tile([prios.index(c[0]) for c in AROUND_DST], changes.size)]
        response = np.r_[response, np.tile([c[2] for c in AROUND_DST], changes.size)]
        resolution = np.r_[resolution, np.tile([c[3] for c in AROUND_DST], changes.size)]
        n = opened.size
    local = world.zones.local_day(z, opened)
    keep = np.flatnonzero((local >= days[0]) & (local <= days[-1]))
    opened, prio, response, resolution = (a[keep] for a in (opened, prio, response, resolution))
    n = keep.size

    # --- when it is answered and resolved (elapsed seconds after opening) ----------------
    resp_s = np.array([SLA_HOURS[p][0] for p in prios])[prio] * H
    res_s = np.array([SLA_HOURS[p][1] for p in prios])[prio] * H
    answered_after = np.select(
        [response == EXACT, response == LATE],
        [resp_s, np.round(resp_s * rng.uniform(1.05, 3.0, n))],
        np.round(resp_s * rng.uniform(0.05, 0.95, n))).astype(np.int64)
    answered = response != NEVER
    in_time = np.maximum(np.round(res_s * rng.uniform(0.1, 0.95, n)),
                         np.where(answered, answered_after + 10 * MIN, 0))
    resolved_after = np.select(
        [resolution == EXACT, resolution == LATE],
        [res_s, np.round(res_s * rng.uniform(1.05, 2.5, n))], in_time).astype(np.int64)
    resolves = (resolution == EXACT) | (resolution == LATE) | (resolution == IN_TIME)
    cancelled = resolution == CANCELLED
    first_response = opened + answered_after * US
    resolved = opened + resolved_after * US
    cancel_at = opened + np.round(res_s * rng.uniform(0.05, 1.0, n)).astype(np.int64) * US
    answered &= ~cancelled | (first_response < cancel_at)

    # --- versions: opened, answered, resolved, closed / cancelled ------------------------
    st = {s: i for i, s in enumerate(allowed("service_tickets", "status"))}
    lag = rng.integers(0, 5 * MIN, (3, n)) * US
    v_open = opened + rng.integers(1 * MIN, 10 * MIN, n) * US
    v_answer = np.maximum(first_response + lag[0], v_open + MIN * US)
    last = np.where(answered, v_answer, v_open)
    v_resolve = np.maximum(resolved + lag[1] * 6, last + MIN * US)
    v_close = v_resolve + rng.integers(1 * DAY_US, 7 * DAY_US, n)
    v_cancel = np.maximum(cancel_at + lag[2], last + MIN * US)
    closes = resolves & (rng.random(n) < 0.7)
    answered_idx, resolve_idx = np.flatnonzero(answered), np.flatnonzero(resolves)
    close_idx, cancel_idx = np.flatnonzero(closes), np.flatnonzero(cancelled)
    v = np.r_[np.arange(n), answered_idx, resolve_idx, close_idx, cancel_idx]
    stage = np.repeat(np.arange(5), [n, answered_idx.size, resolve_idx.size, close_idx.size,
                                     cancel_idx.size])
    pending = rng.random(n) < 0.6
    status = np.select(
        [stage == 0, stage == 1, stage == 2, stage == 3],
        [st["open"], np.where(pending[v], st["pending"], st["open"]), st["resolved"],
         st["closed"]], st["cancelled"])
    upd = np.r_[v_open, v_answer[answered_idx], v_resolve[resolve_idx], v_close[close_idx],
                v_cancel[cancel_idx]]
    ids = codes(f"TK-{site.site_id}", (np.full(n, world.yymm(k)), 4), (np.arange(1, n + 1), 5))
    customer = codes("CU", (site.index * 10_000 + rng.integers(1, 800, n), 7),
                     valid=rng.random(n) >= 0.15)  # operations tickets have no customer
    return versions(world, "service_tickets", z, rng, upd, {
        "ticket_id": ids.take(v),
        "site_id": Arr(np.full(v.size, site.index), None, 0,
                       tuple(s.site_id for s in world.sites)),
        "customer_id": customer.take(v),
        "category": Arr(rng.integers(0, len(CATEGORIES), n)[v], (rng.random(n) >= 0.05)[v], 0,
                        CATEGORIES),
        "priority": Arr(prio[v], None, 0, prios),
        "opened_at": Arr(opened[v]),
        "first_response_at": Arr(first_response[v], answered[v] & (stage >= 1)),
        "resolved_at": Arr(resolved[v], (stage == 2) | (stage == 3)),
        "status": Arr(status, None, 0, allowed("service_tickets", "status")),
        "updated_at": Arr(upd),
    })
