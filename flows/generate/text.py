"""Vectorised, exact text rendering of numbers, dates and timestamps into Arrow strings.

Why not ``strftime``/``str()``: formatting is the hot loop of the generator (tens of
millions of values) and Arrow's strftime runs at about 1 M values/s. Here every value is
laid out as fixed-width ASCII digits computed with integer arithmetic in numpy, a keep
mask selects the characters each row really uses (optional seconds, fraction, offset,
leading digits...) and the bytes become an Arrow string array without a Python loop.
Integer arithmetic also means no binary floating point ever touches a decimal value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

US = 1_000_000
DAY_US = 86_400 * US
_ZERO = ord("0")


@dataclass(frozen=True)
class Part:
    """A fixed-width block of characters per row and which of them each row keeps."""

    chars: np.ndarray  # (n, w) uint8
    keep: np.ndarray | None = None  # (n, w) bool; None = keep all


def const(text: str, n: int) -> Part:
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return Part(np.broadcast_to(raw, (n, raw.size)))


def optional(part: Part, present: np.ndarray) -> Part:
    """``part`` only in the rows where ``present`` is true."""
    keep = np.broadcast_to(present[:, None], part.chars.shape)
    if part.keep is not None:
        keep = keep & part.keep
    return Part(part.chars, keep)


def digits(values: np.ndarray, width: int) -> Part:
    """Zero-padded decimal digits of non-negative integers (fixed width)."""
    q = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((width, q.shape[0]), dtype=np.uint8)
    for col in range(width - 1, -1, -1):  # scalar divisors: numpy uses libdivide
        nxt = q // 10
        out[col] = q - nxt * 10 + _ZERO
        q = nxt
    return Part(out.T)


def int_digits(values: np.ndarray, width: int | None = None) -> Part:
    """Decimal digits of non-negative integers without leading zeros."""
    v = np.asarray(values, dtype=np.int64)
    if width is None:
        width = len(str(int(v.max()))) if v.size else 1
    part = digits(v, width)
    ndig = np.ones(v.shape, dtype=np.int64)
    for k in range(1, width):
        ndig += v >= 10**k
    keep = np.arange(width)[None, :] >= (width - ndig)[:, None]
    return Part(part.chars, keep)


def choice(table: Sequence[str], index: np.ndarray) -> Part:
    """Per row one of a few strings (enum values, ids from a pool, offsets...)."""
    encoded = [s.encode("utf-8") for s in table]
    width = max((len(b) for b in encoded), default=0) or 1
    mat = np.zeros((len(encoded), width), dtype=np.uint8)
    lengths = np.zeros(len(encoded), dtype=np.int64)
    for i, b in enumerate(encoded):
        mat[i, : len(b)] = np.frombuffer(b, dtype=np.uint8)
        lengths[i] = len(b)
    idx = np.asarray(index, dtype=np.int64)
    keep = np.arange(width)[None, :] < lengths[idx][:, None]
    return Part(mat[idx], keep)


def assemble(parts: Sequence[Part], valid: np.ndarray | None = None) -> pa.StringArray:
    """Concatenate the kept characters of every part, row by row, into an Arrow array."""
    n = parts[0].chars.shape[0]
    width = sum(p.chars.shape[1] for p in parts)
    chars = np.empty((n, width), dtype=np.uint8)
    keep = np.ones((n, width), dtype=bool)
    col = 0
    for p in parts:
        w = p.chars.shape[1]
        chars[:, col : col + w] = p.chars
        if p.keep is not None:
            keep[:, col : col + w] = p.keep
        col += w
    if valid is not None:
        keep &= valid[:, None]
    data = chars[keep]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(keep.view(np.uint8).sum(axis=1, dtype=np.int32), out=offsets[1:])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    null_count = 0
    if valid is not None and not valid.all():
        buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int((~valid).sum())
    return pa.StringArray.from_buffers(n, buffers[1], buffers[2], buffers[0], null_count)


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (H. Hinnant's civil_from_days)."""
    z = np.asarray(days, dtype=np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _date_table(first: int, last: int) -> np.ndarray:
    """``YYYY-MM-DD`` of every day in [first, last] as a (days, 10) byte table."""
    span = np.arange(first, last + 1, dtype=np.int64)
    year, month, day = civil(span)
    n = span.shape[0]
    parts = [digits(year, 4), const("-", n), digits(month, 2), const("-", n), digits(day, 2)]
    return np.concatenate([np.asarray(p.chars) for p in parts], axis=1)


def date_chars(days: np.ndarray) -> np.ndarray:
    """(n, 10) bytes ``YYYY-MM-DD``: a chunk spans few distinct days, so format those
    once and gather (much cheaper than calendar arithmetic per row)."""
    d = np.asarray(days, dtype=np.int64)
    if d.size == 0:
        return np.zeros((0, 10), dtype=np.uint8)
    first = int(d.min())
    return _date_table(first, int(d.max()))[d - first]


def date_parts(days: np.ndarray, *, with_day: bool = True) -> list[Part]:
    chars = date_chars(days)
    return [Part(chars if with_day else chars[:, :7])]


_TOD = None  # lazily built (86400, 8) table of "HH:MM:SS"
_THOUSAND = np.asarray(digits(np.arange(1000), 3).chars)


def _tod_table() -> np.ndarray:
    global _TOD
    if _TOD is None:
        secs = np.arange(86_400)
        hh, rem = np.divmod(secs, 3600)
        mm, ss = np.divmod(rem, 60)
        n = secs.shape[0]
        parts = [digits(hh, 2), const(":", n), digits(mm, 2), const(":", n), digits(ss, 2)]
        _TOD = np.ascontiguousarray(np.concatenate([np.asarray(p.chars) for p in parts], axis=1))
    return _TOD


def fmt_date(days: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """``YYYY-MM-DD``."""
    return assemble(date_parts(days), valid)


def fmt_month(days: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """``YYYY-MM`` of the month containing each date."""
    return assemble(date_parts(days, with_day=False), valid)


@dataclass(frozen=True)
class TsStyle:
    """How each row writes its timestamp (arrays of length n, or scalars).

    zone: 0 wall-clock without offset, 1 ``Z``, 2 ``±HH:MM``, 3 ``±HHMM``, 4 UTC ``+00:00``.
    The renderer never loses information: seconds are dropped only when they are zero,
    a fraction is always written when the value has one, a date alone only at midnight.
    """

    zone: np.ndarray
    t_sep: np.ndarray  # bool: 'T' instead of ' '
    drop_seconds: np.ndarray  # bool, honoured only when seconds and fraction are zero
    fraction: np.ndarray  # 0, 3 or 6 digits at least
    date_only: np.ndarray  # bool, honoured only for wall-clock midnight without offset


def fmt_ts(utc_us: np.ndarray, offset_s: np.ndarray, style: TsStyle,
           valid: np.ndarray | None = None) -> pa.StringArray:
    """ISO-8601 text of instants, each in its own style (see :class:`TsStyle`)."""
    utc_us = np.asarray(utc_us, dtype=np.int64)
    n = utc_us.shape[0]
    zone = np.broadcast_to(np.asarray(style.zone, dtype=np.int64), (n,))
    shifted = (zone == 0) | (zone == 2) | (zone == 3)
    off = np.broadcast_to(np.asarray(offset_s, dtype=np.int64), (n,))
    wall = utc_us + np.where(shifted, off, 0) * US
    days = wall // DAY_US
    tod = wall - days * DAY_US
    secs = tod // US
    micro = tod - secs * US
    date_only = np.broadcast_to(style.date_only, (n,)) & (tod == 0) & (zone == 0)
    has_time = ~date_only
    whole_minute = (secs % 60 == 0) & (micro == 0)
    keep_seconds = has_time & ~(np.broadcast_to(style.drop_seconds, (n,)) & whole_minute)
    needed = np.where(micro == 0, 0, np.where(micro % 1000 == 0, 3, 6))
    frac = np.maximum(np.broadcast_to(style.fraction, (n,)), needed) * keep_seconds
    sep = np.where(np.broadcast_to(style.t_sep, (n,)), ord("T"), ord(" ")).astype(np.uint8)

    time_chars = np.empty((n, 16), dtype=np.uint8)
    time_chars[:, 0] = sep
    time_chars[:, 1:9] = _tod_table()[secs]
    time_chars[:, 9] = ord(".")
    milli = micro // 1000
    time_chars[:, 10:13] = _THOUSAND[milli]
    time_chars[:, 13:16] = _THOUSAND[micro - milli * 1000]
    time_len = np.where(has_time, np.where(keep_seconds, 9, 6), 0)
    time_len = np.where(frac > 0, 10 + frac, time_len)
    time_keep = np.arange(16)[None, :] < time_len[:, None]

    offsets, off_index = np.unique(np.where(shifted, off, 0), return_inverse=True)
    texts = []
    for o in offsets.tolist():
        sign = "-" if o < 0 else "+"
        hh, mm = divmod(abs(o) // 60, 60)
        texts.append(f"{sign}{hh:02d}:{mm:02d}")
    base = choice(texts, off_index.reshape(-1)).chars
    zone_chars = np.array(base, dtype=np.uint8, copy=True)
    no_colon = zone == 3
    zone_chars[no_colon, 3:5] = zone_chars[no_colon, 4:6]
    zone_chars[zone == 4] = np.frombuffer(b"+00:00", dtype=np.uint8)
    is_z = zone == 1
    zone_chars[is_z, 0] = ord("Z")
    zone_len = np.select([zone == 0, is_z, no_colon], [0, 1, 5], 6)
    zone_keep = np.arange(6)[None, :] < zone_len[:, None]
    return assemble([Part(date_chars(days)), Part(time_chars, time_keep),
                     Part(zone_chars, zone_keep)], valid)


def fmt_decimal(scaled: np.ndarray, scale: int, *, min_fraction: np.ndarray | int = 0,
                trailing_dot: np.ndarray | bool = False, leading_dot: np.ndarray | bool = False,
                valid: np.ndarray | None = None) -> pa.StringArray:
    """Plain decimal text of integers scaled by ``10**scale`` (never an exponent).

    Trailing zeros of the fraction are dropped down to ``min_fraction`` digits;
    ``trailing_dot`` writes a whole number as ``12.`` and ``leading_dot`` writes
    ``0.5`` as ``.5`` (both are valid numbers in the contract).
    """
    v = np.asarray(scaled, dtype=np.int64)
    n = v.shape[0]
    neg = v < 0
    a = np.abs(v)
    unit = 10**scale
    whole, frac = np.divmod(a, unit)
    if scale:
        needed = np.full(n, scale, dtype=np.int64)
        for k in range(1, scale + 1):
            needed -= (frac % 10**k) == 0
        nfrac = np.maximum(needed, np.minimum(np.asarray(min_fraction), scale))
    else:
        nfrac = np.zeros(n, dtype=np.int64)
    dot = (nfrac > 0) | (np.asarray(trailing_dot) & (nfrac == 0))
    drop_zero = np.asarray(leading_dot) & (whole == 0) & (nfrac > 0)
    int_part = int_digits(whole)
    int_keep = np.asarray(int_part.keep) & ~drop_zero[:, None]
    parts = [
        optional(const("-", n), neg & (a > 0)),
        Part(int_part.chars, int_keep),
        optional(const(".", n), dot),
    ]
    if scale:
        fd = digits(frac, scale)
        parts.append(Part(fd.chars, np.arange(scale)[None, :] < nfrac[:, None]))
    return assemble(parts, valid)


def codes(prefix: str, *blocks: tuple[np.ndarray, int] | Part, valid=None) -> pa.StringArray:
    """Identifiers such as ``SO-S01-2601-000042``: a prefix then zero-padded numbers.

    Each block is either (values, width) or a ready :class:`Part`, joined with '-'.
    """
    first = blocks[0]
    n = first.chars.shape[0] if isinstance(first, Part) else np.asarray(first[0]).shape[0]
    parts: list[Part] = [const(prefix, n)] if prefix else []
    for i, block in enumerate(blocks):
        if i or prefix:
            parts.append(const("-", n))
        parts.append(block if isinstance(block, Part) else digits(*block))
    return assemble(parts, valid)
