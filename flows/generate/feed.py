"""Exporting record versions the way a change feed does.

A version is exported only if its ``updated_at`` is before the extract instant (the end
of the run's last day at the row's site: later events have not happened yet), rows
come in ``updated_at`` order, and each goes to the monthly file of its site-local
update month. So an in-transit shipment can sit in January's file and its delivered
version in February's.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from flows.contract import ENTITY_BY_NAME
from flows.generate.batch import Arr, Batch, build
from flows.generate.vectors import noise
from flows.generate.world import World


def versions(world: World, entity: str, zone: np.ndarray | int, rng: np.random.Generator,
             updated: np.ndarray, cols: dict[str, Arr | pa.Array],
             updated_valid: np.ndarray | None = None) -> Batch:
    """``updated_valid``: where an optional updated_at is written (the rest are exported
    at the same moment, with updated_at left empty)."""
    n = updated.size
    # systems stamp updates to the microsecond: give part of them a fraction of a second
    updated = updated + (rng.random(n) < 0.3) * rng.integers(1, 1_000_000, n)
    cols = {**cols, "updated_at": Arr(updated, updated_valid)}
    zone_arr = np.broadcast_to(np.asarray(zone, np.int64), (n,))
    batch = build(ENTITY_BY_NAME[entity], cols, zone_arr, noise(rng, n),
                  world.route(zone_arr, updated))
    keep = np.flatnonzero(updated < world.cutoff_at(zone_arr))
    order = keep[np.argsort(updated[keep], kind="stable")]
    return batch.take(order)
