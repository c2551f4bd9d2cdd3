"""Streaming file writers, one per export file, appended to chunk by chunk.

Text formats (CSV/TXT, JSON array, JSON lines, optionally gzip) are assembled as one
Arrow string per row and written as the array's data buffer (no per-row Python);
Parquet goes through ``pq.ParquetWriter`` in row groups; XLSX through xlsxwriter in
``constant_memory`` mode. Everything is deterministic: gzip headers carry no name and
mtime 0, the workbook's creation date is fixed.
"""

from __future__ import annotations

import gzip
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flows.generate.batch import Batch
from flows.generate.layout import FileSpec
from flows.generate.render import header_name, native_table, text_columns, xlsx_columns
from flows.generate.zones import ZoneTable

ROW_GROUP = 128 * 1024
EXTRA_VALUE = "x"


def _data(arr: pa.Array) -> bytes:
    """The concatenated bytes of every string of ``arr`` (no separators)."""
    arr = pc.fill_null(arr, "") if arr.null_count else arr
    if len(arr) == 0:
        return b""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
    lo, hi = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    return bytes(memoryview(arr.buffers()[2])[lo:hi])


class Writer:
    """Base: one export file. ``rows`` counts data rows written so far."""

    def __init__(self, root: Path, spec: FileSpec, zones: ZoneTable) -> None:
        self.root = root
        self.spec = spec
        self.zones = zones
        self.rows = 0
        self.path = root / spec.rel
        self.columns: list[str] | None = None  # contract column names, in file order

    def file_columns(self, names: list[str]) -> list[str]:
        """Contract columns plus the style's schema-drift column, in file order."""
        cols = list(names)
        if self.spec.style.extra_column:
            cols.insert(len(cols) // 2, "\0extra")
        return cols

    def header(self, col: str) -> str:
        if col == "\0extra":
            return self.spec.style.extra_column or ""
        return header_name(col, self.spec.style)

    def append(self, batch: Batch) -> None:
        raise NotImplementedError

    def append_text(self, names: list[str], rows: list[dict[str, str | None]]) -> int:
        """Append raw text rows (faults); returns the row number of the first one."""
        raise NotImplementedError(f"{self.spec.rel}: cannot hold raw text rows")

    def close(self) -> None:
        raise NotImplementedError


class TextWriter(Writer):
    """CSV/TXT, JSON array and JSON lines, optionally gzip-compressed."""

    def __init__(self, root: Path, spec: FileSpec, zones: ZoneTable) -> None:
        super().__init__(root, spec, zones)
        self._raw: BinaryIO | None = None
        self._out: BinaryIO | None = None

    def _open(self, names: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = self.path.open("wb")
        self._out = (gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0,
                                   compresslevel=6) if self.spec.gz else self._raw)
        self.columns = self.file_columns(names)
        style = self.spec.style
        if style.bom:
            self._out.write("\ufeff".encode())
        if self.spec.fmt == "csv":
            heads = [self.header(c) for c in self.columns]
            if style.quote_all:
                heads = [f'"{h}"' for h in heads]
            eol = "\r\n" if style.crlf else "\n"
            self._out.write((style.delimiter.join(heads) + eol).encode())
        elif self.spec.fmt == "json":
            self._out.write(b"[\n")

    def append(self, batch: Batch) -> None:
        if len(batch):
            style = self.spec.style
            self._write(batch.entity.column_names, text_columns(batch, style, self.zones),
                        len(batch), numeric={c.name for c in batch.entity.columns
                                             if c.type in ("int", "num")})

    def append_text(self, names: list[str], rows: list[dict[str, str | None]]) -> int:
        first = self.rows + 1
        cols = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in names}
        self._write(names, cols, len(rows), numeric=set())
        return first

    def _write(self, names: list[str], cols: dict[str, pa.Array], n: int,
               numeric: set[str]) -> None:
        if self._out is None:
            self._open(names)
        assert self.columns is not None and self._out is not None
        extra = pa.array([EXTRA_VALUE] * n, pa.string())
        values = [extra if c == "\0extra" else cols[c] for c in self.columns]
        csv = self.spec.fmt == "csv"
        line = self._csv_lines(values) if csv else self._json_lines(values, numeric)
        self._out.write(_data(line))
        self.rows += n

    def _csv_lines(self, values: list[pa.Array]) -> pa.Array:
        style = self.spec.style
        special = '["\r\n' + style.delimiter + "]"
        cells = []
        for v in values:
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(v, '"', '""'), '"',
                                                 "")
            if style.quote_all:
                v = quoted
            else:
                needs = pc.fill_null(pc.match_substring_regex(v, special), False)
                v = pc.if_else(needs, quoted, v)
            cells.append(pc.fill_null(v, ""))
        eol = "\r\n" if style.crlf else "\n"
        return pc.binary_join_element_wise(
            pc.binary_join_element_wise(*cells, style.delimiter), eol, "")

    def _json_lines(self, values: list[pa.Array], numeric: set[str]) -> pa.Array:
        style = self.spec.style
        assert self.columns is not None
        pieces = []
        for col, v in zip(self.columns, values, strict=True):
            key = '"' + self.header(col).replace("\\", "\\\\").replace('"', '\\"') + '": '
            escaped = pc.replace_substring(pc.replace_substring(v, "\\", "\\\\"), '"', '\\"')
            text = pc.binary_join_element_wise('"', escaped, '"', "")
            if col in numeric and style.json_numbers and style.pad == 0 and \
                    style.num_variants == 0:
                text = v
            if not style.json_omit_nulls:
                text = pc.fill_null(text, "null")
            pieces.append(pc.binary_join_element_wise(key, text, ""))
        row = pc.binary_join_element_wise(*pieces, ", ", null_handling="skip")
        row = pc.binary_join_element_wise("{", row, "}", "")
        if self.spec.fmt == "jsonl":
            return pc.binary_join_element_wise(row, "\n", "")
        sep = pa.array([",\n"] * len(row), pa.string())
        if self.rows == 0 and len(row):
            sep = pa.concat_arrays([pa.array([""], pa.string()), sep[1:]])
        return pc.binary_join_element_wise(sep, row, "")

    def close(self) -> None:
        if self._out is None:
            return
        if self.spec.fmt == "json":
            self._out.write(b"\n]\n")
        self._out.close()
        if self._raw is not self._out and self._raw is not None:
            self._raw.close()
        self._out = self._raw = None


class ParquetFileWriter(Writer):
    """Native types (decimals or doubles, dates, timestamps), row groups of 128 Ki rows."""

    def __init__(self, root: Path, spec: FileSpec, zones: ZoneTable) -> None:
        super().__init__(root, spec, zones)
        self._writer: pq.ParquetWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def append(self, batch: Batch) -> None:
        if not len(batch):
            return
        table = native_table(batch, self.spec.style, self.zones)
        self.columns = batch.entity.column_names
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.rows += table.num_rows
        if self._pending_rows >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._writer.write_table(table, row_group_size=ROW_GROUP)
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class XlsxFileWriter(Writer):
    """First sheet, header row, native number/date cells where they read back exactly."""

    def __init__(self, root: Path, spec: FileSpec, zones: ZoneTable) -> None:
        super().__init__(root, spec, zones)
        self._book = None
        self._sheet = None

    def _open(self, batch: Batch) -> None:
        import xlsxwriter  # only XLSX files need it

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._book = xlsxwriter.Workbook(str(self.path), {
            "constant_memory": True, "strings_to_numbers": False,
            "strings_to_formulas": False, "strings_to_urls": False})
        self._book.set_properties({"created": datetime(2026, 1, 1)})
        self._sheet = self._book.add_worksheet(batch.entity.name[:31])
        self._date = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._datetime = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.columns = self.file_columns(batch.entity.column_names)
        for j, c in enumerate(self.columns):
            self._sheet.write_string(0, j, self.header(c))

    def append(self, batch: Batch) -> None:
        if not len(batch):
            return
        if self._book is None:
            self._open(batch)
        assert self.columns is not None and self._sheet is not None
        by_name = dict(zip(batch.entity.column_names,
                           xlsx_columns(batch, self.spec.style, self.zones), strict=True))
        cols = [by_name.get(c, [EXTRA_VALUE] * len(batch)) for c in self.columns]
        sheet = self._sheet
        for i in range(len(batch)):
            r = self.rows + 1 + i
            for j, col in enumerate(cols):
                v = col[i]
                if v is None:
                    continue
                if isinstance(v, str):
                    sheet.write_string(r, j, v)
                elif isinstance(v, datetime):
                    sheet.write_datetime(r, j, v, self._datetime)
                elif isinstance(v, date):
                    sheet.write_datetime(r, j, datetime(v.year, v.month, v.day), self._date)
                else:
                    sheet.write_number(r, j, v)
        self.rows += len(batch)

    def close(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None


def open_writer(root: Path, spec: FileSpec, zones: ZoneTable) -> Writer:
    if spec.fmt == "parquet":
        return ParquetFileWriter(root, spec, zones)
    if spec.fmt == "xlsx":
        return XlsxFileWriter(root, spec, zones)
    return TextWriter(root, spec, zones)
