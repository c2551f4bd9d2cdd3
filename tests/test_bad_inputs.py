"""The bad-input corpus: every kind of broken export we know of, in one folder.

Each kind is one entry of ``KINDS``: the file(s) it writes and what the contract says
must happen to it:

- ``Rejected``: the whole file (or folder) is refused; its manifest row says why, the
  reason starts with the path and names the line or column where there is one;
  nothing of it reaches raw or the quarantine;
- ``Quarantined``: the file loads; the named rows are in the quarantine with a reason
  naming the column (or what is wrong with the row) and their raw values kept, and
  every other row of the file loads;
- ``Loads``: not bad after all (a variant the contract accepts): every row loads;
- ``Duplicate``: the same bytes under another name: skipped, the first one loaded.

All kinds are ingested together, with good files beside them, in ONE run of the real
``ingest_exports`` in a child process that cannot bypass file permissions (so an
unreadable file is unreadable even when the tests run as root, and a FIFO could never
hang pytest). A few kinds then go through the real CLI (``opskpi refresh``), batched
into two refreshes: one that publishes beside its rejected files, and one the quality
gate blocks, which leaves the published file byte-identical (and a third call that the
command line refuses: an unreadable exports folder).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from tests.ingest_helpers import (
    Warehouse,
    csv_text,
    ingest_in_child,
    jsonl_text,
    permissions_apply,
    row,
    write,
)

# --- what must happen ---------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    words: tuple[str, ...]  # each in the reason (case-insensitive), after '<path>: '


@dataclass(frozen=True)
class Quarantined:
    #: (row number, words of one of its reasons, raw values that must be kept)
    rows: tuple[tuple[int, str, dict[str, Any]], ...]
    loaded: tuple[str, ...]  # keys of the rows of the same file that load


@dataclass(frozen=True)
class Loads:
    keys: tuple[str, ...]  # every key loaded from the file, in row order
    values: dict[str, Any] = field(default_factory=dict)  # {column: value of the first row}
    drift: str | None = None  # schema_drift of the manifest


@dataclass(frozen=True)
class Duplicate:
    of: str  # the path (relative) of the file loaded with the same bytes


Expect = Rejected | Quarantined | Loads | Duplicate
Maker = Callable[[Path], None]


@dataclass(frozen=True)
class Kind:
    name: str
    rel: str  # the manifest path of the entry judged ('x/' for a folder)
    make: Maker  # writes the entry (and whatever it needs) under the exports folder
    expect: Expect
    entity: str = "carriers"


KEY = {"carriers": "carrier_id", "vendors": "vendor_id", "employees": "employee_id",
       "sites": "site_id", "budgets": "site_id", "order_lines": "order_id"}


# --- writers ------------------------------------------------------------------------


def text(rel: str, content: str | bytes) -> Maker:
    return lambda root: write(root, rel, content) and None


def gz(rel: str, content: bytes) -> Maker:
    return lambda root: write(root, rel, gzip.compress(content, mtime=0)) and None


def carriers(*ids: str, **values: str) -> str:
    return csv_text([row("carriers", carrier_id=i, **values) for i in ids])


def xlsx(rel: str, rows: list[list], first_sheet_empty: bool = False,
         formulas: dict[tuple[int, int], tuple[str, str]] | None = None) -> Maker:
    def make(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        book = xlsxwriter.Workbook(str(path))
        if first_sheet_empty:
            book.add_worksheet("empty")
        sheet = book.add_worksheet("data")
        for r, values in enumerate(rows):
            sheet.write_row(r, 0, values)
        for (r, c), (formula, shown) in (formulas or {}).items():
            sheet.write_formula(r, c, formula, None, shown)
        book.close()
    return make


def parquet(rel: str, table: pa.Table | Callable[[], pa.Table]) -> Maker:
    def make(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table() if callable(table) else table, root / rel)
    return make


def parquet_without_row_groups(rel: str) -> Maker:
    def make(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        pq.ParquetWriter(root / rel, pa.schema([("carrier_id", pa.string()),
                                                ("mode", pa.string())])).close()
        assert pq.ParquetFile(root / rel).metadata.num_row_groups == 0
    return make


def unreadable(rel: str, content: str) -> Maker:
    def make(root: Path) -> None:
        write(root, rel, content).chmod(0o000)
    return make


def unreadable_folder(folder: str) -> Maker:
    def make(root: Path) -> None:
        write(root, f"{folder}/carriers.csv", carriers("hidden-1"))
        (root / folder).chmod(0o000)
    return make


def symlink(rel: str, target: str) -> Maker:
    def make(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(root / target)
    return make


def fifo(rel: str) -> Maker:
    def make(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(root / rel)
    return make


def several(*makers: Maker) -> Maker:
    def make(root: Path) -> None:
        for m in makers:
            m(root)
    return make


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


HUGE = "x" * 10_000_000
WIDE = 3000  # columns of the 'huge number of columns' kind
ORDER_NO_STATUS = csv_text([{k: v for k, v in row("order_lines", order_id="k34-1").items()
                             if k != "status"}])
SQL = "Robert'); DROP TABLE raw.carriers; --"

# --- the corpus ---------------------------------------------------------------------

KINDS: list[Kind] = [
    # whole files refused: what cannot be opened
    Kind("unreadable file", "k01/carriers.csv", unreadable("k01/carriers.csv", carriers("k01-1")),
         Rejected(("cannot be read: permission denied",))),
    Kind("unreadable folder", "k02/locked/", unreadable_folder("k02/locked"),
         Rejected(("folder cannot be read: permission denied; the files in it were not seen",)),
         entity=""),
    Kind("broken symbolic link", "k03/carriers.csv", symlink("k03/carriers.csv", "k03/gone.csv"),
         Rejected(("broken symbolic link",))),
    Kind("symbolic link loop", "k04/carriers.csv", symlink("k04/carriers.csv", "k04/carriers.csv"),
         Rejected(("symbolic link loop",))),
    Kind("FIFO named like an export", "k05/carriers.csv", fifo("k05/carriers.csv"),
         Rejected(("not a regular file", "fifo"))),
    Kind("folder link looping back", "k06/back/", symlink("k06/back", "k06"),
         Rejected(("symbolic link loop",)), entity=""),
    Kind("file removed between discovery and read", "zz_removed/carriers.csv",
         text("zz_removed/carriers.csv", carriers("k07-1")),
         Rejected(("file disappeared before it could be read",))),
    # ambiguous columns
    Kind("header names a column twice (case)", "k08/carriers.csv",
         text("k08/carriers.csv", "carrier_id,mode,Carrier_ID\nk08-1,ftl,k08-2\n"),
         Rejected(("columns 1 ('carrier_id') and 3 ('Carrier_ID') both name contract column "
                   "'carrier_id': ambiguous",))),
    Kind("header names a column twice (same, tab)", "k09/carriers.txt",
         text("k09/carriers.txt", "carrier_id\tmode\tmode\nk09-1\tftl\tltl\n"),
         Rejected(("columns 2 ('mode') and 3 ('mode')", "ambiguous"))),
    Kind("XLSX header names a column twice", "k10/carriers.xlsx",
         xlsx("k10/carriers.xlsx", [["mode", "carrier_id", "CARRIER_ID"], ["ftl", "k10-1", "k10-2"]]),
         Rejected(("columns 2 ('carrier_id') and 3 ('CARRIER_ID')", "ambiguous"))),
    Kind("JSON keys differing in case", "k11/carriers.jsonl",
         text("k11/carriers.jsonl", '{"carrier_id": "k11-1"}\n{"Carrier_ID": "k11-2"}\n'),
         Rejected(("columns 1 ('carrier_id') and 2 ('Carrier_ID')", "ambiguous"))),
    Kind("JSON object with a key twice", "k12/carriers.json",
         text("k12/carriers.json", '[{"carrier_id": "k12-1"}, {"carrier_id": "a", "carrier_id": "b"}]'),
         Rejected(("object 2 has the key 'carrier_id' twice: ambiguous",))),
    Kind("Parquet field names a column twice", "k13/carriers.parquet",
         parquet("k13/carriers.parquet", lambda: pa.Table.from_arrays(
             [pa.array(["k13-1"]), pa.array(["k13-2"])], names=["carrier_id", "CARRIER_ID"])),
         Rejected(("columns 1 ('carrier_id') and 2 ('CARRIER_ID')", "ambiguous"))),
    # values that are not plain values
    Kind("Parquet struct column", "k14/carriers.parquet",
         parquet("k14/carriers.parquet", lambda: pa.table({
             "carrier_id": ["k14-1"], "carrier_name": pa.array([{"code": "S01"}])})),
         Rejected(("column 'carrier_name' (carrier_name) holds STRUCT(code VARCHAR) values",))),
    Kind("Parquet list column", "k15/carriers.parquet",
         parquet("k15/carriers.parquet", lambda: pa.table({
             "carrier_id": ["k15-1"], "on_time_target": pa.array([[0.5, 0.6]])})),
         Rejected(("column 'on_time_target'", "DOUBLE[] values"))),
    Kind("Parquet map column", "k16/carriers.parquet",
         parquet("k16/carriers.parquet", lambda: pa.table({
             "carrier_id": ["k16-1"],
             "mode": pa.array([[("a", "ftl")]], pa.map_(pa.string(), pa.string()))})),
         Rejected(("column 'mode'", "MAP(VARCHAR, VARCHAR) values"))),
    Kind("JSON object as a value", "k17/carriers.jsonl",
         text("k17/carriers.jsonl", '{"carrier_id": "k17-1"}\n{"carrier_id": "k17-2", "mode": ["ftl"]}\n'),
         Rejected(("column 'mode' (mode) holds an object or array (first in line 2)",))),
    # broken syntax, named by its line
    Kind("JSONL broken line", "k18/carriers.jsonl",
         text("k18/carriers.jsonl", '{"carrier_id": "k18-1"}\n\n{"carrier_id": k18-3}\n'),
         Rejected(("line 3 is not valid JSON",))),
    Kind("CSV with a 10 MB value", "k19/carriers.csv",
         text("k19/carriers.csv", f"carrier_id,carrier_name\nk19-1,a\nk19-2,{HUGE}\n"),
         # "k19-2," (6 bytes) + 10,000,000 x's
         Rejected(("line 3 is 10,000,006 bytes long",))),
    Kind("malformed JSON array", "k20/carriers.json",
         text("k20/carriers.json", '[\n {"carrier_id": "k20-1"},\n {"carrier_id": "k20-2",,}\n]'),
         # line 3 is ` {"carrier_id": "k20-2",,}`: 24 characters, then the second comma
         Rejected(("line 3, column 25 is not valid JSON (Expecting property name",))),
    Kind("JSON object, not an array", "k21/carriers.json",
         text("k21/carriers.json", '{"carrier_id": "k21-1"}'),
         Rejected(("not a json array of objects",))),
    Kind("JSON array of non-objects", "k22/carriers.json",
         text("k22/carriers.json", '[{"carrier_id": "k22-1"}, "k22-2", 3]'),
         Rejected(("element 2 is not a json object",))),
    Kind("JSON array of arrays", "k23/carriers.json",
         text("k23/carriers.json", '[[{"carrier_id": "k23-1"}]]'),
         Rejected(("element 1 is not a json object",))),
    Kind("JSONL line holding an array", "k24/carriers.ndjson",
         text("k24/carriers.ndjson", '{"carrier_id": "k24-1"}\n[{"carrier_id": "k24-2"}]\n'),
         Rejected(("line 2 is not a json object",))),
    Kind("JSON Lines saved as .json", "k25/carriers.json",
         text("k25/carriers.json", '{"carrier_id": "k25-1"}\n{"carrier_id": "k25-2"}\n'),
         Rejected(("not a json array of objects",))),
    # broken bytes
    Kind("truncated gzip", "k26/carriers.json.gz",
         lambda root: write(root, "k26/carriers.json.gz", gzip.compress(
             json.dumps([row("carriers", carrier_id=f"k26-{i}") for i in range(50)]).encode(),
             mtime=0)[:60]) and None,
         Rejected(("gzip file cut short",))),
    Kind("not gzip at all", "k27/carriers.csv.gz", text("k27/carriers.csv.gz", carriers("k27-1")),
         Rejected(("not a gzip file",))),
    Kind("0-byte .gz", "k28/carriers.csv.gz", text("k28/carriers.csv.gz", b""),
         Rejected(("empty file: no header row",))),
    Kind("binary junk", "k29/carriers.csv", text("k29/carriers.csv", bytes(range(256)) * 64),
         Rejected(("line 1 holds NUL bytes", "or a binary file, not UTF-8 text"))),
    Kind("Windows-1252 bytes after a header", "k29b/carriers.csv",
         # the first byte that is no UTF-8 (0x93, a curly quote) is on line 2, at offset
         # 24 (the header line) + 7 ("k29b-1,") = 31
         text("k29b/carriers.csv", "carrier_id,carrier_name\nk29b-1,\u201cSwift\u201d\n".encode("cp1252")),
         Rejected(("line 2: not utf-8 text: byte 0x93 at offset 31",))),
    Kind("XLSX bytes named .csv", "k30/carriers.csv", text("k30/carriers.csv", xlsx_bytes()),
         Rejected(("not utf-8",))),
    Kind("empty file", "k31/carriers.csv", text("k31/carriers.csv", b""),
         Rejected(("empty file: no header row",))),
    Kind("Latin-1 bytes", "k32/carriers.csv",
         text("k32/carriers.csv", "carrier_id,carrier_name\nk32-1,a\nk32-2,Caf\xe9\n".encode("latin-1")),
         Rejected(("line 3: not utf-8 text: byte 0xe9",))),
    Kind("UTF-16 bytes", "k33/carriers.csv",
         text("k33/carriers.csv", carriers("k33-1").encode("utf-16")),
         Rejected(("utf-16 text (it starts with a utf-16 byte order mark), not utf-8",))),
    Kind("missing required column", "k34/order_lines.csv", text("k34/order_lines.csv", ORDER_NO_STATUS),
         Rejected(("missing required column(s) status",)), entity="order_lines"),
    Kind("header of spaces only", "k35/carriers.csv", text("k35/carriers.csv", "   \nk35-1\n"),
         Rejected(("no header row",))),
    Kind("header of empty names only", "k36/carriers.csv", text("k36/carriers.csv", " , ,\nk36-1,a,b\n"),
         Rejected(("no header row",))),
    Kind("corrupt XLSX", "k37/carriers.xlsx", text("k37/carriers.xlsx", b"PK\x03\x04 broken zip"),
         Rejected(("not a readable xlsx workbook",))),
    Kind("XLSX whose first sheet is empty", "k38/carriers.xlsx",
         xlsx("k38/carriers.xlsx", [["carrier_id"], ["k38-1"]], first_sheet_empty=True),
         Rejected(("the first sheet is empty",))),
    Kind(".gz of a .parquet", "k39/carriers.parquet.gz", gz("k39/carriers.parquet.gz", b"PAR1"),
         Rejected(("unsupported file extension",))),
    Kind("half-downloaded .part file", "k40/carriers.csv.part",
         text("k40/carriers.csv.part", carriers("k40-1")),
         Rejected(("unsupported file extension",))),
    # rows quarantined, raw values kept, the rest of the file loads
    Kind("SQL-looking values", "k41/carriers.csv",
         text("k41/carriers.csv", csv_text([
             row("carriers", carrier_id="k41-1", carrier_name=SQL),
             row("carriers", carrier_id="k41-2", on_time_target="0; DROP TABLE raw.carriers")])),
         Quarantined(((2, "on_time_target: '0; DROP TABLE raw.carriers' is not a number",
                       {"on_time_target": "0; DROP TABLE raw.carriers"}),), ("k41-1",))),
    Kind("NaN and Infinity as text", "k42/carriers.csv",
         text("k42/carriers.csv", csv_text([
             row("carriers", carrier_id="k42-1", on_time_target="NaN"),
             row("carriers", carrier_id="k42-2", on_time_target="-Infinity"),
             row("carriers", carrier_id="k42-3", on_time_target="0.5")])),
         Quarantined(((1, "on_time_target: 'NaN' is not a number", {"on_time_target": "NaN"}),
                      (2, "on_time_target: '-Infinity' is not a number", {})), ("k42-3",))),
    Kind("unknown time zone", "k43/sites.csv",
         text("k43/sites.csv", csv_text([row("sites", site_id="k43-1", timezone="Mars/Olympus_Mons"),
                                         row("sites", site_id="k43-2")])),
         Quarantined(((1, "timezone: 'Mars/Olympus_Mons' is not an IANA time zone name",
                       {"timezone": "Mars/Olympus_Mons"}),), ("k43-2",)), entity="sites"),
    Kind("number beyond DECIMAL(38,10)", "k44/carriers.csv",
         text("k44/carriers.csv", carriers("k44-1", on_time_target="1234567890123456789012345678901.5")
              + "k44-2,b,ftl,1\n"),
         Quarantined(((1, "on_time_target: '1234567890123456789012345678901.5' is too large for a "
                       "number", {}),), ("k44-2",))),
    Kind("JSON number beyond DECIMAL and infinite", "k45/carriers.jsonl",
         text("k45/carriers.jsonl", '{"carrier_id": "k45-1", "on_time_target": 1e400}\n'
              '{"carrier_id": "k45-2", "on_time_target": 1234567890123456789012345678901.5}\n'
              '{"carrier_id": "k45-3", "on_time_target": 0.25}\n'),
         Quarantined(((1, "on_time_target: '1e400' is not a number", {"on_time_target": "1e400"}),
                      (2, "on_time_target:", {})), ("k45-3",))),
    Kind("date 0000-01-01", "k46/employees.csv",
         text("k46/employees.csv", csv_text([row("employees", employee_id="k46-1", hire_date="0000-01-01"),
                                             row("employees", employee_id="k46-2")])),
         Quarantined(((1, "hire_date: '0000-01-01' is not a date", {"hire_date": "0000-01-01"}),),
                     ("k46-2",)), entity="employees"),
    Kind("timestamp at 25:00", "k47/vendors.csv",
         text("k47/vendors.csv", csv_text([row("vendors", vendor_id="k47-1", updated_at="2026-01-01 25:00"),
                                           row("vendors", vendor_id="k47-2")])),
         Quarantined(((1, "updated_at: '2026-01-01 25:00' is not a timestamp", {}),), ("k47-2",)),
         entity="vendors"),
    Kind("time zone offset +25:00", "k48/vendors.csv",
         text("k48/vendors.csv", csv_text([row("vendors", vendor_id="k48-1",
                                               updated_at="2026-01-01T10:00+25:00")])),
         Quarantined(((1, "updated_at: '2026-01-01T10:00+25:00' is not a timestamp", {}),), ()),
         entity="vendors"),
    Kind("February 30", "k49/employees.csv",
         text("k49/employees.csv", csv_text([row("employees", employee_id="k49-1", hire_date="2026-02-30")])),
         Quarantined(((1, "hire_date: '2026-02-30' is not a date", {}),), ()), entity="employees"),
    Kind("row with more fields than the header", "k50/carriers.csv",
         text("k50/carriers.csv", "carrier_id,carrier_name,mode\nk50-1,Swift, Ltd.,ftl\nk50-2,Ok,ltl\n"),
         Quarantined(((1, "row has 4 fields, the header names 3",
                       {"carrier_name": "Swift", "mode": " Ltd.", "(field 4)": "ftl"}),), ("k50-2",))),
    Kind("two files joined (BOM and header in the middle)", "k51/carriers.csv",
         text("k51/carriers.csv", "carrier_id,mode\nk51-1,ftl\n\ufeffcarrier_id,mode\nk51-2,ltl\n"),
         Quarantined(((2, "row repeats the header row", {"carrier_id": "\ufeffcarrier_id"}),),
                     ("k51-1", "k51-2"))),
    Kind("XLSX formula error cells", "k52/carriers.xlsx",
         xlsx("k52/carriers.xlsx",
              [["carrier_id", "carrier_name", "on_time_target"], ["k52-1", "a", 0.5],
               ["k52-2", "b", None], ["k52-3", None, 0.9]],
              formulas={(2, 2): ("=1/0", "#DIV/0!"), (3, 1): ("=NA()", "#N/A")}),
         Quarantined(((2, "on_time_target: '#DIV/0!' is an Excel error value",
                       {"on_time_target": "#DIV/0!"}),
                      (3, "carrier_name: '#N/A' is an Excel error value", {"carrier_name": "#N/A"})),
                     ("k52-1",))),
    Kind("NUL bytes (a zero-filled tail)", "k53/carriers.csv",
         text("k53/carriers.csv", "carrier_id,carrier_name\nk53-1,a\nk53-2,b\x00\x00\x00\n"),
         Quarantined(((2, "NUL byte (a damaged file?) in column(s) carrier_name", {}),), ("k53-1",))),
    Kind("thousands separator", "k54/carriers.csv",
         text("k54/carriers.csv", 'carrier_id,on_time_target\nk54-1,"1,000.5"\nk54-2,1\n'),
         Quarantined(((1, "on_time_target: '1,000.5' is not a number", {"on_time_target": "1,000.5"}),),
                     ("k54-2",))),
    Kind("number with an exponent", "k55/carriers.csv",
         text("k55/carriers.csv", "carrier_id,on_time_target\nk55-1,5e-1\n"),
         Quarantined(((1, "on_time_target: '5e-1' is not a number", {}),), ())),
    Kind("key of spaces only", "k56/carriers.csv",
         text("k56/carriers.csv", "carrier_id,mode\n   ,ftl\nk56-2,ltl\n"),
         Quarantined(((1, "carrier_id: missing (key column)", {"carrier_id": "   "}),), ("k56-2",))),
    Kind("short row missing a required value", "k57/sites.csv",
         text("k57/sites.csv", "site_id,site_name,timezone\nk57-1,Alpha\nk57-2,Beta,UTC\n"),
         Quarantined(((1, "timezone: missing (required)", {"site_name": "Alpha"}),), ("k57-2",)),
         entity="sites"),
    # variants the contract accepts
    Kind("JSON number with 19 significant digits", "k58/budgets.json",
         text("k58/budgets.json", '[{"site_id": "k58-1", "category": "c", "month": "2026-01", '
              '"budget_amount": 12345678901234567.89, "currency": "USD"}]'),
         Loads(("k58-1",), {"budget_amount": Decimal("12345678901234567.89")}), entity="budgets"),
    Kind("quoted newlines", "k59/carriers.csv",
         text("k59/carriers.csv", 'carrier_id,carrier_name\nk59-1,"two\nlines"\nk59-2,"a ""b"""\n'),
         Loads(("k59-1", "k59-2"), {"carrier_name": "two\nlines"})),
    Kind("CRLF line endings", "k60/carriers.csv",
         text("k60/carriers.csv", "carrier_id,mode\r\nk60-1,ftl\r\nk60-2,ltl\r\n"),
         Loads(("k60-1", "k60-2"), {"mode": "ftl"})),
    Kind("CR line endings", "k61/carriers.csv",
         text("k61/carriers.csv", "carrier_id,mode\rk61-1,ftl\rk61-2,ltl\r"),
         Loads(("k61-1", "k61-2"), {"mode": "ftl"})),
    Kind("blank lines between rows", "k62/carriers.csv",
         text("k62/carriers.csv", "carrier_id,mode\n\nk62-1,ftl\n\n\nk62-2,ltl\n\n"),
         Loads(("k62-1", "k62-2"))),
    Kind("BOM before a value", "k63/carriers.csv",
         text("k63/carriers.csv", "carrier_id,mode\n\ufeffk63-1,ftl\n"),
         Loads(("k63-1",))),
    Kind("column names with a quote and a semicolon", "k64/carriers.csv",
         text("k64/carriers.csv", 'carrier_id,"carrier""name","mode;x"\nk64-1,a,b\n'),
         Loads(("k64-1",), {"carrier_name": None}, drift='carrier"name, mode;x')),
    Kind("upper-case extension", "k65/CARRIERS.CSV", text("k65/CARRIERS.CSV", carriers("k65-1")),
         Loads(("k65-1",))),
    Kind("file name with spaces and unicode", "k66/carriers_Zürich 2026 (v2) – final.csv",
         text("k66/carriers_Zürich 2026 (v2) – final.csv", carriers("k66-1")), Loads(("k66-1",))),
    Kind("Parquet with zero row groups", "k67/carriers.parquet",
         parquet_without_row_groups("k67/carriers.parquet"), Loads(())),
    Kind("header-only CSV", "k68/carriers.csv", text("k68/carriers.csv", "carrier_id,mode\n"),
         Loads(())),
    Kind("huge number of columns", "k69/carriers.csv",
         text("k69/carriers.csv", ",".join(["carrier_id", *[f"x{i}" for i in range(WIDE - 1)]])
              + "\n" + ",".join(["k69-1", *["v"] * (WIDE - 1)]) + "\n"),
         Loads(("k69-1",), drift=", ".join(f"x{i}" for i in range(WIDE - 1)))),
    Kind("XLSX table not at A1", "k70/carriers.xlsx",
         lambda root: _xlsx_offset(root, "k70/carriers.xlsx"), Loads(("k70-1",), {"mode": "ftl"})),
    Kind("the same file under three names", "k71/c/Carriers_copy.CSV",
         several(text("k71/a/carriers.csv", carriers("k71-1")),
                 text("k71/b/carriers_resent.csv", carriers("k71-1")),
                 text("k71/c/Carriers_copy.CSV", carriers("k71-1"))),
         Duplicate("k71/a/carriers.csv")),
    Kind("the same file under three names (second copy)", "k71/b/carriers_resent.csv",
         lambda root: None, Duplicate("k71/a/carriers.csv")),
]


def _xlsx_offset(root: Path, rel: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(3, 2, ["carrier_id", "mode"])
    sheet.write_row(4, 2, ["k70-1", "FTL"])
    book.close()


#: Good files beside the bad ones: every row of them must load.
GOOD = {
    "good/carriers.csv": carriers("good-c1", "good-c2"),
    "good/vendors.jsonl": jsonl_text([row("vendors", vendor_id="good-v1")]),
    "good/sites.csv": csv_text([row("sites", site_id="good-s1")]),
    "zz_good/carriers.csv": carriers("good-c3"),
}

REMOVED = "zz_removed/carriers.csv"  # deleted by the child after its first file


# --- one ingestion of the whole corpus ------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("bad_inputs")
    exports = root / "exports"
    exports.mkdir()
    for rel, content in GOOD.items():
        write(exports, rel, content)
    for kind in KINDS:
        kind.make(exports)
    logs = ingest_in_child(exports, root / "ops.duckdb", remove=[exports / REMOVED])
    for path in (exports / "k01/carriers.csv", exports / "k02/locked"):
        path.chmod(0o755)
    wh = Warehouse(root / "ops.duckdb")
    yield wh, logs
    wh.close()


def test_the_corpus_has_every_kind() -> None:
    assert len({k.name for k in KINDS}) >= 45
    assert len({k.rel for k in KINDS}) == len(KINDS)


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_bad_input(corpus, kind: Kind) -> None:
    wh, logs = corpus
    manifest = wh.manifest()
    assert kind.rel in manifest, f"{kind.rel} not recorded: {sorted(manifest)}"
    m = manifest[kind.rel]
    expect = kind.expect
    if isinstance(expect, Rejected):
        assert m["status"] == "rejected", m
        assert m["reason"].startswith(f"{kind.rel}: "), m["reason"]
        for word in expect.words:
            assert word.lower() in m["reason"].lower(), (word, m["reason"])
        assert (m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == (None, None, None)
        # one clear line in the run log, as the CLI prints it
        assert f"REJECTED {kind.rel}: " in "\n".join(logs)
        assert [q for q in wh.quarantine() if q["file"] == kind.rel] == []
        if kind.entity:
            assert wh.rows(f"SELECT count(*) FROM raw.{kind.entity} WHERE _file = ?",
                           [kind.rel]) == [(0,)]
        return
    if isinstance(expect, Duplicate):
        assert (m["status"], m["reason"]) == (
            "skipped_duplicate", f"same bytes as {expect.of} (already loaded)"), m
        assert manifest[expect.of]["sha256"] == m["sha256"]
        return

    assert m["status"] == "loaded", m
    key = KEY[kind.entity]
    loaded = [r[0] for r in wh.rows(
        f"SELECT {key} FROM raw.{kind.entity} WHERE _file = ? ORDER BY _row", [kind.rel])]
    quarantined = [q for q in wh.quarantine(kind.entity) if q["file"] == kind.rel]
    if isinstance(expect, Loads):
        assert loaded == list(expect.keys)
        assert quarantined == []
        assert (m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == (
            len(expect.keys), len(expect.keys), 0)
        if expect.values:
            first = wh.dicts(f"SELECT * FROM raw.{kind.entity} WHERE _file = ? ORDER BY _row "
                             "LIMIT 1", [kind.rel])[0]
            assert {c: first[c] for c in expect.values} == expect.values
        assert m["schema_drift"] == expect.drift
        return

    assert isinstance(expect, Quarantined)
    assert loaded == list(expect.loaded)
    assert [q["row_number"] for q in quarantined] == [r for r, _, _ in expect.rows]
    for q, (row_number, words, raw) in zip(quarantined, expect.rows, strict=True):
        assert any(words in reason for reason in q["reason_list"]), (row_number, q["reason_list"])
        kept = json.loads(q["raw"])
        assert {k: kept.get(k) for k in raw} == raw, kept
    assert (m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == (
        len(expect.loaded) + len(expect.rows), len(expect.loaded), len(expect.rows))
    assert any(line.startswith(f"  quarantined {kind.rel} row {expect.rows[0][0]}: ")
               for line in logs), logs


def test_good_files_beside_the_bad_ones_load_whole(corpus) -> None:
    wh, _ = corpus
    manifest = wh.manifest()
    assert {rel: manifest[rel]["status"] for rel in GOOD} == dict.fromkeys(GOOD, "loaded")
    assert wh.rows("SELECT _file, carrier_id FROM raw.carriers WHERE _file LIKE '%good/%' "
                   "ORDER BY _file, _row") == [
        ("good/carriers.csv", "good-c1"), ("good/carriers.csv", "good-c2"),
        ("zz_good/carriers.csv", "good-c3")]
    assert wh.rows("SELECT vendor_id FROM raw.vendors WHERE _file = 'good/vendors.jsonl'") == [
        ("good-v1",)]
    assert wh.rows("SELECT site_id FROM raw.sites WHERE _file = 'good/sites.csv'") == [("good-s1",)]


def test_nothing_found_is_unaccounted_for(corpus) -> None:
    """Every manifest row is one of the corpus's entries or good files (and the files
    hidden in the unreadable folder are not seen, which that folder's row says)."""
    wh, _ = corpus
    expected = {k.rel for k in KINDS} | set(GOOD) | {"k71/a/carriers.csv"}
    assert set(wh.manifest()) == expected
    unread = {p for p, m in wh.manifest().items() if m["sha256"] == "unread"}
    assert unread == {"k01/carriers.csv", "k02/locked/", "k03/carriers.csv", "k04/carriers.csv",
                      "k05/carriers.csv", "k06/back/", REMOVED}
    assert wh.rows("SELECT count(*) FROM raw.carriers WHERE carrier_id = 'hidden-1'") == [(0,)]


def test_sql_looking_value_is_stored_as_text(corpus) -> None:
    wh, _ = corpus
    assert wh.rows("SELECT carrier_name FROM raw.carriers WHERE carrier_id = 'k41-1'") == [(SQL,)]


# --- through the real CLI -------------------------------------------------------------

AS_OF = "2026-01-25"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refresh(cli_env: dict[str, str], exports: Path, warehouse: Path) -> tuple[int, str]:
    """``opskpi refresh`` in a child process that cannot bypass file permissions, with
    the run log at INFO (where the REJECTED lines are); returns (exit code, output)."""
    env = {**cli_env, "OPSKPI_DBT_TASK_PER_NODE": "false", "PREFECT_LOGGING_LEVEL": "INFO"}
    done = subprocess.run(
        [*permissions_apply(), sys.executable, "-m", "flows.cli", "refresh", "--exports",
         str(exports), "--warehouse", str(warehouse), "--as-of", AS_OF],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    return done.returncode, done.stdout + done.stderr


def _rejected(warehouse: Path) -> dict[str, str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(con.execute(
            "SELECT path, reason FROM audit.load_manifest WHERE status = 'rejected'").fetchall())
    finally:
        con.close()


def _assert_rejected_lines(output: str, rejected: dict[str, str], rels: list[str]) -> None:
    """For each file: the manifest says rejected, and the output has the line
    ``REJECTED <path>: <reason>`` with the manifest's reason."""
    lines = output.splitlines()
    for rel in rels:
        assert rel in rejected, (rel, sorted(rejected))
        why = rejected[rel].removeprefix(f"{rel}: ")
        assert any(f"REJECTED {rel}: {why}" in line for line in lines), (rel, why, output[-4000:])


def _shipments(rows: int, bad: int) -> str:
    """``rows`` shipments of which the first ``bad`` were shipped at 25:00."""
    header = ("shipment_id,order_id,line_number,site_id,carrier_id,shipped_qty,shipped_at,"
              "delivered_at,damaged_qty,freight_cost,currency,status,updated_at")
    lines = [f"NEW{i},NOORDER,1,S01,C1,5,2026-01-20 {'25' if i < bad else '10'}:00,,,,,"
             "in_transit,2026-01-20 10:00" for i in range(rows)]
    return "\n".join([header, *lines]) + "\n"


@pytest.mark.slow
def test_bad_inputs_through_the_cli(cli_env: dict[str, str], tmp_path: Path) -> None:
    from flows.generate import generate_exports
    from flows.refresh import EXIT_BLOCKED, EXIT_PUBLISHED

    exports, warehouse = tmp_path / "exports", tmp_path / "wh" / "ops.duckdb"
    generate_exports(exports, seed=11, sites=2, days=21, start=date(2026, 1, 5))

    # 1. bad files beside good exports: rejected, reported, and the refresh publishes
    first = {
        "bad/carriers_locked.csv": unreadable("bad/carriers_locked.csv", carriers("x1")),
        "bad/locked/": unreadable_folder("bad/locked"),
        "bad/shipments_fifo.csv": fifo("bad/shipments_fifo.csv"),
        "bad/vendors_link.csv": symlink("bad/vendors_link.csv", "bad/nowhere.csv"),
        "bad/timesheets_dup.csv": text("bad/timesheets_dup.csv",
                                       "entry_id,Entry_ID,site_id\nT1,T2,S01\n"),
        "bad/carriers_nested.parquet": parquet("bad/carriers_nested.parquet", lambda: pa.table({
            "carrier_id": ["x2"], "mode": pa.array([{"m": "ftl"}])})),
        "bad/order_lines_broken.jsonl": text("bad/order_lines_broken.jsonl",
                                             '{"order_id": "x3"}\n{"order_id": "x4"}\n{oops}\n'),
        "bad/vendors_huge.csv": text("bad/vendors_huge.csv", f"vendor_id,vendor_name\nx5,{HUGE}\n"),
    }
    for make in first.values():
        make(exports)
    try:
        code, output = _refresh(cli_env, exports, warehouse)
    finally:
        (exports / "bad/carriers_locked.csv").chmod(0o644)
        (exports / "bad/locked").chmod(0o755)
    assert code == EXIT_PUBLISHED, output[-4000:]
    rejected = _rejected(warehouse)
    _assert_rejected_lines(output, rejected, list(first))
    assert "permission denied" in rejected["bad/carriers_locked.csv"].lower()
    assert "line 3 is not valid JSON" in rejected["bad/order_lines_broken.jsonl"]
    published = _sha256(warehouse)

    # 2. an export whose rows are mostly bad: quarantined, reported, the gate blocks the
    #    refresh and the published file is untouched (byte for byte)
    write(exports, "bad2/shipments_25h.csv", _shipments(rows=100, bad=70))
    write(exports, "bad2/carriers_utf16.csv", carriers("x6").encode("utf-16"))
    code, output = _refresh(cli_env, exports, warehouse)
    assert code == EXIT_BLOCKED, output[-4000:]
    assert "quarantine share shipments 0.70 > 0.50" in output
    assert ("quarantined bad2/shipments_25h.csv row 1: shipped_at: '2026-01-20 25:00' "
            "is not a timestamp") in output
    assert "REJECTED bad2/carriers_utf16.csv: UTF-16 text" in output
    assert _sha256(warehouse) == published

    # 3. the exports folder itself cannot be read: refused before anything runs (the
    #    command line checks it; a scheduled run fails in ingestion instead, see
    #    test_ingest_robustness), nothing published
    exports.chmod(0o000)
    try:
        code, output = _refresh(cli_env, exports, warehouse)
    finally:
        exports.chmod(0o755)
    assert code != EXIT_PUBLISHED, output[-4000:]
    assert f"'{exports}' is not readable" in output
    assert _sha256(warehouse) == published
