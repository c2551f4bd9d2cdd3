"""Logical batch → what a file holds: text cells, Arrow columns for Parquet, XLSX cells.

Column types come from the contract; per-row style choices (timestamp notation, padding,
letter case, blank defaults...) come from each row's noise word hashed with the column
name, so they are stable whatever chunks a batch was assembled from. A wall-clock
timestamp is only written without offset where that is lossless (not in the first
occurrence of a repeated hour); every other choice is exact by construction.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.contract import Column
from flows.generate.batch import Arr, Batch, Values, is_value
from flows.generate.styles import FileStyle
from flows.generate.text import (
    US,
    TsStyle,
    assemble,
    choice,
    fmt_date,
    fmt_decimal,
    fmt_month,
    fmt_ts,
)
from flows.generate.zones import ZoneTable

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_EPOCH = date(1970, 1, 1)


def uniform(noise: np.ndarray, label: str) -> np.ndarray:
    """A uniform [0, 1) number per row, from its noise word and a label (splitmix64)."""
    salt = np.uint64(zlib.crc32(label.encode()))
    with np.errstate(over="ignore"):
        z = noise + salt * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def header_name(name: str, style: FileStyle) -> str:
    """Contract column name as the file writes it (case and spaces are tolerated)."""
    if style.header == "upper":
        return name.upper()
    if style.header == "title":
        return "_".join(p.capitalize() for p in name.split("_"))
    if style.header == "padded":
        return f" {name.title()} "
    return name


def _num_text(a: Arr, u: np.ndarray, style: FileStyle) -> pa.Array:
    values, scale = a.values, a.scale
    if style.num_variants <= 0:
        return fmt_decimal(values, scale, valid=a.valid)
    if scale == 0:
        values, scale = values * 10, 1
    pick = u < style.num_variants
    which = (u * 1e6).astype(np.int64) % 3
    return fmt_decimal(values, scale, min_fraction=(pick & (which == 0)).astype(np.int64),
                       trailing_dot=pick & (which == 1), leading_dot=pick & (which == 2),
                       valid=a.valid)


def ts_style(batch: Batch, name: str, style: FileStyle, zones: ZoneTable,
             values: np.ndarray) -> TsStyle:
    n = len(batch)
    weights = np.cumsum(style.ts_zone) / sum(style.ts_zone)
    kind = np.searchsorted(weights, uniform(batch.noise, name + "/zone"), side="right")
    kind = np.minimum(kind, 4)
    naive = kind == 0
    if naive.any():
        unsafe = naive.copy()
        unsafe[naive] = ~zones.naive_safe(batch.zone[naive], values[naive])
        kind = np.where(unsafe, 2, kind)
    return TsStyle(
        zone=kind,
        t_sep=uniform(batch.noise, name + "/T") < style.t_sep,
        drop_seconds=uniform(batch.noise, name + "/sec") < style.drop_seconds,
        fraction=np.full(n, style.fraction),
        date_only=uniform(batch.noise, name + "/date") < style.date_only,
    )


def column_text(batch: Batch, col: Column, style: FileStyle, zones: ZoneTable) -> pa.Array:
    """One contract column as the text a CSV/JSON file writes (null = empty)."""
    values = batch.cols[col.name]
    noise = batch.noise
    if not isinstance(values, Arr):
        text = values
    elif values.cats is not None:
        text = assemble([choice(values.cats, values.values)], values.valid)
    elif col.type in ("int", "num"):
        text = _num_text(values, uniform(noise, col.name + "/num"), style)
    elif col.type == "date":
        text = fmt_date(values.values, values.valid)
    elif col.type == "month":
        as_date = uniform(noise, col.name + "/month") < style.month_as_date
        text = pc.if_else(pa.array(as_date), fmt_date(values.values, values.valid),
                          fmt_month(values.values, values.valid))
    elif col.type in ("ts", "date_or_ts"):
        offsets = zones.offset_s(batch.zone, values.values)
        text = fmt_ts(values.values, offsets, ts_style(batch, col.name, style, zones,
                                                       values.values), values.valid)
    else:
        raise ValueError(f"cannot render {col.type}")
    return _decorate(batch, col, values, text, style)


def _decorate(batch: Batch, col: Column, values: Values, text: pa.Array,
              style: FileStyle) -> pa.Array:
    noise = batch.noise
    if col.default is not None and style.blank_defaults > 0:
        if isinstance(values, Arr) and values.cats is None:
            is_default = (values.values == int(col.default) * 10**values.scale) & values.mask()
        else:
            is_default = is_value(values, col.default)
        blank = is_default & (uniform(noise, col.name + "/blank") < style.blank_defaults)
        if blank.any():
            text = pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)
    if (col.allowed or col.currency) and style.case_mix > 0:
        u = uniform(noise, col.name + "/case")
        mixed = pc.if_else(pa.array(u < style.case_mix / 2), pc.utf8_upper(text),
                           pc.utf8_title(text))
        text = pc.if_else(pa.array(u < style.case_mix), mixed, text)
    if style.pad > 0:
        padded = pc.binary_join_element_wise(" ", text, "  ", "")
        text = pc.if_else(pa.array(uniform(noise, col.name + "/pad") < style.pad), padded, text)
    return text


def text_columns(batch: Batch, style: FileStyle, zones: ZoneTable) -> dict[str, pa.Array]:
    return {c.name: column_text(batch, c, style, zones) for c in batch.entity.columns}


# --- Parquet ------------------------------------------------------------------------------
def _decimal(a: Arr) -> pa.Array:
    n = a.values.shape[0]
    words = np.zeros((n, 2), dtype=np.int64)
    words[:, 0] = a.values
    words[:, 1] = np.where(a.values < 0, -1, 0)
    validity, nulls = None, 0
    if a.valid is not None and not a.valid.all():
        validity = pa.py_buffer(np.packbits(a.valid, bitorder="little"))
        nulls = int((~a.valid).sum())
    return pa.Array.from_buffers(pa.decimal128(18, a.scale), n,
                                 [validity, pa.py_buffer(words)], nulls)


def _mask(a: Arr) -> np.ndarray | None:
    return None if a.valid is None else ~a.valid


def native_column(batch: Batch, col: Column, style: FileStyle, zones: ZoneTable) -> pa.Array:
    """One contract column as a natively typed Arrow array for Parquet."""
    values = batch.cols[col.name]
    if col.name in style.parquet_text or not isinstance(values, Arr) or values.cats:
        return column_text(batch, col, style, zones)
    if col.type == "int":
        return pa.array(values.values, pa.int64(), mask=_mask(values))
    if col.type == "num":
        if style.parquet_num == "double":
            return pa.array(values.values / 10**values.scale, pa.float64(), mask=_mask(values))
        if style.parquet_num == "text":
            return column_text(batch, col, style, zones)
        return _decimal(values)
    if col.type in ("date", "month"):
        return pa.array(values.values.astype(np.int32), pa.date32(), mask=_mask(values))
    if col.type in ("ts", "date_or_ts"):
        if col.name in style.parquet_local:
            ok = values.mask()
            if not zones.naive_safe(batch.zone[ok], values.values[ok]).all():
                raise ValueError(f"{col.name}: wall-clock time in a repeated hour cannot be "
                                 "stored as naive Parquet timestamp")
            wall = zones.local_us(batch.zone, values.values)
            return pa.array(wall, pa.timestamp("us"), mask=_mask(values))
        return pa.array(values.values, pa.timestamp("us", tz="UTC"), mask=_mask(values))
    raise ValueError(f"cannot store {col.type}")


def native_table(batch: Batch, style: FileStyle, zones: ZoneTable) -> pa.Table:
    cols = batch.entity.columns
    return pa.table({header_name(c.name, style): native_column(batch, c, style, zones)
                     for c in cols})


# --- XLSX -----------------------------------------------------------------------------
def xlsx_columns(batch: Batch, style: FileStyle, zones: ZoneTable) -> list[list[object]]:
    """Per contract column, the cell values: str, int, float, date or datetime (None =
    empty). Native cells only where they read back exactly (see read.py/fastexcel)."""
    out: list[list[object]] = []
    for col in batch.entity.columns:
        values = batch.cols[col.name]
        text = column_text(batch, col, style, zones).to_pylist()
        if not style.xlsx_native or not isinstance(values, Arr) or values.cats is not None:
            out.append(text)
            continue
        ok = values.mask()
        if col.type in ("int", "num"):
            native = (values.values / 10**values.scale).tolist() if values.scale else \
                values.values.tolist()
            out.append([v if k else None for v, k in zip(native, ok.tolist(), strict=True)])
        elif col.type in ("date", "month"):
            use = ok if col.type == "date" else ok & (
                uniform(batch.noise, col.name + "/month") < style.month_as_date)
            dates = [_EPOCH + timedelta(days=int(d)) for d in values.values.tolist()]
            out.append([d if u else t for d, u, t in zip(dates, use.tolist(), text, strict=True)])
        elif col.type in ("ts", "date_or_ts"):
            wall = zones.local_us(batch.zone, values.values)
            use = ok & (wall % US == 0) & zones.naive_safe(batch.zone, values.values)
            use &= uniform(batch.noise, col.name + "/cell") < 0.5
            cells = []
            for w, u_, t in zip(wall.tolist(), use.tolist(), text, strict=True):
                cells.append(datetime(1970, 1, 1) + timedelta(microseconds=w) if u_ else t)
            out.append(cells)
        else:
            out.append(text)
    return out
