"""Purchase order lines, goods receipts and vendor invoice lines, one site × month.

Drawn per chunk from ``rng_for(seed, SPEND, site, month)``. POs are in the vendor's
currency (sometimes the site's), some cancelled; receipts are early, on time or late,
sometimes split or short, sometimes with rejected goods. Invoices follow receipts: most
at the PO price, some within the 2 % tolerance, some outside it, some in another
currency, some for more than was accepted; credit notes (negative quantities) correct
part of those; invoices without a PO (services, utilities) and a few citing an unknown
PO complete the picture. Invoice lines are exported again when they are paid.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flows.generate.batch import Arr, Batch, take
from flows.generate.feed import versions
from flows.generate.seeds import Stream, rng_for
from flows.generate.text import DAY_US, US, codes
from flows.generate.vectors import group_index, money_cents, per_group, split
from flows.generate.world import CATEGORIES, Site, World, allowed

H = 3600
MIN = 60
CAT_PRICE = np.array([c[1] for c in CATEGORIES])
CAT_QTY = np.array([c[2] for c in CATEGORIES])
CAT_NAMES = tuple(c[0] for c in CATEGORIES)
NON_PO_CATS = np.array([i for i, c in enumerate(CATEGORIES) if c[3]])


def site_month(world: World, site: Site, k: int) -> tuple[Batch, Batch, Batch]:
    """(purchase_order_lines, goods_receipts, invoice_lines) of POs placed in month k."""
    rng = rng_for(world.seed, Stream.SPEND, site.index, k)
    days = world.chunk_days(k)
    z = site.zone
    v = world.vendors
    site_ids = tuple(s.site_id for s in world.sites)
    vendor_ids = tuple(v["vendor_id"].tolist())
    cur_index = {c: i for i, c in enumerate(world.currencies)}
    rates = np.array([world.fx_base(c) for c in world.currencies])
    yymm = world.yymm(k)

    dow = (days + 3) % 7
    per_day = rng.poisson(world.volumes.pos_per_day * np.select([dow < 5, dow == 5], [1, .15], 0))
    po_day = np.repeat(days, per_day)
    n_po = po_day.size
    po_vendor = rng.integers(0, v["vendor_id"].shape[0], n_po)
    po_cur = np.where(rng.random(n_po) < 0.9,
                      [cur_index[c] for c in v["currency"][po_vendor]],
                      cur_index[site.currency]).astype(np.int64)
    date_only = rng.random(n_po) < 0.4
    po_at = world.wall_to_utc(z, po_day, np.where(date_only, 0, rng.integers(8 * H, 17 * H, n_po)))
    po_ids = codes(f"PO-{site.site_id}", (np.full(n_po, yymm), 4), (np.arange(1, n_po + 1), 5))
    owner, rank = group_index(1 + rng.binomial(3, 0.3, n_po))
    n = owner.size
    vendor = po_vendor[owner]
    cat = v["category"][vendor]
    cur = po_cur[owner]
    price = np.maximum(money_cents(CAT_PRICE[cat] * rng.lognormal(0, 0.5, n) / rates[cur]), 1)
    qty = np.maximum(1, np.round(CAT_QTY[cat] * rng.lognormal(0, 0.6, n))).astype(np.int64)
    expected = po_day[owner] + v["lead_days"][vendor] + rng.integers(0, 3, n)
    cancelled = rng.random(n) < 0.03
    live = ~cancelled

    # --- receipts -------------------------------------------------------------------
    u = rng.random(n)
    recv_total = np.where(u < 0.90, qty, np.where(
        u < 0.97, np.maximum(1, np.floor(qty * rng.uniform(0.6, 0.95, n))),
        np.ceil(qty * rng.uniform(1.01, 1.10, n)))).astype(np.int64)
    n_rec = np.minimum(1 + (rng.random(n) < 0.15), recv_total) * live
    r_line, r_rank = group_index(n_rec)
    r_qty = split(rng, recv_total, n_rec)
    m = r_line.size
    late = rng.random(n) < 0.2
    first_day = np.where(late, expected + rng.integers(1, 11, n),
                         np.maximum(po_day[owner] + 1, expected - rng.integers(0, 4, n)))
    r_day = first_day[r_line] + r_rank * rng.integers(2, 10, m)
    received_at = world.wall_to_utc(z, r_day, rng.integers(7 * H, 16 * H, m))
    rejected = (rng.random(m) < 0.06) * rng.integers(1, np.maximum(1, r_qty // 5) + 1)
    r_upd = received_at + rng.integers(5 * MIN, 120 * MIN, m) * US
    receipts = versions(world, "goods_receipts", z, rng, r_upd, {
        "receipt_id": codes(f"GR-{site.site_id}", (np.full(m, yymm), 4),
                            (np.arange(1, m + 1), 5)),
        "po_id": take(po_ids, owner[r_line]),
        "po_line": Arr(rank[r_line] + 1),
        "site_id": Arr(np.full(m, site.index), None, 0, site_ids),
        "received_qty": Arr(r_qty),
        "rejected_qty": Arr(rejected),
        "received_at": Arr(received_at),
        "updated_at": Arr(r_upd),
    })

    # --- PO line versions: open, then cancelled or closed when received in full --------
    st = allowed("purchase_order_lines", "status")
    upd_open = po_at[owner] + rng.integers(5 * MIN, 60 * MIN, n) * US
    upd_cancel = upd_open + rng.integers(1 * DAY_US, 5 * DAY_US, n)
    last_upd = per_group(r_upd, r_line, n, "max", 0)
    full = live & (recv_total >= qty)
    upd_closed = last_upd + rng.integers(1 * H, 48 * H, n) * US
    idx = np.r_[np.arange(n), np.flatnonzero(cancelled), np.flatnonzero(full)]
    status = np.r_[np.full(n, st.index("open")), np.full(int(cancelled.sum()), st.index("cancelled")),
                   np.full(int(full.sum()), st.index("closed"))]
    upd = np.r_[upd_open, upd_cancel[cancelled], upd_closed[full]]
    po_lines = versions(world, "purchase_order_lines", z, rng, upd, {
        "po_id": take(po_ids, owner[idx]),
        "po_line": Arr(rank[idx] + 1),
        "vendor_id": Arr(vendor[idx], None, 0, vendor_ids),
        "site_id": Arr(np.full(idx.size, site.index), None, 0, site_ids),
        "category": Arr(cat[idx], None, 0, CAT_NAMES),
        "ordered_qty": Arr(qty[idx]),
        "unit_price": Arr(price[idx], None, 2),
        "currency": Arr(cur[idx], None, 0, world.currencies),
        "ordered_at": Arr(po_at[owner][idx]),
        "expected_date": Arr(expected[idx]),
        "status": Arr(status, None, 0, st),
        "updated_at": Arr(upd),
    })

    invoices = _invoices(world, site, k, rng, {
        "line": np.arange(n), "owner": owner, "rank": rank, "vendor": vendor, "cat": cat,
        "cur": cur, "price": price, "po_ids": po_ids,
        "received": np.bincount(r_line, r_qty, minlength=n).astype(np.int64),
        "accepted": np.bincount(r_line, r_qty - rejected, minlength=n).astype(np.int64),
        "last_day": per_group(r_day, r_line, n, "max", -1), "rates": rates,
    })
    return po_lines, receipts, invoices


def _invoices(world: World, site: Site, k: int, rng: np.random.Generator,
              po: dict[str, np.ndarray]) -> Batch:
    v = world.vendors
    yymm = world.yymm(k)
    rates = po["rates"]
    usd = world.currencies.index("USD")
    eur = world.currencies.index("EUR")

    # lines received at least once, invoiced per PO after its last receipt
    lines = np.flatnonzero(po["last_day"] >= 0)
    owner = po["owner"][lines]
    inv_of_po = np.full(int(po["owner"].max(initial=-1)) + 1, -1)
    pos_invoiced = np.unique(owner)
    inv_of_po[pos_invoiced] = np.arange(pos_invoiced.size)
    inv = inv_of_po[owner]
    n_inv = pos_invoiced.size
    inv_day = per_group(po["last_day"][lines], inv, n_inv, "max", 0) + rng.integers(0, 8, n_inv)
    n = lines.size
    inv_line = np.arange(n) - np.searchsorted(inv, inv, side="left") + 1

    qty = po["accepted"][lines]
    over = rng.random(n) < 0.04
    qty = np.where(over, po["received"][lines] + rng.integers(1, 5, n), qty)
    price = po["price"][lines]
    cur = po["cur"][lines]
    u = rng.random(n)
    within = (u >= 0.86) & (u < 0.93)
    outside = (u >= 0.93) & (u < 0.98)
    other_cur = u >= 0.98
    sign = np.where(rng.random(n) < 0.5, -1, 1)
    near = np.round(price * (1 + sign * rng.uniform(0.002, 0.018, n))).astype(np.int64)
    near = np.where(np.abs(near - price) * 50 <= price, near, price)  # stays within 2 %
    far = np.round(price * (1 + rng.uniform(0.03, 0.15, n))).astype(np.int64)
    new_cur = np.where(cur == usd, eur, usd)
    converted = np.maximum(1, np.round(price * rates[cur] / rates[new_cur])).astype(np.int64)
    inv_price = np.select([within, outside, other_cur], [near, far, converted], price)
    inv_cur = np.where(other_cur, new_cur, cur)

    cols = {
        "invoice_id": codes(f"INV-{site.site_id}", (np.full(n, yymm), 4), (inv + 1, 5)),
        "invoice_line": inv_line,
        "vendor": po["vendor"][lines],
        "po_id": take(po["po_ids"], owner),
        "po_line": po["rank"][lines] + 1,
        "cat": po["cat"][lines],
        "cat_valid": rng.random(n) < 0.7,  # the invoice often leaves category to the PO
        "quantity": qty,
        "price": inv_price,
        "cur": inv_cur,
        "day": inv_day[inv],
    }

    # credit notes for part of the over-invoiced and overpriced lines
    cn = np.flatnonzero((over | outside) & (rng.random(n) < 0.6))
    cn_qty = np.where(over[cn], -(qty[cn] - po["accepted"][lines][cn]),
                      -np.maximum(1, qty[cn] // 4))
    credit = {
        "invoice_id": codes(f"CN-{site.site_id}", (np.full(cn.size, yymm), 4),
                            (np.arange(1, cn.size + 1), 5)),
        "invoice_line": np.ones(cn.size, np.int64),
        "vendor": cols["vendor"][cn], "po_id": take(cols["po_id"], cn),
        "po_line": cols["po_line"][cn], "cat": cols["cat"][cn],
        "cat_valid": np.ones(cn.size, bool), "quantity": cn_qty, "price": inv_price[cn],
        "cur": inv_cur[cn], "day": cols["day"][cn] + rng.integers(5, 26, cn.size),
    }

    # invoices without a PO (and a few citing a PO this export does not know)
    days = world.chunk_days(k)
    n_np = int(rng.poisson(world.volumes.non_po_invoices_per_month * days.size / 30.4))
    eligible = np.flatnonzero(np.isin(v["category"], NON_PO_CATS))
    if eligible.size == 0:
        eligible = np.arange(v["vendor_id"].shape[0])
    np_vendor = rng.choice(eligible, n_np)
    np_cat = v["category"][np_vendor]
    np_cur = np.array([world.currencies.index(c) for c in v["currency"][np_vendor]], np.int64)
    unknown_po = rng.random(n_np) < 0.05
    non_po = {
        "invoice_id": codes(f"INV-{site.site_id}", (np.full(n_np, yymm), 4),
                            (n_inv + 1 + np.arange(n_np), 5)),
        "invoice_line": np.ones(n_np, np.int64),
        "vendor": np_vendor,
        "po_id": codes(f"PO-{site.site_id}", (np.full(n_np, 0), 4),
                       (90_000 + np.arange(n_np), 5), valid=unknown_po),
        "po_line": np.ones(n_np, np.int64),
        "po_line_valid": unknown_po,
        "cat": np_cat,
        "cat_valid": rng.random(n_np) < 0.85,
        "quantity": rng.integers(1, 4, n_np),
        "price": np.maximum(1, money_cents(CAT_PRICE[np_cat] * rng.lognormal(0, 0.4, n_np)
                                           / rates[np_cur])),
        "cur": np_cur,
        "day": rng.choice(days, n_np) if days.size else np.zeros(0, np.int64),
    }
    return _invoice_versions(world, site, rng, [cols, credit, non_po])


def _invoice_versions(world: World, site: Site, rng: np.random.Generator,
                      groups: list[dict]) -> Batch:
    """Each invoice line once when issued, and again (paid_date set) when paid."""
    z = site.zone
    v = world.vendors
    g = {key: _cat([grp[key] for grp in groups])
         for key in ("invoice_id", "invoice_line", "vendor", "po_id", "po_line", "cat",
                     "cat_valid", "quantity", "price", "cur", "day")}
    n = g["day"].size
    po_line_valid = np.concatenate([grp.get("po_line_valid", np.ones(grp["day"].size, bool))
                                    for grp in groups])
    due = g["day"] + v["terms"][g["vendor"]]
    paid = rng.random(n) < 0.88
    pay_day = np.maximum(g["day"], due + np.round(rng.normal(-2, 6, n)).astype(np.int64))
    issued = world.wall_to_utc(z, g["day"], rng.integers(8 * H, 18 * H, n))
    paid_upd = np.maximum(world.wall_to_utc(z, pay_day, rng.integers(8 * H, 18 * H, n)),
                          issued + H * US)
    idx = np.r_[np.arange(n), np.flatnonzero(paid)]
    upd = np.r_[issued, paid_upd[paid]]
    paid_valid = np.r_[np.zeros(n, bool), np.ones(int(paid.sum()), bool)]
    quantity = g["quantity"][idx]
    price = g["price"][idx]
    return versions(world, "invoice_lines", z, rng, upd, {
        "invoice_id": take(g["invoice_id"], idx),
        "invoice_line": Arr(g["invoice_line"][idx]),
        "vendor_id": Arr(g["vendor"][idx], None, 0, tuple(v["vendor_id"].tolist())),
        "site_id": Arr(np.full(idx.size, site.index), None, 0,
                       tuple(s.site_id for s in world.sites)),
        "po_id": take(g["po_id"], idx),
        "po_line": Arr(g["po_line"][idx], po_line_valid[idx]),
        "category": Arr(g["cat"][idx], g["cat_valid"][idx], 0, CAT_NAMES),
        "quantity": Arr(quantity),
        "unit_price": Arr(price, None, 2),
        "amount": Arr(quantity * price, None, 2),
        "currency": Arr(g["cur"][idx], None, 0, world.currencies),
        "invoice_date": Arr(g["day"][idx]),
        "due_date": Arr(due[idx]),
        "paid_date": Arr(pay_day[idx], paid_valid),
        "updated_at": Arr(upd),
    })


def _cat(parts: list) -> np.ndarray | pa.Array:
    if isinstance(parts[0], pa.Array):
        return pa.concat_arrays(parts)
    return np.concatenate([np.asarray(p) for p in parts])
