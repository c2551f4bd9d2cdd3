"""Rows of one entity, held as typed columns until the moment they are written.

The domains produce *logical* values (integers, scaled decimals, day numbers, instants
in µs, codes into a small vocabulary); how they look in a file (a CSV string with an
offset, a Parquet decimal, an XLSX date cell) is decided later by :mod:`render`. This
keeps the generation exact and format-agnostic, and lets a chunk be filtered and split
between monthly files with plain numpy indexing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.contract import Entity


@dataclass(frozen=True)
class Arr:
    """A non-text column, or a text column drawn from a small vocabulary.

    ``values`` holds integers (int), decimals scaled by ``10**scale`` (num), days since
    1970-01-01 (date, month), instants in µs since the epoch UTC (ts), or, with
    ``cats``, indexes into ``cats`` (text). ``valid`` is the not-null mask.
    """

    values: np.ndarray
    valid: np.ndarray | None = None
    scale: int = 0
    cats: tuple[str, ...] | None = None

    def mask(self) -> np.ndarray:
        return np.ones(self.values.shape[0], bool) if self.valid is None else self.valid

    def take(self, idx: np.ndarray) -> Arr:
        valid = None if self.valid is None else self.valid[idx]
        return Arr(self.values[idx], valid, self.scale, self.cats)


Values = Arr | pa.Array


def take(values: Values, idx: np.ndarray) -> Values:
    if isinstance(values, Arr):
        return values.take(idx)
    return values.take(pa.array(idx, pa.int64()))


def concat(parts: Sequence[Values]) -> Values:
    first = parts[0]
    if not isinstance(first, Arr):
        return pa.concat_arrays([p.combine_chunks() if isinstance(p, pa.ChunkedArray) else p
                                 for p in parts])
    if any(not isinstance(p, Arr) or p.scale != first.scale or p.cats != first.cats
           for p in parts):
        raise ValueError("cannot concatenate columns of different scale or vocabulary")
    valid = None
    if any(p.valid is not None for p in parts):
        valid = np.concatenate([p.mask() for p in parts])
    return Arr(np.concatenate([p.values for p in parts]), valid, first.scale, first.cats)


@dataclass
class Batch:
    """A chunk of rows of one entity.

    zone: index (in the run's :class:`~flows.generate.zones.ZoneTable`) of the time
    zone a wall-clock timestamp of the row is read in (its site's, else UTC).
    noise: one random 64-bit word per row from the chunk's own stream; rendering
    derives every per-row style choice from it, so styles do not depend on how chunks
    are grouped for writing. route: month index of the file the row belongs to.
    """

    entity: Entity
    cols: dict[str, Values]
    zone: np.ndarray
    noise: np.ndarray
    route: np.ndarray

    def __len__(self) -> int:
        return int(self.zone.shape[0])

    def take(self, idx: np.ndarray) -> Batch:
        idx = np.asarray(idx, dtype=np.int64)
        return Batch(self.entity, {k: take(v, idx) for k, v in self.cols.items()},
                     self.zone[idx], self.noise[idx], self.route[idx])

    @staticmethod
    def concat(batches: Sequence[Batch]) -> Batch:
        nonempty = [b for b in batches if len(b)]
        if len(nonempty) <= 1:
            return nonempty[0] if nonempty else batches[0]
        batches = nonempty
        first = batches[0]
        return Batch(
            first.entity,
            {k: concat([b.cols[k] for b in batches]) for k in first.cols},
            np.concatenate([b.zone for b in batches]),
            np.concatenate([b.noise for b in batches]),
            np.concatenate([b.route for b in batches]),
        )

    def check(self) -> Batch:
        """Every contract column present with one value per row (a programming guard)."""
        names = self.entity.column_names
        if list(self.cols) != names:
            raise ValueError(f"{self.entity.name}: columns {list(self.cols)} != {names}")
        for name, values in self.cols.items():
            size = values.values.shape[0] if isinstance(values, Arr) else len(values)
            if size != len(self):
                raise ValueError(f"{self.entity.name}.{name}: {size} values for {len(self)} rows")
        return self


def text_array(values: Sequence[str | None]) -> pa.Array:
    return pa.array(list(values), pa.string())


def is_value(values: Values, text: str) -> np.ndarray:
    """Rows whose (text) value equals ``text`` (used for default-valued cells)."""
    if isinstance(values, Arr):
        if values.cats is None:
            raise TypeError("is_value needs a text column")
        if text not in values.cats:
            return np.zeros(values.values.shape[0], bool)
        return (values.values == values.cats.index(text)) & values.mask()
    return np.asarray(pc.fill_null(pc.equal(values, text), False))


def build(entity: Entity, cols: dict[str, Values], zone: np.ndarray | int, noise: np.ndarray,
          route: np.ndarray | int = 0) -> Batch:
    """A batch with its columns put in contract order (missing/extra columns raise)."""
    n = noise.shape[0]
    missing = [c for c in entity.column_names if c not in cols]
    extra = [c for c in cols if c not in entity.column_names]
    if missing or extra:
        raise ValueError(f"{entity.name}: missing {missing}, unexpected {extra}")
    return Batch(
        entity,
        {c: cols[c] for c in entity.column_names},
        np.broadcast_to(np.asarray(zone, np.int64), (n,)).copy(),
        noise,
        np.broadcast_to(np.asarray(route, np.int64), (n,)).copy(),
    ).check()
