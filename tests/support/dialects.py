"""Exports in the contract's shape rewritten as two real systems would write them: the
data of the source-mapping round trip (tests/test_mappings_roundtrip.py), of the bench
(bench/bench_mappings.py) and of the committed samples data/sample/sap/ and
data/sample/netsuite/ (read through mappings/examples/).

- ``SAP``: a German SAP S/4 extract: ``;``-separated Latin-1 CSV, German column names,
  decimal comma and thousands point, ``dd.mm.yyyy`` dates, wall-clock times in Berlin,
  numeric status codes, plant codes for sites, carrier vendor numbers with leading
  zeros, freight split into net and surcharge, a client column nobody needs, one
  gzipped extract with a title line above its header;
- ``NETSUITE``: NetSuite saved-search XLSX: a criteria sheet first and the results on a
  second sheet, three title rows above the header, a totals row at the bottom, US
  dates and 12-hour times in Los Angeles, amounts with currency symbols and thousands
  commas, native number cells for quantities, status and reason labels, location ids.

Every value is converted exactly (numbers as text, instants through the contract's
own time-zone rule), so the mapped files must give the very same warehouse. File names
keep the order of the contract files (versions tie-break on the path), rows keep theirs.
Test support only: xlsxwriter writes the workbooks cell by cell.
"""

from __future__ import annotations

import gzip
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from flows.contract import ENTITY_BY_NAME
from flows.db import connect, quote_ident, quote_literal
from flows.ingest.discover import discover
from flows.ingest.read import read_to_table
from flows.ingest.validate import install_macros, map_columns

NUM = r"^[+-]?(\d+\.?\d*|\.\d+)$"


@dataclass(frozen=True)
class Out:
    """One column of a dialect file."""

    name: str  # as the system writes it
    contract: str | None = None  # contract column it holds (None: a constant)
    kind: str = "text"  # text | number | native | date | ts | code | money | terms | net | surcharge | ref
    codes: tuple[tuple[str, str], ...] = ()  # contract value -> system value (kind code)
    fmt: str | None = None  # strftime of a date/ts column (default: the dialect's)
    const: str | None = None
    prefix: str = ""  # kind ref: text put before the value


@dataclass(frozen=True)
class Extract:
    """How a system writes one entity."""

    entity: str
    stem: str  # file name in place of the entity name
    columns: tuple[Out, ...]
    gzip: bool = False
    title: str | None = None  # CSV: a line above the header
    sheet_title: str | None = None  # XLSX: the saved search's name in the title block


@dataclass(frozen=True)
class Dialect:
    name: str
    folder: str
    fmt: str  # csv | xlsx
    timezone: str
    date: str
    timestamp: str
    decimal: str = "."
    thousands: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    saved_search: bool = False  # XLSX: criteria sheet, title rows and a totals row
    extracts: dict[str, Extract] = field(default_factory=dict)


def _c(*pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(zip(pairs[::2], pairs[1::2], strict=True))


PLANTS = _c("S01", "1000", "S02", "2000", "S03", "3000")
SAP_CARRIERS = _c("C01", "0000400001", "C02", "0000400002", "C03", "0000400003",
                  "C04", "0000400004", "C05", "0000400005", "C06", "0000400006")
CHANGED_SAP = "%d.%m.%Y %H:%M:%S.%f"

SAP = Dialect(
    name="sap", folder="sap", fmt="csv", timezone="Europe/Berlin", date="%d.%m.%Y",
    timestamp="%d.%m.%Y %H:%M:%S", decimal=",", thousands=".", delimiter=";",
    encoding="latin-1",
    extracts={e.entity: e for e in (
        Extract("sites", "WERKE", (
            Out("WERK", "site_id", "code", PLANTS), Out("NAME1", "site_name"),
            Out("REGION", "region"), Out("LAND1", "country"), Out("ZEITZONE", "timezone"))),
        Extract("order_lines", "AUFTRAGSPOS", (
            Out("MANDT", const="100"), Out("VBELN", "order_id"),
            Out("POSNR", "line_number", "number"), Out("WERKS", "site_id", "code", PLANTS),
            Out("KUNNR", "customer_id"), Out("MATNR", "sku"),
            Out("KWMENG", "ordered_qty", "number"), Out("ERDAT", "order_placed_at", "ts"),
            Out("WUNSCHLIEFERDATUM", "requested_delivery_date", "date"),
            Out("PRIORITAET", "priority"),
            Out("STATUS", "status", "code", _c("open", "10", "shipped", "20", "delivered", "30",
                                               "closed", "40", "cancelled", "90")),
            Out("GEAENDERT_AM", "updated_at", "ts", fmt=CHANGED_SAP))),
        Extract("shipments", "LIEFERUNGEN", (
            Out("MANDT", const="100"), Out("SENDUNG_NR", "shipment_id"),
            Out("AUFTRAG", "order_id"), Out("POS", "line_number", "number"),
            Out("WERK", "site_id", "code", PLANTS),
            Out("SPEDITEUR", "carrier_id", "code", SAP_CARRIERS),
            Out("MENGE", "shipped_qty", "number"), Out("WA_DATUM", "shipped_at", "ts"),
            Out("ZUGESTELLT_AM", "delivered_at", "ts", fmt="%Y%m%d%H%M%S"),
            Out("BESCHAEDIGT", "damaged_qty", "number"),
            Out("FRACHT_NETTO", "freight_cost", "net"),
            Out("FRACHT_ZUSCHLAG", "freight_cost", "surcharge"),
            Out("WAEHRUNG", "currency"),
            Out("STATUS", "status", "code", _c("in_transit", "10", "delivered", "20",
                                               "cancelled", "90")),
            Out("GEAENDERT_AM", "updated_at", "ts", fmt=CHANGED_SAP))),
        Extract("purchase_order_lines", "BESTELLPOS", (
            Out("EBELN", "po_id"), Out("EBELP", "po_line", "number"), Out("LIFNR", "vendor_id"),
            Out("WERKS", "site_id", "code", PLANTS), Out("WARENGRUPPE", "category"),
            Out("MENGE", "ordered_qty", "number"), Out("NETPR", "unit_price", "number"),
            Out("WAERS", "currency"), Out("BEDAT", "ordered_at", "ts"),
            Out("EINDT", "expected_date", "date"),
            Out("STATUS", "status", "code", _c("open", "10", "closed", "50", "cancelled", "90")),
            Out("GEAENDERT_AM", "updated_at", "ts", fmt=CHANGED_SAP))),
        Extract("goods_receipts", "WARENEINGANG", (
            Out("MBLNR", "receipt_id"), Out("EBELN", "po_id"), Out("EBELP", "po_line", "number"),
            Out("WERKS", "site_id", "code", PLANTS), Out("MENGE", "received_qty", "number"),
            Out("RUECKWEISUNG", "rejected_qty", "number"), Out("BUDAT", "received_at", "ts"),
            Out("GEAENDERT_AM", "updated_at", "ts", fmt=CHANGED_SAP))),
        Extract("inventory_snapshots", "BESTAND", (
            Out("WERKS", "site_id", "code", PLANTS), Out("MATNR", "sku"),
            Out("STICHTAG", "snapshot_date", "date"), Out("LABST", "on_hand_qty", "number"),
            Out("VERPR", "unit_cost", "number"), Out("WAERS", "currency")),
            gzip=True, title="Bestandsliste MB52 (Werksbestand je Stichtag)"),
        Extract("cycle_counts", "INVENTUR", (
            Out("IBLNR", "count_id"), Out("WERKS", "site_id", "code", PLANTS),
            Out("MATNR", "sku"), Out("ZAEHLZEITPUNKT", "counted_at", "ts"),
            Out("BUCHBESTAND", "system_qty", "number"), Out("ZAEHLMENGE", "counted_qty", "number"),
            Out("VERPR", "unit_cost", "number"), Out("WAERS", "currency"),
            Out("GEAENDERT_AM", "updated_at", "ts", fmt=CHANGED_SAP))),
    )},
)

LOCATIONS = _c("S01", "101", "S02", "102", "S03", "103")
MODIFIED_NS = "%-m/%-d/%Y %-I:%M:%S.%f %p"

NETSUITE = Dialect(
    name="netsuite", folder="netsuite", fmt="xlsx", timezone="America/Los_Angeles",
    date="%-m/%-d/%Y", timestamp="%-m/%-d/%Y %-I:%M:%S %p", decimal=".", thousands=",",
    saved_search=True, extracts={e.entity: e for e in (
        Extract("vendors", "VendorList", (
            Out("Vendor ID", "vendor_id"), Out("Name", "vendor_name"),
            Out("Category", "category"), Out("Country", "country"),
            Out("Terms", "payment_terms_days", "terms"),
            Out("Last Modified", "updated_at", "ts", fmt=MODIFIED_NS)),
            sheet_title="Vendor List"),
        Extract("order_lines", "SalesOrderLines", (
            Out("Document Number", "order_id"), Out("Line", "line_number", "native"),
            Out("Location", "site_id", "code", LOCATIONS), Out("Customer", "customer_id"),
            Out("Item", "sku"), Out("Quantity", "ordered_qty", "native"),
            Out("Date Created", "order_placed_at", "ts"),
            Out("Expected Ship Date", "requested_delivery_date", "date"),
            Out("Priority", "priority"),
            Out("Status", "status", "code", _c(
                "open", "Pending Fulfillment", "shipped", "Pending Billing", "delivered", "Billed",
                "closed", "Closed", "cancelled", "Cancelled")),
            Out("Last Modified", "updated_at", "ts", fmt=MODIFIED_NS)),
            sheet_title="Sales Order Lines"),
        Extract("purchase_order_lines", "PurchaseOrderLines", (
            Out("Document Number", "po_id"), Out("Line", "po_line", "native"),
            Out("Vendor", "vendor_id"), Out("Location", "site_id", "code", LOCATIONS),
            Out("Class", "category"), Out("Quantity", "ordered_qty", "native"),
            Out("Rate", "unit_price", "money"), Out("Currency", "currency"),
            Out("Date", "ordered_at", "ts"), Out("Expected Receipt Date", "expected_date", "date"),
            Out("Status", "status", "code", _c("open", "Pending Receipt", "closed",
                                               "Fully Billed", "cancelled", "Closed")),
            Out("Last Modified", "updated_at", "ts", fmt=MODIFIED_NS)),
            sheet_title="Purchase Order Lines"),
        Extract("invoice_lines", "VendorBillLines", (
            Out("Document Number", "invoice_id"), Out("Line", "invoice_line", "native"),
            Out("Vendor", "vendor_id"), Out("Location", "site_id", "code", LOCATIONS),
            Out("Created From", "po_id", "ref", prefix="Purchase Order #"),
            Out("PO Line", "po_line", "native"), Out("Class", "category"),
            Out("Quantity", "quantity", "native"), Out("Rate", "unit_price", "money"),
            Out("Amount", "amount", "money"), Out("Currency", "currency"),
            Out("Date", "invoice_date", "date"), Out("Due Date", "due_date", "date"),
            Out("Date Paid", "paid_date", "date"),
            Out("Last Modified", "updated_at", "ts", fmt=MODIFIED_NS)),
            sheet_title="Vendor Bill Lines"),
        Extract("returns", "ReturnAuthorizations", (
            Out("RMA Number", "return_id"), Out("Sales Order", "order_id"),
            Out("Line", "line_number", "native"), Out("Location", "site_id", "code", LOCATIONS),
            Out("Quantity", "returned_qty", "native"),
            Out("Return Reason", "reason", "code", _c(
                "damaged", "Damaged in Transit", "defective", "Defective",
                "wrong_item", "Wrong Item Shipped", "late", "Arrived Late",
                "not_needed", "No Longer Needed", "other", "Other")),
            Out("Date Requested", "requested_at", "ts"), Out("Date Received", "received_at", "ts"),
            Out("Date Refunded", "refunded_at", "ts"),
            Out("Refund Amount", "refund_amount", "money"), Out("Currency", "currency"),
            Out("Status", "status", "code", _c(
                "requested", "Pending Receipt", "received", "Pending Refund",
                "refunded", "Refunded", "rejected", "Closed", "cancelled", "Cancelled")),
            Out("Last Modified", "updated_at", "ts", fmt=MODIFIED_NS)),
            sheet_title="Return Authorizations"),
    )},
)

DIALECTS = {d.name: d for d in (SAP, NETSUITE)}

#: Extensions of contract files, longest first.
_EXTENSIONS = (".csv.gz", ".txt.gz", ".json.gz", ".jsonl.gz", ".ndjson.gz", ".csv", ".txt",
               ".json", ".jsonl", ".ndjson", ".parquet", ".xlsx")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_CREATED = datetime(2026, 1, 1)


def contract_csv(entities: list[str]) -> Dialect:
    """The contract's own shape as plain CSV (same names, same values), for comparisons."""
    return Dialect(
        name="contract", folder="contract", fmt="csv", timezone="UTC", date="%Y-%m-%d",
        timestamp="%Y-%m-%d %H:%M:%S",
        extracts={e: Extract(e, e, tuple(Out(c, c) for c in ENTITY_BY_NAME[e].column_names))
                  for e in entities})


def rewrite(contract_exports: Path, out: Path, dialect: Dialect, *, only_dialect: bool = False,
            months: set[str] | None = None) -> list[str]:
    """Write ``contract_exports`` into ``out``: the dialect's entities in its own files
    (under ``out/<dialect folder>/``), every other file copied as it is (unless
    ``only_dialect``). ``months``: only the files of these months (``_YYYY-MM`` in the
    name) and those of no month. Returns the relative paths written in the dialect."""
    con = connect()
    install_macros(con)
    try:
        files = discover(contract_exports)
        _site_zones(con, [f for f in files if f.entity and f.entity.name == "sites"])
        written: list[str] = []
        for f in files:
            if f.entity is None or f.fmt is None or f.entity.name not in dialect.extracts:
                if not only_dialect and not f.folder:
                    target = out / f.rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f.path, target)
                continue
            month = re.search(r"_(\d{4}-\d{2})", f.path.name)
            if months is not None and month is not None and month.group(1) not in months:
                continue
            extract = dialect.extracts[f.entity.name]
            rel = _dialect_name(dialect, extract, f.path.name)
            assert rel not in written, f"two contract files would become {rel}"
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(con, f, dialect, extract, target)
            written.append(rel)
        return written
    finally:
        con.close()


def _site_zones(con: duckdb.DuckDBPyConnection, files) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE dialect_site_tz (site_id VARCHAR, timezone VARCHAR)")
    for f in files:
        source = read_to_table(con, f.path, f.fmt, f.gzipped, "dialect_sites")
        columns, _ = map_columns(ENTITY_BY_NAME["sites"], source)
        con.execute(f"INSERT INTO dialect_site_tz SELECT trim({quote_ident(columns['site_id'])}), "
                    f"trim({quote_ident(columns['timezone'])}) FROM dialect_sites")


def _dialect_name(dialect: Dialect, extract: Extract, name: str) -> str:
    rest = name[len(extract.entity):]
    for ext in _EXTENSIONS:
        if rest.lower().endswith(ext):
            rest = rest[: -len(ext)]
            break
    suffix = f".{dialect.fmt}" + (".gz" if extract.gzip else "")
    return f"{dialect.folder}/{extract.stem}{rest}{suffix}"


def _values(con: duckdb.DuckDBPyConnection, f, dialect: Dialect, extract: Extract
            ) -> tuple[str, list[str]]:
    """(SELECT of the dialect's columns (text) from the contract file's rows, in order;
    conditions no row may meet: a value the dialect's notation would lose)."""
    entity = ENTITY_BY_NAME[extract.entity]
    source = read_to_table(con, f.path, f.fmt, f.gzipped, "dialect_src")
    columns, _ = map_columns(entity, source)

    def v(contract: str) -> str:
        col = columns.get(contract)
        return (f"nullif(trim({quote_ident(col)}), '')" if col else "CAST(NULL AS VARCHAR)")

    zone = (f"coalesce((SELECT any_value(timezone) FROM dialect_site_tz z WHERE z.site_id = "
            f"{v('site_id')}), 'UTC')" if entity.has_site else "'UTC'")
    selects, losses = [], []
    for out in extract.columns:
        if out.contract is None:
            value = quote_literal(out.const or "")
        else:
            x = v(out.contract)
            kind = out.kind
            if kind == "number":
                value = _number(x, dialect)
            elif kind == "native":
                value = x
            elif kind == "date":
                value = f"strftime(CAST(left({x}, 10) AS DATE), {quote_literal(out.fmt or dialect.date)})"
            elif kind == "ts":
                fmt = out.fmt or dialect.timestamp
                instant = f"opskpi_parse_ts({x}, {zone})"
                value = (f"strftime(timezone({quote_literal(dialect.timezone)}, {instant}), "
                         f"{quote_literal(fmt)})")
                if "%f" not in fmt:
                    losses.append(f"epoch_us({instant}) % 1000000 <> 0")
                losses.append(f"{x} IS NOT NULL AND {instant} IS NULL")
            elif kind == "code":
                cases = " ".join(f"WHEN {quote_literal(a)} THEN {quote_literal(b)}"
                                 for a, b in out.codes)
                key = x if entity.column(out.contract).allowed is None else f"lower({x})"
                value = f"CASE {key} {cases} ELSE {x} END"
            elif kind == "money":
                symbol = " ".join(f"WHEN {quote_literal(c)} THEN {quote_literal(s)}"
                                  for c, s in _SYMBOLS.items())
                currency = v("currency")
                body = _number(f"ltrim({x}, '-')", dialect)
                value = (f"CASE WHEN {x} IS NULL THEN NULL ELSE "
                         f"CASE WHEN starts_with({x}, '-') THEN '-' ELSE '' END || "
                         f"CASE upper({currency}) {symbol} ELSE coalesce(upper({currency}), 'USD') "
                         f"|| ' ' END || {body} END")
            elif kind == "terms":
                value = f"'Net ' || CAST(CAST(CAST({x} AS DECIMAL(38, 10)) AS BIGINT) AS VARCHAR)"
            elif kind in ("net", "surcharge"):
                # 2.50 of every freight of at least 10 is a surcharge, exactly
                amount = f"CAST({x} AS DECIMAL(38, 10))"
                part = (f"CASE WHEN {amount} >= 10 THEN {amount} - 2.5 ELSE {amount} END"
                        if kind == "net" else f"CASE WHEN {amount} >= 10 THEN 2.5 END")
                value = _number(f"CAST({part} AS VARCHAR)", dialect)
            elif kind == "ref":
                value = f"{quote_literal(out.prefix)} || {x}"
            else:
                value = x
        selects.append(f"{value} AS {quote_ident(out.name)}")
    query = f"SELECT {', '.join(selects)} FROM dialect_src ORDER BY _row"
    return query, [f"SELECT count(*) FROM dialect_src WHERE {loss}" for loss in losses]


def _number(x: str, dialect: Dialect) -> str:
    """SQL: a contract number (text) in the dialect's notation, digit for digit."""
    body = f"ltrim({x}, '+-')"
    integer = f"coalesce(nullif(split_part({body}, '.', 1), ''), '0')"
    fraction = f"rtrim(split_part({body}, '.', 2), '0')"
    if dialect.thousands:
        integer = (f"replace(format('{{:,}}', CAST({integer} AS HUGEINT)), ',', "
                   f"{quote_literal(dialect.thousands)})")
    sign = f"CASE WHEN starts_with({x}, '-') THEN '-' ELSE '' END"
    return (f"CASE WHEN {x} IS NULL THEN NULL WHEN NOT regexp_full_match({x}, {quote_literal(NUM)}) "
            f"THEN {x} ELSE {sign} || {integer} || CASE WHEN {fraction} <> '' THEN "
            f"{quote_literal(dialect.decimal)} || {fraction} ELSE '' END END")


def _write(con: duckdb.DuckDBPyConnection, f, dialect: Dialect, extract: Extract,
           target: Path) -> None:
    query, losses = _values(con, f, dialect, extract)
    for loss in losses:
        lost = con.execute(loss).fetchone()[0]
        assert lost == 0, f"{f.rel}: {lost} values the {dialect.name} notation cannot hold ({loss})"
    if dialect.fmt == "csv":
        plain = target.with_name(f".{target.name}.plain")
        con.execute(f"COPY ({query}) TO {quote_literal(str(plain))} "
                    f"(HEADER, DELIMITER {quote_literal(dialect.delimiter)}, COMPRESSION 'none')")
        text = plain.read_text(encoding="utf-8")
        plain.unlink()
        if extract.title:
            text = extract.title + "\n" + text
        data = text.encode(dialect.encoding)
        target.write_bytes(gzip.compress(data, mtime=0) if extract.gzip else data)
    else:
        _write_xlsx(con, query, extract, target, dialect.saved_search)


def _write_xlsx(con: duckdb.DuckDBPyConnection, query: str, extract: Extract, target: Path,
                saved_search: bool) -> None:
    import xlsxwriter

    cursor = con.execute(query)
    header = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    native = [out.kind == "native" for out in extract.columns]
    book = xlsxwriter.Workbook(str(target), {"strings_to_numbers": False,
                                             "strings_to_formulas": False})
    book.set_properties({"created": _CREATED, "author": "NetSuite" if saved_search else "opskpi"})
    top = 0
    if saved_search:
        criteria = book.add_worksheet("Criteria")
        criteria.write_row(0, 0, ["Saved search", extract.sheet_title or extract.stem])
        criteria.write_row(1, 0, ["Filters", "Subsidiary: Acme Operations Inc. (Consolidated)"])
        results = book.add_worksheet("Results")
        results.write(0, 0, "Acme Operations Inc.")
        results.write(1, 0, f"{extract.sheet_title or extract.stem} - Saved Search Results")
        top = 3
    else:
        results = book.add_worksheet(extract.stem)
    results.write_row(top, 0, header)
    totals = [Decimal(0) if n else None for n in native]
    for r, values in enumerate(rows, start=top + 1):
        for c, value in enumerate(values):
            if value is None:
                continue
            if native[c] and re.fullmatch(NUM, value):
                results.write_number(r, c, float(value))
                totals[c] += Decimal(value)
            else:
                results.write_string(r, c, value)
    if saved_search:
        last = top + 1 + len(rows)
        results.write_string(last, 0, "Total")
        for c, total in enumerate(totals):
            if total is not None and header[c] == "Quantity":
                results.write_number(last, c, float(total))
    book.close()
