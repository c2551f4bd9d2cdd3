"""Customer returns (RMAs) of the order lines of one site × month.

Drawn from ``rng_for(seed, RETURNS, site, month)`` after the chunk's order lines and
shipments, so they cite real order lines (order_id, line_number) and are taken back at
the fulfilling site. Damaged and late deliveries are returned more often, mostly for
that reason. A return is requested after delivery, received, inspected and refunded
(part of it: a restocking fee), rejected, cancelled, or refunded without being sent
back; almost a third are registered days ahead of their requested date (a scheduled
pick-up), so a few exported ones are requested after the extract. A few cite an order
the export does not know.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.generate.batch import Arr, Batch, take
from flows.generate.feed import versions
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import DAY_US, US, codes
from flows.generate.world import Site, World, allowed

H = 3600 * US
MIN = 60 * US


def site_month(world: World, site: Site, k: int, lines: dict[str, np.ndarray | pa.Array]
               ) -> Batch:
    """Returns of the chunk's order lines. ``lines`` (one value per order line):
    order_id, line_number, sku (catalogue index), shipped (bool), good (units delivered
    undamaged), damaged (units), delivered_at (last delivery, µs), late (bool)."""
    rng = rng_for(world.seed, Stream.RETURNS, site.index, k)
    reasons = allowed("returns", "reason")
    statuses = allowed("returns", "status")
    n = lines["line_number"].size
    damaged_line = lines["damaged"] > 0
    late_line = lines["late"]
    p = 0.035 + 0.4 * damaged_line + 0.06 * late_line
    idx = np.flatnonzero(lines["shipped"] & (rng.random(n) < p))
    m = idx.size

    # --- why and how much --------------------------------------------------------------
    general = rng.choice(len(reasons), m, p=[0.06, 0.25, 0.15, 0.04, 0.38, 0.12])
    u = rng.random(m)
    dmg, late = damaged_line[idx], late_line[idx]
    reason = np.where(dmg & (u < 0.8), reasons.index("damaged"),
                      np.where(late & (u < 0.5), reasons.index("late"), general))
    good = lines["good"][idx]
    some = 1 + rng.binomial(np.maximum(good - 1, 0), 0.25)
    qty = np.where((reason == reasons.index("damaged")) & dmg, lines["damaged"][idx], some)
    qty = np.maximum(qty, 1).astype(np.int64)

    # --- when ----------------------------------------------------------------------------
    delivered = lines["delivered_at"][idx]
    requested = delivered + rng.integers(2 * 3600, 30 * 86_400, m) * US
    announced = rng.random(m) < 0.3  # registered days before the requested date
    v1 = np.where(announced, requested - rng.integers(2, 15, m) * DAY_US,
                  requested + rng.integers(5, 180, m) * MIN)
    v1 = np.maximum(v1, delivered + 10 * MIN)
    outcome = rng.random(m)
    cancelled = outcome < 0.06
    rejected = (outcome >= 0.06) & (outcome < 0.13)
    returnless = (outcome >= 0.13) & (outcome < 0.21)  # refunded, nothing sent back
    normal = outcome >= 0.21
    received = requested + rng.integers(2 * 86_400, 12 * 86_400, m) * US
    inspected = received + rng.integers(3600, 5 * 86_400, m) * US
    refunded = np.where(returnless, requested + rng.integers(3600, 48 * 3600, m) * US,
                        received + rng.integers(86_400, 14 * 86_400, m) * US)
    cancel_at = requested + rng.integers(3600, 5 * 86_400, m) * US
    lag = rng.integers(1, 120, (3, m)) * MIN  # the system records an event a bit later
    v2 = np.maximum(np.select([cancelled, returnless], [cancel_at, refunded], received) + lag[0],
                    v1 + 10 * MIN)
    v3 = np.maximum(np.where(rejected, inspected, refunded) + lag[1], v2 + 10 * MIN)

    # --- money: in the site's currency, a quarter in USD; some with a restocking fee ---------
    price = world.catalogues[site.index]["price"][lines["sku"][idx]]
    full = qty * price
    partial = rng.random(m) < 0.25
    amount = np.where(partial, np.round(full * rng.uniform(0.5, 0.9, m)), full)
    usd = world.currencies.index("USD")
    in_usd = (rng.random(m) < 0.25) | (site.currency == "USD")
    amount = np.where(in_usd, np.round(amount * world.fx_base(site.currency)), amount)
    amount = np.maximum(amount, 1).astype(np.int64)
    cur = np.where(in_usd, usd, world.currencies.index(site.currency))
    unknown = rng.random(m) < 0.015  # cites an order the export does not know

    # --- versions: requested, then received / cancelled / refunded, then rejected / refunded
    third = np.flatnonzero(rejected | normal)
    v_idx = np.r_[np.arange(m), np.arange(m), third]  # every return has a second version
    st = {s: statuses.index(s) for s in statuses}
    v_status = np.r_[np.full(m, st["requested"]),
                     np.select([cancelled, returnless], [st["cancelled"], st["refunded"]],
                               st["received"]),
                     np.where(rejected, st["rejected"], st["refunded"])[third]]
    v_upd = np.r_[v1, v2, v3[third]]
    stage = np.r_[np.zeros(m, np.int64), np.ones(m, np.int64), np.full(third.size, 2)]
    has_received = (stage >= 1) & (rejected | normal)[v_idx]
    refund_final = ((stage == 1) & returnless[v_idx]) | ((stage == 2) & normal[v_idx])
    zero_refund = (stage == 2) & rejected[v_idx]
    n_v = v_idx.size
    ids = codes(f"RMA-{site.site_id}", (np.full(m, world.yymm(k)), 4), (np.arange(1, m + 1), 5))
    known = take(lines["order_id"], idx)
    ghost = codes(f"SO-{site.site_id}", (np.zeros(m, np.int64), 4),
                  (90_000 + np.arange(m), 5))
    order_id = pc.if_else(pa.array(unknown), ghost, known)
    return versions(world, "returns", site.zone, rng, v_upd, {
        "return_id": take(ids, v_idx),
        "order_id": take(order_id, v_idx),
        "line_number": Arr(lines["line_number"][idx][v_idx]),
        "site_id": Arr(np.full(n_v, site.index), None, 0, tuple(s.site_id for s in world.sites)),
        "returned_qty": Arr(qty[v_idx]),
        "reason": Arr(reason[v_idx], None, 0, reasons),
        "requested_at": Arr(requested[v_idx]),
        "received_at": Arr(received[v_idx], has_received),
        "refunded_at": Arr(refunded[v_idx], refund_final),
        "refund_amount": Arr(np.where(zero_refund, 0, amount[v_idx]), refund_final | zero_refund,
                             2),
        "currency": Arr(cur[v_idx], refund_final | (rng.random(n_v) < 0.5), 0, world.currencies),
        "status": Arr(v_status, None, 0, statuses),
        "updated_at": Arr(v_upd),
    })
