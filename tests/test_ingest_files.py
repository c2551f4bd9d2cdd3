"""Files of exports.md: discovery, whole-file rejection, duplicates, and every format.

Every test writes its export files byte by byte into ``tmp_path`` (Parquet through
pyarrow, XLSX through xlsxwriter), runs the real ``ingest_exports`` into a real DuckDB
file and asserts the manifest, the raw rows and the quarantine exactly.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from tests.ingest_helpers import (
    BASE_ROWS,
    KEYS,
    Warehouse,
    assert_reasons,
    csv_text,
    entity_csv,
    json_text,
    jsonl_text,
    row,
    utc,
    write,
    write_gz,
)


def statuses(wh: Warehouse) -> dict[str, str]:
    return {path: m["status"] for path, m in wh.manifest().items()}


def carriers(wh: Warehouse, columns: str = "carrier_id, carrier_name, mode, on_time_target"):
    return wh.rows(f"SELECT {columns} FROM raw.carriers ORDER BY _file, _row")


GOOD_VENDORS = entity_csv("vendors")

# --- file-level failures --------------------------------------------------------------

ORDER_LINES_NO_STATUS = csv_text([{k: v for k, v in BASE_ROWS["order_lines"].items()
                                   if k != "status"}])

FILE_FAILURES = [
    # (case, rel, bytes, words of which the reason names at least one)
    ("missing_required_column", "erp/order_lines_2026-01.csv", ORDER_LINES_NO_STATUS,
     ["missing required column", "status"]),
    ("missing_key_column", "tms/carriers.csv", "carrier_name,mode\nSwift,ftl\n",
     ["missing required column", "carrier_id"]),
    ("corrupt_parquet", "tms/carriers.parquet", b"PAR1\x00\x01 definitely not parquet PAR1",
     ["parquet|footer|magic"]),
    ("corrupt_xlsx", "tms/carriers.xlsx", b"PK\x03\x04 not really a zip archive",
     ["xlsx|zip|workbook"]),
    ("invalid_gzip", "tms/carriers.csv.gz", b"this is not a gzip stream",
     ["gzip"]),
    ("truncated_gzip", "tms/carriers.json.gz",
     gzip.compress(json_text([row("carriers")] * 50).encode(), mtime=0)[:40],
     ["gzip"]),
    ("invalid_json", "tms/carriers.json", '[{"carrier_id": "C1",}',
     ["json"]),
    ("invalid_jsonl", "tms/carriers.jsonl", '{"carrier_id": "C1"}\n{carrier_id: C2}\n',
     ["json"]),
    ("json_not_objects", "tms/carriers.json", "[1, 2]",
     ["object"]),
    ("non_utf8_csv", "tms/carriers.csv", "carrier_id,carrier_name\nC1,Caf\xe9\n".encode("latin-1"),
     ["utf-8|unicode|encod"]),
    ("non_utf8_json", "tms/carriers.json", '[{"carrier_id": "Caf\xe9"}]'.encode("latin-1"),
     ["utf-8|unicode|encod"]),
    ("empty_csv", "tms/carriers.csv", b"",
     ["empty|no header"]),
    ("blank_csv", "tms/carriers.txt", b"\r\n",
     ["empty|no header"]),
    ("bom_only_csv", "tms/carriers.csv", b"\xef\xbb\xbf",
     ["empty|no header"]),
    ("empty_csv_gz", "tms/carriers.csv.gz", gzip.compress(b"", mtime=0),
     ["empty|no header"]),
    ("empty_jsonl", "tms/carriers.jsonl", b"",
     ["empty|no header"]),
    ("empty_json_array", "tms/carriers.json", b"[]",
     ["empty|no header"]),
    ("unsupported_extension", "tms/carriers.xml", "<carriers/>",
     ["extension"]),
    ("gz_on_binary_format", "tms/carriers.parquet.gz", gzip.compress(b"x", mtime=0),
     ["extension"]),
]


@pytest.mark.parametrize(("rel", "content", "words"), [c[1:] for c in FILE_FAILURES],
                         ids=[c[0] for c in FILE_FAILURES])
def test_unusable_file_is_rejected_whole_and_other_files_load(wh, exports, rel, content, words):
    write(exports, rel, content)
    write(exports, "erp/vendors.csv", GOOD_VENDORS)
    summary = wh.ingest(exports)

    manifest = wh.manifest()
    assert statuses(wh) == {rel: "rejected", "erp/vendors.csv": "loaded"}
    reason = manifest[rel]["reason"]
    assert rel in reason
    for alternatives in words:
        assert any(w in reason.lower() for w in alternatives.split("|")), reason
    assert manifest[rel]["rows_loaded"] is None
    assert any(rel in line and "REJECTED" in line for line in wh.logs)
    assert summary.as_dict()["files_rejected"] == 1
    # nothing of the rejected file anywhere, the good file fully loaded
    entity = manifest[rel]["entity"]
    assert wh.rows(f"SELECT count(*) FROM raw.{entity}") == [(0,)]
    assert wh.quarantine() == []
    assert wh.rows("SELECT vendor_id FROM raw.vendors") == [("V1",)]


def test_empty_xlsx_sheet_is_rejected(wh, exports):
    book = xlsxwriter.Workbook(str(exports / "carriers.xlsx"))
    book.add_worksheet()
    book.close()
    wh.ingest(exports)
    m = wh.manifest()["carriers.xlsx"]
    assert m["status"] == "rejected"
    assert "carriers.xlsx" in m["reason"] and "header" in m["reason"]


@pytest.mark.parametrize("rel", ["carriers.csv", "carriers.xlsx"])
def test_header_only_file_loads_zero_rows(wh, exports, rel):
    if rel.endswith(".xlsx"):
        book = xlsxwriter.Workbook(str(exports / rel))
        book.add_worksheet().write_row(0, 0, ["carrier_id", "carrier_name"])
        book.close()
    else:
        write(exports, rel, "carrier_id,carrier_name\n")
    wh.ingest(exports)
    m = wh.manifest()[rel]
    assert (m["status"], m["rows_read"], m["rows_loaded"], m["rows_quarantined"]) == ("loaded", 0, 0, 0)


def test_unrecognised_file_is_recorded_not_an_error(wh, exports):
    for rel in ("erp/customers_2026-01.csv", "README.md", "tms/carriersx.csv", "tms/carrier.csv"):
        write(exports, rel, "carrier_id\nC1\n")
    write(exports, "erp/vendors.csv", GOOD_VENDORS)
    summary = wh.ingest(exports)
    manifest = wh.manifest()
    unrecognised = ["README.md", "erp/customers_2026-01.csv", "tms/carrier.csv", "tms/carriersx.csv"]
    assert statuses(wh) == {**dict.fromkeys(unrecognised, "unrecognised"), "erp/vendors.csv": "loaded"}
    assert all(manifest[p]["entity"] is None for p in unrecognised)
    assert summary.as_dict()["files_unrecognised"] == 4
    assert summary.as_dict()["files_rejected"] == 0
    assert carriers(wh) == []


def test_entity_is_the_file_name_prefix_followed_by_a_separator(wh, exports):
    names = {
        "a/Carriers-2026.CSV": "carriers",
        "b/deep/er/CARRIERS.csv": "carriers",
        "c/purchase_order_lines_2026-11.csv": "purchase_order_lines",
        "d/order_lines.2026.csv": "order_lines",
        "e/Pay_Rates_x.csv": "pay_rates",
    }
    for i, (rel, entity) in enumerate(names.items()):
        write(exports, rel, entity_csv(entity, row(entity, **{KEYS[entity][0]: f"K{i}"})))
    wh.ingest(exports)
    manifest = wh.manifest()
    assert {rel: manifest[rel]["entity"] for rel in names} == names
    assert set(statuses(wh).values()) == {"loaded"}
    assert carriers(wh, "carrier_id, _file") == [("K0", "a/Carriers-2026.CSV"),
                                                 ("K1", "b/deep/er/CARRIERS.csv")]


def test_extra_columns_load_and_are_reported_as_schema_drift(wh, exports):
    write(exports, "carriers.csv", "carrier_id,source_system,mode,Notes\nC1,tms,ftl,x\n")
    wh.ingest(exports)
    m = wh.manifest()["carriers.csv"]
    assert (m["status"], m["rows_loaded"]) == ("loaded", 1)
    assert m["schema_drift"] == "source_system, Notes"
    assert carriers(wh) == [("C1", None, "ftl", None)]


# --- duplicates -----------------------------------------------------------------------


def test_same_bytes_under_another_name_are_skipped_whatever_the_name(wh, exports):
    content = entity_csv("carriers")
    write(exports, "tms/carriers.csv", content)
    wh.ingest(exports, "run1")
    write(exports, "resend/Carriers_copy.csv", content)
    write(exports, "aaa/vendors_copy.csv", content)  # another entity's name, same bytes
    summary = wh.ingest(exports, "run2")
    manifest = wh.manifest()
    assert statuses(wh) == {"tms/carriers.csv": "loaded", "resend/Carriers_copy.csv": "skipped_duplicate",
                            "aaa/vendors_copy.csv": "skipped_duplicate"}
    for rel in ("resend/Carriers_copy.csv", "aaa/vendors_copy.csv"):
        assert "tms/carriers.csv" in manifest[rel]["reason"]
        assert manifest[rel]["run_id"] == "run2"
    assert summary.as_dict()["files_skipped_duplicate"] == 2
    assert carriers(wh, "carrier_id, _file") == [("C1", "tms/carriers.csv")]
    assert wh.rows("SELECT count(*) FROM raw.vendors") == [(0,)]


def test_two_new_identical_files_first_by_relative_path_loads(wh, exports):
    content = entity_csv("carriers")
    write(exports, "b/carriers_1.csv", content)
    write(exports, "a/carriers_2.csv", content)  # later file name, earlier path
    wh.ingest(exports)
    manifest = wh.manifest()
    assert statuses(wh) == {"a/carriers_2.csv": "loaded", "b/carriers_1.csv": "skipped_duplicate"}
    assert "a/carriers_2.csv" in manifest["b/carriers_1.csv"]["reason"]
    assert carriers(wh, "carrier_id, _file") == [("C1", "a/carriers_2.csv")]


# --- CSV ----------------------------------------------------------------------------------

CARRIER_ROWS = [
    {"carrier_id": "C1", "carrier_name": "Swift, Ltd.", "mode": "ftl", "on_time_target": "0.95"},
    {"carrier_id": "C2", "carrier_name": "Pipe|Tab Co; \"The\"", "mode": "LTL", "on_time_target": ".9"},
]


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"], ids=["comma", "semicolon", "pipe", "tab"])
@pytest.mark.parametrize("ext", [".csv", ".txt"])
def test_csv_delimiter_is_detected(wh, exports, delimiter, ext):
    write(exports, f"carriers{ext}", csv_text(CARRIER_ROWS, delimiter=delimiter))
    wh.ingest(exports)
    assert statuses(wh) == {f"carriers{ext}": "loaded"}
    assert carriers(wh) == [
        ("C1", "Swift, Ltd.", "ftl", Decimal("0.95")),
        ("C2", 'Pipe|Tab Co; "The"', "ltl", Decimal("0.9")),
    ]


def test_csv_header_case_and_spaces_trimmed_values_empty_is_null(wh, exports):
    write(exports, "carriers.csv",
          " Carrier_Id ;CARRIER_NAME;  Mode  ;On_Time_Target\r\n"
          "  C1 ;\t Swift \t;  FTL ;  \r\n"
          "C2;;;1\r\n")
    wh.ingest(exports)
    assert wh.quarantine() == []
    assert carriers(wh) == [("C1", "Swift", "ftl", None), ("C2", None, None, Decimal(1))]


def test_csv_quoted_values_with_quotes_and_newlines(wh, exports):
    write(exports, "carriers.csv",
          'carrier_id,carrier_name,mode\n'
          'C1,"Swift, ""the"" Ltd",ftl\n'
          'C2,"two\nlines",ltl\n'
          'C3,plain,parcel\n')
    wh.ingest(exports)
    assert statuses(wh) == {"carriers.csv": "loaded"}, wh.manifest()["carriers.csv"]["reason"]
    assert carriers(wh, "carrier_id, carrier_name, _row") == [
        ("C1", 'Swift, "the" Ltd', 1), ("C2", "two\nlines", 2), ("C3", "plain", 3)]


def test_utf8_with_and_without_bom(wh, exports):
    write(exports, "carriers_bom.csv", "\ufeffcarrier_id,carrier_name\nC1,Café Łódź\n")
    write(exports, "carriers_plain.csv", "carrier_id,carrier_name\nC2,Café Łódź\n")
    write(exports, "carriers_bom.json", "\ufeff" + json.dumps([{"carrier_id": "C3", "carrier_name": "Ü"}]))
    write(exports, "carriers_bom.jsonl", "\ufeff" + jsonl_text([{"carrier_id": "C4"}, {"carrier_id": "C5"}]))
    write_gz(exports, "carriers_bom.ndjson.gz", "\ufeff" + jsonl_text([{"carrier_id": "C6"}]))
    write_gz(exports, "carriers_bom.txt.gz", "\ufeffcarrier_id\tmode\nC7\tftl\n")
    wh.ingest(exports)
    assert set(statuses(wh).values()) == {"loaded"}, wh.manifest()
    assert carriers(wh, "carrier_id, carrier_name") == [
        ("C1", "Café Łódź"), ("C3", "Ü"), ("C4", None), ("C5", None), ("C6", None), ("C7", None),
        ("C2", "Café Łódź")]


# --- compressed and JSON ----------------------------------------------------------------


@pytest.mark.parametrize("rel", ["carriers.csv.gz", "carriers.txt.gz", "carriers.json.gz",
                                 "carriers.jsonl.gz", "carriers.ndjson.gz", "carriers.CSV.GZ"])
def test_gzipped_text_formats(wh, exports, rel):
    objects = [{"carrier_id": "C1", "mode": "FTL"}, {"carrier_id": "C2", "mode": "parcel"}]
    if ".json." in rel.lower():
        text = json_text(objects)
    elif "json" in rel.lower():
        text = jsonl_text(objects)
    else:
        text = csv_text(objects)
    write_gz(exports, rel, text)
    wh.ingest(exports)
    manifest = wh.manifest()
    assert manifest[rel]["status"] == "loaded", manifest[rel]["reason"]
    assert carriers(wh, "carrier_id, mode") == [("C1", "ftl"), ("C2", "parcel")]


def test_json_array_columns_are_the_union_of_keys(wh, exports):
    write(exports, "tms/carriers.json", json.dumps([
        {"carrier_id": "C1", "on_time_target": 0.95},
        {"carrier_id": "C2", "mode": "LTL", "on_time_target": 1},
        {"carrier_id": " C3 ", "carrier_name": "", "on_time_target": None, "mode": None},
        {"carrier_id": "C4", "carrier_name": "Slow", "mode": "rail", "source": {"sys": "tms"}},
        {"carrier_name": "keyless"},
    ]))
    wh.ingest(exports)
    assert carriers(wh) == [
        ("C1", None, None, Decimal("0.95")),
        ("C2", None, "ltl", Decimal("1")),
        ("C3", None, None, None),
    ]
    quarantine = wh.quarantine("carriers")
    assert [(q["file"], q["row_number"]) for q in quarantine] == [
        ("tms/carriers.json", 4), ("tms/carriers.json", 5)]
    assert_reasons(quarantine[0]["reason_list"], [("mode", "rail")])
    assert_reasons(quarantine[1]["reason_list"], [("carrier_id", None)])
    assert json.loads(quarantine[1]["raw"]) == {
        "carrier_id": None, "on_time_target": None, "mode": None, "carrier_name": "keyless",
        "source": None}
    assert wh.manifest()["tms/carriers.json"]["schema_drift"] == "source"


def test_json_required_column_present_in_some_objects_only(wh, exports):
    base = dict(BASE_ROWS["order_lines"])
    without_status = {k: v for k, v in base.items() if k != "status"}
    write(exports, "order_lines.json", json.dumps([
        without_status | {"order_id": "O1"}, base | {"order_id": "O2"}]))
    wh.ingest(exports)
    assert statuses(wh) == {"order_lines.json": "loaded"}
    assert wh.rows("SELECT order_id FROM raw.order_lines") == [("O2",)]
    quarantine = wh.quarantine("order_lines")
    assert [(q["file"], q["row_number"]) for q in quarantine] == [("order_lines.json", 1)]
    assert_reasons(quarantine[0]["reason_list"], [("status", None)])


def test_json_native_numbers_and_text_numbers(wh, exports):
    write(exports, "order_lines.jsonl", jsonl_text([
        row("order_lines", order_id="O1") | {"line_number": 3, "ordered_qty": 12.5},
        row("order_lines", order_id="O2") | {"line_number": 4.0, "ordered_qty": 1e2},
        row("order_lines", order_id="O3") | {"line_number": "5", "ordered_qty": "1e2"},
        row("order_lines", order_id="O4") | {"line_number": True, "ordered_qty": "0.5"},
    ]))
    wh.ingest(exports)
    assert wh.rows("SELECT order_id, line_number, ordered_qty FROM raw.order_lines ORDER BY _row") == [
        ("O1", 3, Decimal("12.5")), ("O2", 4, Decimal("100"))]
    quarantine = wh.quarantine("order_lines")
    assert [q["row_number"] for q in quarantine] == [3, 4]
    assert_reasons(quarantine[0]["reason_list"], [("ordered_qty", "1e2")])
    assert_reasons(quarantine[1]["reason_list"], [("line_number", "true")])


@pytest.mark.parametrize("ext", [".jsonl", ".ndjson"])
def test_newline_delimited_json(wh, exports, ext):
    write(exports, f"carriers{ext}",
          '{"carrier_id": "C1", "mode": "ftl"}\r\n{"carrier_id": "C2", "on_time_target": "0.5"}\n')
    wh.ingest(exports)
    assert carriers(wh) == [("C1", None, "ftl", None), ("C2", None, None, Decimal("0.5"))]


# --- Parquet ------------------------------------------------------------------------------

SITES_CSV = csv_text([row("sites", site_id="S1", timezone="America/Chicago")])


def test_parquet_native_types(wh, exports):
    write(exports, "ref/sites.csv", SITES_CSV)
    table = pa.table({
        "order_id": ["O1", "O2", "O3"],
        "line_number": pa.array([1, 2, 3], pa.int64()),
        "site_id": ["S1", "S1", "S1"],
        "ordered_qty": pa.array([12.5, 0.1, -1.0], pa.float64()),
        "order_placed_at": pa.array(  # naive: wall clock at the site (Chicago, UTC-6)
            [dt.datetime(2026, 1, 2, 8, 30), dt.datetime(2026, 1, 2, 0, 0),
             dt.datetime(2026, 1, 2, 8, 30, 0, 250000)], pa.timestamp("us")),
        "requested_delivery_date": pa.array([dt.date(2026, 1, 5)] * 3, pa.date32()),
        "status": ["open", "OPEN", "open"],
        "updated_at": pa.array(  # with a zone: an instant
            [dt.datetime(2026, 1, 2, 10, 0, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC")),
        "priority": pa.array([None, "high", None], pa.string()),
    })
    (exports / "erp").mkdir()
    pq.write_table(table, exports / "erp/order_lines.parquet")
    wh.ingest(exports)
    assert statuses(wh) == {"ref/sites.csv": "loaded", "erp/order_lines.parquet": "loaded"}
    assert wh.rows(
        "SELECT order_id, line_number, ordered_qty, order_placed_at, requested_delivery_date, "
        "status, updated_at, priority FROM raw.order_lines ORDER BY _row") == [
        ("O1", 1, Decimal("12.5"), utc("2026-01-02T14:30:00+00:00"), dt.date(2026, 1, 5), "open",
         utc("2026-01-02T10:00:00+00:00"), None),
        ("O2", 2, Decimal("0.1"), utc("2026-01-02T06:00:00+00:00"), dt.date(2026, 1, 5), "open",
         utc("2026-01-02T10:00:00+00:00"), "high"),
    ]
    quarantine = wh.quarantine("order_lines")
    assert [(q["file"], q["row_number"]) for q in quarantine] == [("erp/order_lines.parquet", 3)]
    assert_reasons(quarantine[0]["reason_list"], [("ordered_qty", "-1.0")])


def test_parquet_other_native_units_and_zones(wh, exports):
    """What pandas and other writers produce: nanosecond and millisecond timestamps, a
    zone-aware column (an instant, whatever its zone), decimals, float32, dictionary
    strings."""
    write(exports, "ref/sites.csv", SITES_CSV)
    table = pa.table({
        "entry_id": pa.array(["T1", "T2"]).dictionary_encode(),
        "employee_id": pa.array(["E1", "E1"], pa.large_string()),
        "site_id": ["S1", "S1"],
        "clock_in": pa.array([dt.datetime(2026, 1, 5, 8, 0, 0, 123000), dt.datetime(2026, 1, 5)],
                             pa.timestamp("ns")),  # naive: Chicago wall clock
        "clock_out": pa.array([dt.datetime(2026, 1, 5, 16, 0)] * 2, pa.timestamp("ms")),
        "break_minutes": pa.array([Decimal("30.50"), None], pa.decimal128(10, 2)),
        "activity": ["Picking", None],
        "updated_at": pa.array([dt.datetime(2026, 1, 5, 23, 0, tzinfo=dt.UTC)] * 2,
                               pa.timestamp("ns", tz="Europe/Berlin")),
    })
    (exports / "hr").mkdir()
    pq.write_table(table, exports / "hr/timesheets.parquet")
    pq.write_table(pa.table({"carrier_id": ["C1"], "on_time_target": pa.array([0.5], pa.float32()),
                             "mode": pa.array(["ftl"], pa.string())}),
                   exports / "hr/carriers.parquet")
    wh.ingest(exports)
    manifest = wh.manifest()
    assert manifest["hr/timesheets.parquet"]["status"] == "loaded", manifest["hr/timesheets.parquet"]
    assert wh.rows("SELECT entry_id, employee_id, clock_in, clock_out, break_minutes, activity, "
                   "updated_at FROM raw.timesheets ORDER BY _row") == [
        ("T1", "E1", utc("2026-01-05T14:00:00.123000+00:00"), utc("2026-01-05T22:00:00+00:00"),
         Decimal("30.5"), "picking", utc("2026-01-05T23:00:00+00:00")),
        ("T2", "E1", utc("2026-01-05T06:00:00+00:00"), utc("2026-01-05T22:00:00+00:00"),
         Decimal(0), "other", utc("2026-01-05T23:00:00+00:00")),
    ]
    assert carriers(wh, "carrier_id, on_time_target") == [("C1", Decimal("0.5"))]


def test_parquet_written_by_duckdb_copy(wh, exports):
    (exports / "tms").mkdir()
    target = str(exports / "tms/carriers.parquet").replace("'", "''")
    wh.con.execute(
        "COPY (SELECT * FROM (VALUES ('C1', 'parcel', 0.95::DOUBLE), ('C2', 'x', 1.0::DOUBLE)) "
        f"v(carrier_id, mode, on_time_target)) TO '{target}' (FORMAT parquet)")
    wh.ingest(exports)
    assert carriers(wh, "carrier_id, mode, on_time_target") == [("C1", "parcel", Decimal("0.95"))]
    assert_reasons(wh.quarantine("carriers")[0]["reason_list"], [("mode", "x")])


# --- XLSX ---------------------------------------------------------------------------------


def test_xlsx_native_number_and_date_cells(wh, exports):
    write(exports, "ref/sites.csv", SITES_CSV)
    path = exports / "erp/purchase_order_lines_2026-01.xlsx"
    path.parent.mkdir(parents=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("POs")
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    ts_fmt = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    header = list(BASE_ROWS["purchase_order_lines"])
    sheet.write_row(0, 0, header)
    rows = [
        ["PO1", 1, "V1", "S1", "packaging", 10, 2.5, "usd", dt.date(2026, 1, 2),
         dt.date(2026, 1, 10), "OPEN", dt.datetime(2026, 1, 2, 8, 30, 15)],
        ["PO2", 2, "V1", "S1", "packaging", 0.1, "n/a", "usd", dt.datetime(2026, 1, 2, 8, 30),
         dt.date(2026, 1, 10), "open", dt.datetime(2026, 1, 2, 8, 30)],
        ["PO3", 3.0, "V1", "S1", "packaging", 3, 0, "EUR", "2026-01-02 07:00",
         "2026-01-11", "closed", "2026-01-02T10:00:00Z"],
        ["PO4", 4, "V1", "S1", "packaging", " ", 1, "EUR", dt.date(2026, 1, 2),
         dt.date(2026, 1, 10), "open", dt.datetime(2026, 1, 2, 8, 30)],
    ]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, ts_fmt)
            elif isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime(value.year, value.month, value.day), date_fmt)
            else:
                sheet.write(r, c, value)
    book.add_worksheet("ignored").write_row(0, 0, ["not", "read"])
    book.close()
    wh.ingest(exports)
    rel = "erp/purchase_order_lines_2026-01.xlsx"
    assert wh.manifest()[rel]["status"] == "loaded"
    assert wh.rows(
        "SELECT po_id, po_line, ordered_qty, unit_price, currency, ordered_at, expected_date, "
        "status, updated_at FROM raw.purchase_order_lines ORDER BY _row") == [
        ("PO1", 1, Decimal(10), Decimal("2.5"), "USD", utc("2026-01-02T06:00:00+00:00"),
         dt.date(2026, 1, 10), "open", utc("2026-01-02T14:30:15+00:00")),
        ("PO3", 3, Decimal(3), Decimal(0), "EUR", utc("2026-01-02T13:00:00+00:00"),
         dt.date(2026, 1, 11), "closed", utc("2026-01-02T10:00:00+00:00")),
    ]
    quarantine = wh.quarantine("purchase_order_lines")
    assert [(q["file"], q["row_number"]) for q in quarantine] == [(rel, 2), (rel, 4)]
    # a text 'n/a' in a numeric column is a bad value, not a null
    assert_reasons(quarantine[0]["reason_list"], [("unit_price", "n/a")])
    assert_reasons(quarantine[1]["reason_list"], [("ordered_qty", None)])
    assert json.loads(quarantine[0]["raw"])["unit_price"] == "n/a"


def test_xlsx_native_numbers_keep_every_digit(tmp_path) -> None:
    """fastexcel's text rendering keeps ~11 significant digits; native number cells must
    arrive exactly (123456789.12 keeps its cents), while a text cell in a numeric column
    still reaches the quarantine."""
    import xlsxwriter

    from flows.db import connect
    from flows.ingest.read import read_to_table

    path = tmp_path / "fx_rates.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["rate_date", "currency", "usd_per_unit"])
    sheet.write_row(1, 0, ["2026-01-05", "EUR", 123456789.12])
    sheet.write_row(2, 0, ["2026-01-06", "EUR", "n/a"])
    sheet.write_row(3, 0, ["2026-01-07", "EUR", 0.1234567890123])
    workbook.close()
    con = connect()
    source = read_to_table(con, path, "xlsx", False, "src")
    column = next(c.column for c in source.columns if c.name == "usd_per_unit")
    values = [r[0] for r in con.execute(f"SELECT {column} FROM src ORDER BY _row").fetchall()]
    assert values == ["123456789.12", "n/a", "0.1234567890123"]
