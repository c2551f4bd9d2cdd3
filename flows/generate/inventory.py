"""Inventory of one site × month: end-of-day snapshots and cycle counts.

Each SKU of the site's catalogue (see ``world._catalogue``) follows a saw-tooth: filled
up every few weeks, drawn down day by day with a little noise from ``rng_for(seed,
INVENTORY, site, month)``; SKUs whose fill does not last the cycle sell out and drop out
of the snapshots until replenished (a third of them are listed with 0 on hand instead);
a tenth are kept in kg. Most sites send a snapshot every day (missing a night now and
then), every third site on Sundays only; a few balances of a month are re-stated in a
later corrections file (no updated_at: the greater path wins). Cycle counts
(weekdays, their own stream) compare the system's balance with what was found: mostly
exact, some short (shrinkage), a few over or not found at all; part of the misses are
recounted later (a second version with a later updated_at). Costs are the site's
standard costs in its currency (one consignment SKU at every other site in a currency
without fx rates), revised a little every month.

Everything is drawn over the whole calendar month and cut at the extract instant, so a
month's rows never depend on how long the run is.
"""

from __future__ import annotations

import numpy as np

from flows.contract import ENTITY_BY_NAME
from flows.generate.batch import Arr, Batch, build
from flows.generate.feed import versions
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import US, codes
from flows.generate.vectors import noise
from flows.generate.world import NO_RATE_CURRENCY, Site, World

H = 3600
MIN = 60
QTY = 3  # quantities are scaled by 10³ (SKUs kept in kg have fractional balances)


def site_month(world: World, site: Site, k: int) -> tuple[Batch, Batch, Batch]:
    """(inventory_snapshots, their corrections, cycle_counts) of ``site`` in month ``k``."""
    days = world.month_days(k)
    rng = rng_for(world.seed, Stream.INVENTORY, site.index, k)
    cat = world.catalogues[site.index]
    t = (days[None, :] + cat["phase"][:, None]) % cat["cycle"][:, None]
    demand = cat["rate"][:, None] * (t + 1) * rng.normal(1.0, 0.08, (cat["sku"].size, days.size))
    level = cat["top"][:, None] - demand
    on_hand = np.where(cat["by_weight"][:, None], np.round(level * 10**QTY),
                       np.round(level) * 10**QTY)
    on_hand = np.maximum(0, on_hand).astype(np.int64)
    cost = np.maximum(1, np.round(cat["cost"] * rng.uniform(0.97, 1.04, cat["sku"].size)))
    cost = cost.astype(np.int64)
    snapshots, corrections = _snapshots(world, site, k, rng, days, on_hand, cost)
    return snapshots, corrections, _counts(world, site, k, days, on_hand, cost)


def _site_ids(world: World, n: int, site: Site) -> Arr:
    return Arr(np.full(n, site.index), None, 0, tuple(s.site_id for s in world.sites))


def _currency(world: World, site: Site, sku: np.ndarray) -> Arr:
    """The site's currency, or the one without fx rates for its consignment SKU."""
    cats = (*world.currencies, NO_RATE_CURRENCY)
    own = world.currencies.index(site.currency)
    no_rate = world.catalogues[site.index]["no_rate"][sku]
    return Arr(np.where(no_rate, len(world.currencies), own), None, 0, cats)


def _snapshots(world: World, site: Site, k: int, rng: np.random.Generator, days: np.ndarray,
               on_hand: np.ndarray, cost: np.ndarray) -> tuple[Batch, Batch]:
    """The month's snapshots, and a few of their rows re-stated in a later file."""
    cat = world.catalogues[site.index]
    sunday = (days + 3) % 7 == 6
    missed = rng.random(days.size) < 0.03  # a daily site's WMS misses a night now and then
    taken = np.flatnonzero(sunday if world.weekly_snapshots(site) else ~missed)
    listed = (on_hand[:, taken] > 0) | cat["keep_zero"][:, None]
    by_code = np.argsort(cat["sku"])
    di, rank = np.nonzero(listed[by_code].T)  # day by day, SKUs in code order
    sku = by_code[rank]
    day = days[taken][di]
    qty = on_hand[sku, taken[di]]
    n = day.size
    entity = ENTITY_BY_NAME["inventory_snapshots"]

    def rows(idx: np.ndarray, qty: np.ndarray) -> Batch:
        batch = build(entity, {
            "site_id": _site_ids(world, idx.size, site),
            "sku": codes("SKU", (cat["sku"][sku[idx]], 5)),
            "snapshot_date": Arr(day[idx]),
            "on_hand_qty": Arr(qty, None, QTY),
            "unit_cost": Arr(cost[sku[idx]], None, 4),
            "currency": _currency(world, site, sku[idx]),
        }, site.zone, noise(rng, idx.size), k)
        return batch.take(np.flatnonzero(day[idx] < world.end_day))

    snapshots = rows(np.arange(n), qty)
    # a recount re-states a few balances (no updated_at: the later file wins)
    fix = np.sort(rng.choice(n, min(n, int(rng.poisson(2))), replace=False))
    unit = np.where(cat["by_weight"][sku[fix]], 250, 10**QTY)
    restated = np.maximum(0, qty[fix] + rng.choice([-3, -2, -1, 1, 2], fix.size) * unit)
    return snapshots, rows(fix, restated)


def _counts(world: World, site: Site, k: int, days: np.ndarray, on_hand: np.ndarray,
            cost: np.ndarray) -> Batch:
    rng = rng_for(world.seed, Stream.CYCLE_COUNTS, site.index, k)
    cat = world.catalogues[site.index]
    n_sku = cat["sku"].size
    weekdays = np.flatnonzero((days + 3) % 7 < 5)
    di = np.repeat(weekdays, rng.poisson(n_sku / 15, weekdays.size))
    c = di.size
    sku = rng.integers(0, n_sku, c)
    system = on_hand[sku, di]
    unit = np.where(cat["by_weight"][sku], 1, 10**QTY)  # kg to the gram, else whole units
    counted_at = world.wall_to_utc(site.zone, days[di], rng.integers(7 * H, 15 * H, c))
    u = rng.random(c)
    short = np.round(system * rng.uniform(0.005, 0.06, c) / unit) * unit
    short = np.maximum(unit, short).astype(np.int64)
    counted = np.select([u < 0.80, u < 0.92, u < 0.97],
                        [system, np.maximum(system - short, 0),
                         system + rng.integers(1, 4, c) * unit],
                        0)  # the rest: not found where the system says
    upd = counted_at + rng.integers(2 * MIN, 90 * MIN, c) * US
    # recounts of part of the misses: found after all, or the miss confirmed
    recount = np.flatnonzero((counted != system) & (rng.random(c) < 0.4))
    again_at = counted_at[recount] + rng.integers(1 * H, 4 * H, recount.size) * US
    found = rng.random(recount.size) < 0.5
    v = np.r_[np.arange(c), recount]
    again_upd = again_at + rng.integers(5 * MIN, 60 * MIN, recount.size) * US
    stamped = np.r_[rng.random(c) >= 0.1, np.ones(recount.size, bool)]  # updated_at optional
    ids = codes(f"CC-{site.site_id}", (np.full(c, world.yymm(k)), 4), (np.arange(1, c + 1), 5))
    return versions(world, "cycle_counts", site.zone, rng, np.r_[upd, again_upd], {
        "count_id": ids.take(v),
        "site_id": _site_ids(world, v.size, site),
        "sku": codes("SKU", (cat["sku"][sku[v]], 5)),
        "counted_at": Arr(np.r_[counted_at, again_at]),
        "system_qty": Arr(system[v], None, QTY),
        "counted_qty": Arr(np.r_[counted, np.where(found, system[recount], counted[recount])],
                           None, QTY),
        "unit_cost": Arr(cost[sku[v]], None, 4),
        "currency": _currency(world, site, sku[v]),
    }, updated_valid=stamped)
