"""Random streams, one per chunk of work, so output never depends on processing order.

Every chunk (a site × month of one domain, the reference data, a rendering pass) draws
from its own ``np.random.default_rng(SeedSequence([seed, stream, *chunk]))``. Adding a
site or a month therefore never changes the rows generated for the others, and chunks
could be generated in any order (or in parallel) with byte-identical files.

No stream may depend on the length of the run (``days``): a chunk is keyed by (seed,
site, month) only, so generating a week more re-creates the past months byte for byte
(``tests/test_generate.py`` checks it).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """Stable ids of the random streams (never renumber: it would change every sample)."""

    SITES = 1
    CARRIERS = 2
    VENDORS = 3
    EMPLOYEES = 4
    PAY_RATES = 5
    FX_RATES = 6
    BUDGETS = 7
    HIRES = 8
    CATALOGUE = 9
    DELIVERIES = 10
    SPEND = 11
    LABOR = 12
    INVENTORY = 13
    CYCLE_COUNTS = 14
    RETURNS = 15
    SERVICE = 16
    SAFETY = 17
    STYLE = 20


def rng_for(seed: int, stream: Stream, *chunk: int) -> np.random.Generator:
    """The generator of one chunk: ``SeedSequence([seed, stream, *chunk])``."""
    return np.random.default_rng(np.random.SeedSequence([seed, int(stream), *chunk]))
