"""Customer order lines and their shipments, one site × month at a time.

Everything is drawn per chunk from ``rng_for(seed, DELIVERIES, site, month)`` and built
with array operations. A line may ship in several shipments or short; a few lines are
cancelled; a few shipments are cancelled, damaged, or late; shipments still moving at
the extract instant stay ``in_transit``. Lines order SKUs of the site's catalogue (the
popular ones most), so a shipment finds their cost in the site's inventory snapshots.
Each record is exported once per *version*
(order line: open → shipped → delivered → closed; shipment: in_transit → delivered),
in the monthly file of the version's ``updated_at``, as a change feed would.
"""

from __future__ import annotations

import numpy as np

from flows.generate.batch import Arr, Batch, take
from flows.generate.feed import versions
from flows.generate.returns import site_month as line_returns
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import DAY_US, US, codes
from flows.generate.vectors import group_index, money_cents, per_group, split
from flows.generate.world import Site, World, allowed, sku_pick

#: Transit days and freight (USD: per shipment, per unit) by carrier mode name.
MODE_TRANSIT = {"parcel": 2, "ltl": 3, "ftl": 2, "courier": 1}
MODE_COST = {"parcel": (6.0, 0.6), "ltl": (45.0, 0.35), "ftl": (180.0, 0.1),
             "courier": (15.0, 1.2)}
PRIORITIES = ("high", "normal", "low")
PROMISE_DAYS = np.array([3, 5, 8])
H = 3600
MIN = 60


def site_month(world: World, site: Site, k: int) -> tuple[Batch, Batch, Batch]:
    """(order_lines, shipments, returns) versions of the orders placed at ``site`` in
    month ``k`` (returns from their own stream: see :mod:`returns`)."""
    rng = rng_for(world.seed, Stream.DELIVERIES, site.index, k)
    days = world.chunk_days(k)
    z = site.zone
    dow = (days + 3) % 7
    per_day = rng.poisson(world.volumes.orders_per_day
                          * np.select([dow < 5, dow == 5], [1.0, 0.5], 0.3))
    o_day = np.repeat(days, per_day)
    n_orders = o_day.size
    o_placed = world.wall_to_utc(z, o_day, rng.integers(6 * H, 22 * H, n_orders))
    o_prio = rng.choice(3, n_orders, p=[0.15, 0.7, 0.15])
    o_customer = site.index * 10_000 + rng.integers(1, 800, n_orders)
    owner, rank = group_index(1 + rng.binomial(2, 0.35, n_orders))
    n = owner.size
    order_ids = codes(f"SO-{site.site_id}", (np.full(n_orders, world.yymm(k)), 4),
                      (np.arange(1, n_orders + 1), 5))
    placed = o_placed[owner]
    qty = np.clip(np.ceil(rng.lognormal(2.0, 0.8, n)), 1, 400).astype(np.int64)
    req_day = o_day[owner] + PROMISE_DAYS[o_prio[owner]]
    cancelled = rng.random(n) < 0.03
    live = ~cancelled

    # --- shipments of the live lines -------------------------------------------------
    short = live & (rng.random(n) < 0.05) & (qty >= 2)
    total = np.where(short, np.maximum(1, np.floor(qty * rng.uniform(0.5, 0.95, n))), qty)
    total = total.astype(np.int64)
    u = rng.random(n)
    n_ship = np.minimum(1 + (u > 0.85) + (u > 0.97), total) * live
    s_line, s_rank = group_index(n_ship)
    s_qty = split(rng, total, n_ship)
    first_ship = placed + rng.integers(2 * H, 40 * H, n) * US
    ship_at = (first_ship[s_line] + s_rank * rng.integers(1, 4, s_line.size) * DAY_US
               + (s_rank > 0) * rng.integers(0, 8 * H, s_line.size) * US)
    # a few lines also have a shipment that was cancelled before pickup
    extra = np.flatnonzero(live & (rng.random(n) < 0.01))
    c_line = extra
    c_ship_at = placed[extra] + rng.integers(1 * H, 20 * H, extra.size) * US
    all_line = np.concatenate([s_line, c_line])
    all_qty = np.concatenate([s_qty, total[extra]])
    all_ship = np.concatenate([ship_at, c_ship_at])
    is_cancel = np.r_[np.zeros(s_line.size, bool), np.ones(extra.size, bool)]
    m = all_line.size

    modes = allowed("carriers", "mode")
    carrier = rng.integers(0, world.carriers["carrier_id"].shape[0], m)
    mode = world.carriers["mode"][carrier]
    transit = np.array([MODE_TRANSIT.get(x, 3) for x in modes])[mode] + rng.integers(0, 2, m)
    transit += (rng.random(m) < 0.08) * rng.integers(1, 5, m)  # late deliveries
    ship_day = world.zones.local_day(z, all_ship)
    delivered_at = world.wall_to_utc(z, ship_day + np.maximum(transit, 1),
                                     rng.integers(8 * H, 19 * H, m))
    damaged = (rng.random(m) < 0.03) * rng.integers(1, np.minimum(3, all_qty) + 1)
    base, per_unit = (np.array([MODE_COST.get(x, (20.0, 0.5))[i] for x in modes])[mode]
                      for i in (0, 1))
    usd = (base + per_unit * all_qty) * rng.uniform(0.85, 1.2, m)
    in_usd = rng.random(m) < 0.3
    cur = np.where(in_usd, world.currencies.index("USD"), world.currencies.index(site.currency))
    local = usd / np.where(in_usd, 1.0, world.fx_base(site.currency))
    freight = money_cents(local) * (rng.random(m) >= 0.03)  # a few free shipments
    ship_ids = codes(f"SH-{site.site_id}", (np.full(m, world.yymm(k)), 4),
                     (np.arange(1, m + 1), 6))

    # shipment versions: in_transit, then delivered (or cancelled)
    v1_upd = all_ship + rng.integers(5 * MIN, 90 * MIN, m) * US
    v2_upd = np.where(is_cancel, all_ship + rng.integers(2 * H, 30 * H, m) * US,
                      delivered_at + rng.integers(5 * MIN, 6 * H, m) * US)
    st = allowed("shipments", "status")
    s_idx = np.r_[np.arange(m), np.arange(m)]
    s_status = np.r_[np.full(m, st.index("in_transit")),
                     np.where(is_cancel, st.index("cancelled"), st.index("delivered"))]
    s_upd = np.r_[v1_upd, v2_upd]
    s_delivered_valid = np.r_[np.zeros(m, bool), ~is_cancel]
    line_of = all_line[s_idx]
    shipments = versions(world, "shipments", z, rng, s_upd, {
        "shipment_id": take(ship_ids, s_idx),
        "order_id": take(order_ids, owner[line_of]),
        "line_number": Arr(rank[line_of] + 1),
        "site_id": Arr(np.full(s_idx.size, site.index), None, 0,
                       tuple(s.site_id for s in world.sites)),
        "carrier_id": Arr(carrier[s_idx], None, 0,
                          tuple(world.carriers["carrier_id"].tolist())),
        "shipped_qty": Arr(all_qty[s_idx]),
        "shipped_at": Arr(all_ship[s_idx]),
        "delivered_at": Arr(delivered_at[s_idx], s_delivered_valid),
        "damaged_qty": Arr(np.where(is_cancel, 0, damaged)[s_idx]),
        "freight_cost": Arr(np.where(is_cancel, 0, freight)[s_idx], None, 2),
        "currency": Arr(cur[s_idx], None, 0, world.currencies),
        "status": Arr(s_status, None, 0, st),
        "updated_at": Arr(s_upd),
    })

    # --- order line versions ---------------------------------------------------------
    first_real = per_group(ship_at, s_line, n, "min", 0)
    last_delivery = per_group(delivered_at[: s_line.size], s_line, n, "max", 0)
    ol = allowed("order_lines", "status")
    shipped = n_ship > 0
    delivered = shipped.copy()
    closed = delivered & (rng.random(n) < 0.08)
    upd_open = placed + rng.integers(1 * MIN, 10 * MIN, n) * US
    upd_cancel = placed + rng.integers(1 * H, 30 * H, n) * US
    upd_shipped = first_real + rng.integers(1 * MIN, 30 * MIN, n) * US
    upd_delivered = last_delivery + rng.integers(10 * MIN, 12 * H, n) * US
    upd_closed = upd_delivered + rng.integers(3, 21, n) * DAY_US
    line_versions = [(np.arange(n), "open", upd_open),
                     (np.flatnonzero(cancelled), "cancelled", upd_cancel[cancelled])]
    for mask, name, upd in ((shipped, "shipped", upd_shipped),
                            (delivered, "delivered", upd_delivered), (closed, "closed", upd_closed)):
        line_versions.append((np.flatnonzero(mask), name, upd[mask]))
    l_idx = np.concatenate([v[0] for v in line_versions])
    l_status = np.concatenate([np.full(v[0].size, ol.index(v[1])) for v in line_versions])
    l_upd = np.concatenate([v[2] for v in line_versions])
    prio = o_prio[owner][l_idx]
    sku = sku_pick(rng.integers(1, 5000, n), world.volumes.skus_per_site)  # catalogue index
    catalogue = world.catalogues[site.index]["sku"]
    order_lines = versions(world, "order_lines", z, rng, l_upd, {
        "order_id": take(order_ids, owner[l_idx]),
        "line_number": Arr(rank[l_idx] + 1),
        "site_id": Arr(np.full(l_idx.size, site.index), None, 0,
                       tuple(s.site_id for s in world.sites)),
        "customer_id": codes("CU", (o_customer[owner][l_idx], 7)),
        "sku": codes("SKU", (catalogue[sku[l_idx]], 5)),
        "ordered_qty": Arr(qty[l_idx]),
        "order_placed_at": Arr(placed[l_idx]),
        "requested_delivery_date": Arr(req_day[l_idx]),
        "priority": Arr(prio, rng.random(l_idx.size) >= 0.02, 0, PRIORITIES),
        "status": Arr(l_status, None, 0, ol),
        "updated_at": Arr(l_upd),
    })
    real = s_line.size  # shipments that were not cancelled before pickup
    late = world.zones.local_day(z, last_delivery) > req_day
    returns = line_returns(world, site, k, {
        "order_id": take(order_ids, owner), "line_number": rank + 1, "sku": sku,
        "shipped": shipped,
        "good": np.bincount(s_line, s_qty - damaged[:real], minlength=n).astype(np.int64),
        "damaged": np.bincount(s_line, damaged[:real], minlength=n).astype(np.int64),
        "delivered_at": last_delivery, "late": shipped & late,
    })
    return order_lines, shipments, returns

