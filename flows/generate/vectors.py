"""Small vectorised building blocks shared by the domains (no Python loop per row)."""

from __future__ import annotations

import numpy as np


def group_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of ``counts`` children: each child's group (owner) and rank in it."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(owner.shape[0]) - starts[owner]
    return owner, rank


def split(rng: np.random.Generator, totals: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Split each integer total into ``parts`` positive integers (parts ≤ total), laid
    out like :func:`group_index` (the first part takes the rounding remainder)."""
    totals = np.asarray(totals, dtype=np.int64)
    parts = np.asarray(parts, dtype=np.int64)
    owner, rank = group_index(parts)
    if owner.size == 0:
        return np.zeros(0, dtype=np.int64)
    weight = rng.random(owner.size) + 0.3
    share = weight / np.bincount(owner, weight, minlength=parts.size)[owner]
    extra = totals - parts
    alloc = np.floor(extra[owner] * share).astype(np.int64)
    remainder = extra - np.bincount(owner, alloc, minlength=parts.size).astype(np.int64)
    return 1 + alloc + np.where(rank == 0, remainder[owner], 0)


def per_group(values: np.ndarray, owner: np.ndarray, n: int, how: str,
              empty: int) -> np.ndarray:
    """min/max of ``values`` per owner (owners sorted ascending); ``empty`` where none."""
    out = np.full(n, empty, dtype=np.int64)
    if owner.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    reduce = np.minimum if how == "min" else np.maximum
    out[owner[starts]] = reduce.reduceat(values, starts)
    return out


def noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """One random 64-bit word per row (drives the per-row style choices at render time)."""
    return rng.integers(0, 2**63 - 1, n, dtype=np.int64).astype(np.uint64)


def money_cents(amount: np.ndarray) -> np.ndarray:
    """Round float amounts to integer cents (generation only: rules use the integers)."""
    return np.round(np.asarray(amount) * 100).astype(np.int64)
