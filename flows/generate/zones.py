"""UTC offsets of IANA time zones as transition tables, for vectorised conversions.

The generator thinks in instants (int64 microseconds since the epoch, UTC) and writes
them as site-local wall-clock time, with an offset, or in UTC. Converting millions of
values one ``zoneinfo`` call at a time would dominate the run, so each zone's offset
changes over the generated period are found once (daily scan + bisection to the
second) and looked up with ``np.searchsorted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

US = 1_000_000
DAY_US = 86_400 * US


def _offset_at(zone: ZoneInfo, t: int) -> int:
    delta = datetime.fromtimestamp(t, zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


class ZoneTable:
    """Offset lookups for a fixed list of zones over a date range (with a margin)."""

    def __init__(self, names: Sequence[str], first_day: date, last_day: date) -> None:
        self.names = tuple(names)
        lo = int(datetime.combine(first_day - timedelta(days=3), datetime.min.time(),
                                  tzinfo=UTC).timestamp())
        hi = int(datetime.combine(last_day + timedelta(days=3), datetime.min.time(),
                                  tzinfo=UTC).timestamp())
        self._starts: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        for name in self.names:
            zone = ZoneInfo(name)
            starts, offsets = [np.iinfo(np.int64).min // 2], [_offset_at(zone, lo)]
            t = lo
            while t < hi:
                nxt = t + 86_400
                if _offset_at(zone, nxt) != offsets[-1]:
                    a, b = t, nxt  # offset(a) == current, offset(b) differs
                    while b - a > 1:
                        mid = (a + b) // 2
                        if _offset_at(zone, mid) == offsets[-1]:
                            a = mid
                        else:
                            b = mid
                    starts.append(b)
                    offsets.append(_offset_at(zone, b))
                t = nxt
            self._starts.append(np.asarray(starts, dtype=np.int64) * US)
            self._offsets.append(np.asarray(offsets, dtype=np.int64))

    def offset_s(self, zone: np.ndarray | int, utc_us: np.ndarray) -> np.ndarray:
        """UTC offset in seconds of each instant in its zone."""
        utc_us = np.asarray(utc_us, dtype=np.int64)
        zone_arr = np.broadcast_to(np.asarray(zone, dtype=np.int64), utc_us.shape)
        out = np.zeros(utc_us.shape, dtype=np.int64)
        for z in np.unique(zone_arr).tolist():
            mask = zone_arr == z
            idx = np.searchsorted(self._starts[z], utc_us[mask], side="right") - 1
            out[mask] = self._offsets[z][idx]
        return out

    def local_us(self, zone: np.ndarray | int, utc_us: np.ndarray) -> np.ndarray:
        """Wall-clock time (µs since 1970-01-01 00:00 local) of each instant."""
        return np.asarray(utc_us, dtype=np.int64) + self.offset_s(zone, utc_us) * US

    def local_day(self, zone: np.ndarray | int, utc_us: np.ndarray) -> np.ndarray:
        """Site-local calendar date (days since 1970-01-01) of each instant."""
        return np.floor_divide(self.local_us(zone, utc_us), DAY_US)

    def to_utc_us(self, zone: np.ndarray | int, wall_us: np.ndarray) -> np.ndarray:
        """The instant of a wall-clock time (two fixed-point steps; exact outside DST gaps)."""
        wall_us = np.asarray(wall_us, dtype=np.int64)
        first = wall_us - self.offset_s(zone, wall_us) * US
        return wall_us - self.offset_s(zone, first) * US

    def naive_safe(self, zone: np.ndarray | int, utc_us: np.ndarray) -> np.ndarray:
        """True where writing the wall-clock time without offset is lossless.

        A wall-clock time that occurs twice (clocks going back) is read as its *second*
        occurrence (exports.md), so an instant in the first occurrence must be written
        with its offset instead.
        """
        utc_us = np.asarray(utc_us, dtype=np.int64)
        own = self.offset_s(zone, utc_us)
        later = self.offset_s(zone, utc_us + 2 * 3600 * US)
        gap = own - later
        twin = utc_us + gap * US  # the same wall-clock time under the later offset
        ambiguous = (gap > 0) & (self.offset_s(zone, twin) == later)
        return ~ambiguous
