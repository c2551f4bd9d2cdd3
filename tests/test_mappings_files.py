"""Files read through source mappings (docs/spec/mappings.md): one test per reader
option and per column form, and the guarantees of exports.md for mapped files
(quarantine of the source row, versions, identity by bytes, the manifest).

Every test writes tiny export files byte by byte, a mapping beside them, runs the real
``ingest_exports`` into a real DuckDB file and asserts the raw rows, the quarantine and
the manifest exactly.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import xlsxwriter

from flows.db import connect
from flows.ingest.load import ensure_schema
from tests.ingest_helpers import Warehouse, utc, write


def mapping(tmp_path: Path, text: str, name: str = "m.yml") -> Path:
    folder = tmp_path / "maps"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(dedent(text).lstrip(), encoding="utf-8")
    return folder


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def carriers(wh: Warehouse) -> list[tuple]:
    return wh.rows("SELECT carrier_id, carrier_name, mode, on_time_target, _row "
                   "FROM raw.carriers ORDER BY _file, _row")


def quarantine(wh: Warehouse) -> list[tuple]:
    return [(q["file"], q["row_number"], q["reason_list"], json.loads(q["raw"]))
            for q in wh.quarantine()]


def statuses(wh: Warehouse) -> dict[str, tuple]:
    return {p: (m["status"], m["reason"]) for p, m in wh.manifest().items()}


GERMAN_CARRIERS = """
source: spedition
files:
  - match: "tms/SPEDITEURE*.csv"
    entity: carriers
    read: { delimiter: ";", encoding: {encoding}, decimal: ",", thousands: "." }
    columns:
      carrier_id: NR
      carrier_name: NAME
      mode: ART
      on_time_target: QUOTE
"""


# --- read: delimiter, encoding, decimal, thousands ------------------------------------------


def test_delimiter_latin1_and_decimal_comma(tmp_path, exports, wh) -> None:
    write(exports, "tms/SPEDITEURE.csv", lines(
        "NR;NAME;ART;QUOTE", "C1;Müller, Köln;ltl;0,95", "C2;Straße AG;ftl;1").encode("latin-1"))
    wh.ingest(exports, mappings=mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "latin-1")))
    # the ',' inside the name is no delimiter; ü, ö, ß decoded from Latin-1; 0,95 exact
    assert carriers(wh) == [("C1", "Müller, Köln", "ltl", Decimal("0.95"), 1),
                            ("C2", "Straße AG", "ftl", Decimal("1"), 2)]


def test_cp1252_decodes_the_euro_sign_that_latin1_refuses(tmp_path, exports, wh) -> None:
    write(exports, "tms/SPEDITEURE.csv", lines(
        "NR;NAME;ART;QUOTE", "C1;€uro Express – Nord;parcel;0,9").encode("cp1252"))
    wh.ingest(exports, mappings=mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "cp1252")))
    assert carriers(wh) == [("C1", "€uro Express – Nord", "parcel", Decimal("0.9"), 1)]
    # the same bytes said to be Latin-1: 0x80 (€ in cp1252) is no Latin-1 character
    other = Warehouse(tmp_path / "other.duckdb")
    other.ingest(exports, mappings=mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "latin-1")))
    assert statuses(other) == {"tms/SPEDITEURE.csv": (
        "rejected", "tms/SPEDITEURE.csv (mapping spedition entry 1 (match 'tms/SPEDITEURE*.csv', "
        "carriers)): not latin-1 text: Invalid Input Error: File is not latin-1 encoded")}
    other.close()


def test_utf16_with_byte_order_mark_and_tab_delimiter(tmp_path, exports, wh) -> None:
    text = lines("NR\tNAME\tART\tQUOTE", "C1\tÅngström Ltd\tcourier\t0,5")
    write(exports, "tms/SPEDITEURE.txt", text.encode("utf-16"))
    folder = mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "utf-16")
                     .replace('delimiter: ";"', "delimiter: tab").replace("*.csv", "*.txt"))
    wh.ingest(exports, mappings=folder)
    assert carriers(wh) == [("C1", "Ångström Ltd", "courier", Decimal("0.5"), 1)]


FX = """
source: treasury
files:
  - match: "KURSE*.csv"
    entity: fx_rates
    read: { delimiter: ";", decimal: ",", thousands: ".", date: "%d.%m.%Y" }
    columns:
      rate_date: DATUM
      currency: WAEHRUNG
      usd_per_unit: KURS
"""


def test_thousands_and_decimal_separators_exactly_and_bad_groups_quarantined(tmp_path, exports, wh):
    write(exports, "fin/KURSE_2026.csv", lines(
        "DATUM;WAEHRUNG;KURS",
        "05.01.2026;JPY;0,0068",
        "05.01.2026;KRW;1.234,567891",     # 1234.567891
        "05.01.2026;IDR;12.345.678,9",     # 12345678.9
        "05.01.2026;VND;1.2.3",            # groups of one digit: not a number
        "05.01.2026;XAU;-2.650,10",        # sign kept (then the rule > 0 breaks)
    ))
    wh.ingest(exports, mappings=mapping(tmp_path, FX))
    assert wh.rows("SELECT currency, usd_per_unit FROM raw.fx_rates ORDER BY _row") == [
        ("JPY", Decimal("0.0068")), ("KRW", Decimal("1234.567891")),
        ("IDR", Decimal("12345678.9"))]
    assert quarantine(wh) == [
        ("fin/KURSE_2026.csv", 4,
         ["usd_per_unit (from KURS): '1.2.3' is not a number (decimal ',', thousands '.')"],
         {"DATUM": "05.01.2026", "WAEHRUNG": "VND", "KURS": "1.2.3"}),
        ("fin/KURSE_2026.csv", 5, ["usd_per_unit (from KURS): '-2.650,10' must be > 0"],
         {"DATUM": "05.01.2026", "WAEHRUNG": "XAU", "KURS": "-2.650,10"}),
    ]


# --- read: date and timestamp formats, per column, and the source's time zone -------------

RATES = """
source: hr
files:
  - match: "hr/SAETZE*.csv"
    entity: pay_rates
    read: { date: "%d.%m.%Y", decimal: "," }
    columns:
      employee_id: PERSNR
      effective_from: GUELTIG_AB
      hourly_rate: SATZ
      currency: { const: EUR }
"""


def test_date_format_iso_dates_still_accepted_and_bad_dates_quarantined(tmp_path, exports, wh):
    write(exports, "hr/SAETZE.csv", lines(
        "PERSNR,GUELTIG_AB,SATZ",
        'E1,05.01.2026,"20,5"',
        'E2,2026-01-06,"21"',          # the contract's own notation is still a date
        'E3,32.01.2026,"22"',
    ))
    wh.ingest(exports, mappings=mapping(tmp_path, RATES))
    assert wh.rows("SELECT employee_id, effective_from, hourly_rate, currency FROM raw.pay_rates "
                   "ORDER BY _row") == [("E1", date(2026, 1, 5), Decimal("20.5"), "EUR"),
                                        ("E2", date(2026, 1, 6), Decimal("21"), "EUR")]
    assert quarantine(wh) == [("hr/SAETZE.csv", 3, [
        "effective_from (from GUELTIG_AB): '32.01.2026' is not a date (%d.%m.%Y)"],
        {"PERSNR": "E3", "GUELTIG_AB": "32.01.2026", "SATZ": "22"})]


EMPLOYEES = """
source: hr
{zone}
files:
  - match: "hr/MITARBEITER*.csv"
    entity: employees
    read: { timestamp: "%d.%m.%Y %H:%M:%S", date: "%d.%m.%Y" }
    columns:
      employee_id: PERSNR
      hire_date: { from: EINTRITT, format: "%Y%m%d" }
      updated_at: GEAENDERT
"""


def test_timestamp_format_date_alone_per_column_format_and_offsets(tmp_path, exports, wh):
    write(exports, "hr/MITARBEITER.csv", lines(
        "PERSNR,EINTRITT,GEAENDERT",
        "E1,20250115,05.01.2026 10:30:00",   # no site: wall-clock UTC (exports.md)
        "E2,20250116,06.01.2026",            # a date alone: midnight
        "E3,20250117,2026-01-07 09:00+01:00",  # the contract's notation with an offset
        "E4,15.01.2025,05.01.2026 25:00:00",  # the column's own format wins over read.date
    ))
    wh.ingest(exports, mappings=mapping(tmp_path, EMPLOYEES.replace("{zone}", "")))
    assert wh.rows("SELECT employee_id, hire_date, updated_at FROM raw.employees ORDER BY _row") == [
        ("E1", date(2025, 1, 15), utc("2026-01-05T10:30:00+00:00")),
        ("E2", date(2025, 1, 16), utc("2026-01-06T00:00:00+00:00")),
        ("E3", date(2025, 1, 17), utc("2026-01-07T08:00:00+00:00")),
    ]
    assert [q[2] for q in quarantine(wh)] == [[
        "hire_date (from EINTRITT, format %Y%m%d): '15.01.2025' is not a date (%Y%m%d)",
        "updated_at (from GEAENDERT): '05.01.2026 25:00:00' is not a timestamp "
        "(%d.%m.%Y %H:%M:%S or %d.%m.%Y)"]]


def test_the_source_timezone_replaces_utc_and_the_site_zone(tmp_path, exports, wh):
    write(exports, "hr/MITARBEITER.csv", lines(
        "PERSNR,EINTRITT,GEAENDERT",
        "E1,20250115,05.01.2026 10:30:00",     # Berlin, UTC+1 in winter
        "E2,20250116,05.07.2026 10:30:00",     # Berlin, UTC+2 in summer
        "E3,20250117,2026-01-07 09:00+01:00",  # an instant stays the instant
    ))
    wh.ingest(exports, mappings=mapping(tmp_path, EMPLOYEES.replace("{zone}", "timezone: Europe/Berlin")))
    assert wh.rows("SELECT employee_id, updated_at FROM raw.employees ORDER BY _row") == [
        ("E1", utc("2026-01-05T09:30:00+00:00")), ("E2", utc("2026-07-05T08:30:00+00:00")),
        ("E3", utc("2026-01-07T08:00:00+00:00"))]


SHIPMENTS = """
source: sap_wms
{zone}
files:
  - match: "sap/LIEFERUNG_*.csv"
    entity: shipments
    read:
      delimiter: ";"
      decimal: ","
      thousands: "."
      timestamp: "%d.%m.%Y %H:%M:%S"
    columns:
      shipment_id: SENDUNG_NR
      order_id: AUFTRAG
      line_number: POS
      site_id: { from: WERK, map: { "1000": S1, "2000": S2 } }
      carrier_id: { const: DHL }
      shipped_qty: MENGE
      shipped_at: WA_DATUM
      delivered_at: { from: ZUGESTELLT_AM, format: "%Y%m%d%H%M" }
      status: { from: STATUS, map: { "10": in_transit, "20": delivered, "90": cancelled } }
      freight_cost: { sql: "FRACHT_NETTO + coalesce(FRACHT_ZUSCHLAG, 0)" }
      currency: WAEHRUNG
      updated_at: GEAENDERT_AM
"""

SHIPMENT_HEADER = ("SENDUNG_NR;AUFTRAG;POS;WERK;MENGE;WA_DATUM;ZUGESTELLT_AM;STATUS;FRACHT_NETTO;"
                   "FRACHT_ZUSCHLAG;WAEHRUNG;GEAENDERT_AM;BEMERKUNG")
SITES = lines("site_id,site_name,region,country,timezone", "S1,Chicago,NA,US,America/Chicago",
              "S2,Berlin,EU,DE,Europe/Berlin")


def test_naive_times_at_the_site_unless_the_source_names_its_zone(tmp_path, exports):
    write(exports, "ref/sites.csv", SITES)
    write(exports, "sap/LIEFERUNG_1.csv", lines(
        SHIPMENT_HEADER,
        "SH1;O1;1;1000;5;05.01.2026 10:00:00;202601061200;20;10,00;;EUR;06.01.2026 12:00:00;"))
    at_site = Warehouse(tmp_path / "site.duckdb")
    at_site.ingest(exports, mappings=mapping(tmp_path, SHIPMENTS.replace("{zone}", ""), "a.yml"))
    berlin = Warehouse(tmp_path / "berlin.duckdb")
    (tmp_path / "maps" / "a.yml").unlink()
    berlin.ingest(exports, mappings=mapping(tmp_path, SHIPMENTS.replace("{zone}", "timezone: Europe/Berlin")))
    query = "SELECT shipped_at, delivered_at, updated_at FROM raw.shipments"
    # S1 is in Chicago (UTC-6 in January); the source's zone Berlin is UTC+1
    assert at_site.rows(query) == [(utc("2026-01-05T16:00:00+00:00"), utc("2026-01-06T18:00:00+00:00"),
                                    utc("2026-01-06T18:00:00+00:00"))]
    assert berlin.rows(query) == [(utc("2026-01-05T09:00:00+00:00"), utc("2026-01-06T11:00:00+00:00"),
                                   utc("2026-01-06T11:00:00+00:00"))]
    at_site.close()
    berlin.close()


# --- read: header row, sheet, skip footer ---------------------------------------------------


def test_csv_header_row_and_skip_footer_number_rows_from_the_header(tmp_path, exports, wh):
    write(exports, "tms/SPEDITEURE.csv", lines(
        "Speditionsliste;;;", "Stand 05.01.2026;;;",
        "NR;NAME;ART;QUOTE", "C1;Alpha;ltl;0,9", "C2;Beta;boat;0,8", "C3;Gamma;ftl;0,7",
        "Summe;3;;"))
    folder = mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "utf-8").replace(
        'thousands: "."', 'thousands: ".", header_row: 3, skip_footer: 1'))
    summary = wh.ingest(exports, mappings=folder)
    assert carriers(wh) == [("C1", "Alpha", "ltl", Decimal("0.9"), 1),
                            ("C3", "Gamma", "ftl", Decimal("0.7"), 3)]
    assert quarantine(wh) == [("tms/SPEDITEURE.csv", 2, [
        "mode (from ART): 'boat' is not one of parcel|ltl|ftl|courier"],
        {"NR": "C2", "NAME": "Beta", "ART": "boat", "QUOTE": "0,8"})]
    assert (summary.files[0].rows_read, summary.files[0].rows_loaded) == (3, 2)  # no totals row


def _saved_search(path: Path, rows: list[list], total: list) -> None:
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("Summary").write_row(0, 0, ["Criteria", "all carriers"])
    sheet = book.add_worksheet("Export")
    sheet.write(0, 0, "ACME Logistics")
    sheet.write(1, 0, "Carrier list, 05.01.2026")
    sheet.write_row(3, 0, ["Nr", "Name", "Art", "Quote"])
    for r, row in enumerate(rows, start=4):
        sheet.write_row(r, 0, row)
    sheet.write_row(4 + len(rows), 0, total)
    book.close()


XLSX_CARRIERS = """
source: excel
files:
  - match: "tms/Carriers*.xlsx"
    entity: carriers
    read: { sheet: Export, header_row: 4, skip_footer: 1, decimal: ",", thousands: "." }
    columns:
      carrier_id: Nr
      carrier_name: Name
      mode: Art
      on_time_target: Quote
"""


def test_xlsx_sheet_title_block_totals_row_and_native_numbers(tmp_path, exports, wh):
    (exports / "tms").mkdir()
    # A: number cells only. 0.125 is read as the number it is, although with thousands
    # '.' its text "0.125" would mean 125: native numbers are rendered in the mapping's
    # notation ("0,125") before its separators are applied.
    _saved_search(exports / "tms" / "Carriers_A.xlsx",
                  [["C1", "Alpha", "ltl", 0.125], ["C2", "Beta", "parcel", 1]],
                  ["Total", 2, None, 1.125])
    # B: text cells in the mapping's notation
    _saved_search(exports / "tms" / "Carriers_B.xlsx",
                  [["C3", "Gamma", "ltl", "0,5"], ["C4", "Delta", "ship", "1"]], ["Total", 2])
    wh.ingest(exports, mappings=mapping(tmp_path, XLSX_CARRIERS))
    assert carriers(wh) == [("C1", "Alpha", "ltl", Decimal("0.125"), 1),
                            ("C2", "Beta", "parcel", Decimal("1"), 2),
                            ("C3", "Gamma", "ltl", Decimal("0.5"), 1)]
    assert quarantine(wh) == [("tms/Carriers_B.xlsx", 2, [
        "mode (from Art): 'ship' is not one of parcel|ltl|ftl|courier"],
        {"Nr": "C4", "Name": "Delta", "Art": "ship", "Quote": "1"})]


def test_xlsx_missing_sheet_rejects_the_file(tmp_path, exports, wh):
    (exports / "tms").mkdir()
    _saved_search(exports / "tms" / "Carriers.xlsx", [["C1", "Alpha", "ltl", 0.95]], ["Total"])
    wh.ingest(exports, mappings=mapping(tmp_path, XLSX_CARRIERS.replace("sheet: Export", "sheet: Daten")))
    assert statuses(wh) == {"tms/Carriers.xlsx": (
        "rejected", "tms/Carriers.xlsx (mapping excel entry 1 (match 'tms/Carriers*.xlsx', "
        "carriers)): no sheet named 'Daten' (sheets: Summary, Export)")}


# --- columns: name, from + map + format, const, sql, same name, drift ---------------------

FORMS = """
source: tms
files:
  - match: "SPED*.csv"
    entity: carriers
    columns:
      carrier_id: nr                                          # any case, trimmed
      carrier_name: { sql: "upper(NAME) || ' #' || NR" }      # NR looks like a number
      mode: { from: ART, map: { P: parcel, " l ": ltl } }
      on_time_target: { sql: "ZIEL_PROZENT * 0.01" }          # exact decimal arithmetic
"""


def test_column_forms_name_map_sql_and_same_named_columns(tmp_path, exports, wh):
    write(exports, "tms/SPED.csv", lines(
        " NR ,Name,ART,ZIEL_PROZENT,region,BEMERKUNG",
        "4711,alpha,P,95,x,",
        "0815,beta,l,90.5,x,",     # map keys match trimmed and ignoring case
        "42,gamma,X,80,x,"))       # X is in no map: kept, and judged by the contract
    summary = wh.ingest(exports, mappings=mapping(tmp_path, FORMS))
    # NR holds '0815': a code with a leading zero, so the expression sees NR as text
    assert carriers(wh) == [("4711", "ALPHA #4711", "parcel", Decimal("0.95"), 1),
                            ("0815", "BETA #0815", "ltl", Decimal("0.905"), 2)]
    assert quarantine(wh) == [("tms/SPED.csv", 3, [
        "mode (from ART via map): 'X' is not one of parcel|ltl|ftl|courier"],
        {" NR ": "42", "Name": "gamma", "ART": "X", "ZIEL_PROZENT": "80", "region": "x",
         "BEMERKUNG": None})]
    # 'region' is no carriers column: drift like BEMERKUNG
    assert summary.files[0].schema_drift == ["region", "BEMERKUNG"]
    assert wh.manifest()["tms/SPED.csv"]["schema_drift"] == "region, BEMERKUNG"


def test_sql_sees_numbers_and_dates_parsed_by_read(tmp_path, exports, wh):
    folder = mapping(tmp_path, """
        source: hr
        files:
          - match: "SAETZE.csv"
            entity: pay_rates
            read: { delimiter: ";", decimal: ",", thousands: ".", date: "%d.%m.%Y" }
            columns:
              employee_id: { sql: "'E' || PERSNR" }
              effective_from: { sql: "BEGINN + INTERVAL 1 DAY" }
              hourly_rate: { sql: "GRUND + coalesce(ZULAGE, 0)" }
              currency: { sql: "regexp_replace(WAEHRUNG, '[^A-Z]', '', 'g')" }
        """)
    write(exports, "SAETZE.csv", lines(
        "PERSNR;BEGINN;GRUND;ZULAGE;WAEHRUNG",
        "1;31.12.2025;1.020,50;0,25;(EUR)",
        "2;01.01.2026;21;;USD$"))
    wh.ingest(exports, mappings=folder)
    # 1.020,50 + 0,25 = 1020.75 exactly; the day after 31.12.2025 is 2026-01-01
    assert wh.rows("SELECT employee_id, effective_from, hourly_rate, currency FROM raw.pay_rates "
                   "ORDER BY _row") == [("E1", date(2026, 1, 1), Decimal("1020.75"), "EUR"),
                                        ("E2", date(2026, 1, 2), Decimal("21"), "USD")]


# --- the guarantees of exports.md for mapped files -------------------------------------------


def test_quarantine_keeps_the_source_row_and_names_contract_and_source_columns(tmp_path, exports, wh):
    write(exports, "ref/sites.csv", SITES)
    write(exports, "sap/LIEFERUNG_1.csv", lines(
        SHIPMENT_HEADER,
        "SH1;O1;1;1000;5;05.01.2026 10:00:00;202601061200;20;10,00;2,50;EUR;06.01.2026 12:00:00;ok",
        "SH2;O1;2;3000;1.5;05.01.2026 10:00:00;;20;x;;EUR;05.01.2026 10:00:00;Werk 3000?",
        "SH3;O2;1;2000;2;05.01.2026 11:00:00;;99;1,00;;EUR;05.01.2026 11:00:00;"))
    wh.ingest(exports, mappings=mapping(tmp_path, SHIPMENTS.replace("{zone}", "")))
    assert wh.rows("SELECT shipment_id, site_id, carrier_id, shipped_qty, freight_cost, currency, "
                   "status FROM raw.shipments") == [
        ("SH1", "S1", "DHL", Decimal("5"), Decimal("12.5"), "EUR", "delivered")]  # 10,00 + 2,50
    assert quarantine(wh) == [
        ("sap/LIEFERUNG_1.csv", 2, [
            # FRACHT_NETTO holds 'x' where the other rows hold numbers: not a number
            "freight_cost (sql FRACHT_NETTO + coalesce(FRACHT_ZUSCHLAG, 0)): FRACHT_NETTO 'x' is "
            "not a number (decimal ',', thousands '.')",
            # 1.5 with thousands '.': a group of one digit, not a number (never read as 1.5)
            "shipped_qty (from MENGE): '1.5' is not a number (decimal ',', thousands '.')",
            # WERK 3000 is in no map: kept, and an unknown site is no row rule
            "status (from STATUS via map), delivered_at (from ZUGESTELLT_AM, format %Y%m%d%H%M): "
            "status must be 'delivered' exactly when delivered_at is set"],
         {"SENDUNG_NR": "SH2", "AUFTRAG": "O1", "POS": "2", "WERK": "3000", "MENGE": "1.5",
          "WA_DATUM": "05.01.2026 10:00:00", "ZUGESTELLT_AM": None, "STATUS": "20",
          "FRACHT_NETTO": "x", "FRACHT_ZUSCHLAG": None, "WAEHRUNG": "EUR",
          "GEAENDERT_AM": "05.01.2026 10:00:00", "BEMERKUNG": "Werk 3000?"}),
        ("sap/LIEFERUNG_1.csv", 3, [
            "status (from STATUS via map): '99' is not one of in_transit|delivered|cancelled"],
         {"SENDUNG_NR": "SH3", "AUFTRAG": "O2", "POS": "1", "WERK": "2000", "MENGE": "2",
          "WA_DATUM": "05.01.2026 11:00:00", "ZUGESTELLT_AM": None, "STATUS": "99",
          "FRACHT_NETTO": "1,00", "FRACHT_ZUSCHLAG": None, "WAEHRUNG": "EUR",
          "GEAENDERT_AM": "05.01.2026 11:00:00", "BEMERKUNG": None}),
    ]


def test_manifest_records_the_mapping_its_entry_and_the_entry_hash(tmp_path, exports, wh):
    from flows.ingest.mappings import load_mappings

    write(exports, "tms/SPEDITEURE.csv", lines("NR;NAME;ART;QUOTE", "C1;A;ltl;0,9"))
    write(exports, "tms/carriers.csv", lines("carrier_id,mode", "C2,ftl"))
    folder = mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "utf-8"))
    wh.ingest(exports, mappings=folder)
    digest = load_mappings(folder)[0].entries[0].digest
    rows = {p: (m["status"], m["mapping"], m["mapping_entry"], m["mapping_hash"])
            for p, m in wh.manifest().items()}
    assert rows == {"tms/SPEDITEURE.csv": ("loaded", "spedition", 1, digest),
                    "tms/carriers.csv": ("loaded", None, None, None)}


def test_a_file_matched_by_two_mappings_is_rejected_naming_both(tmp_path, exports, wh):
    write(exports, "tms/SPEDITEURE.csv", lines("NR;NAME;ART;QUOTE", "C1;A;ltl;0,9"))
    write(exports, "tms/other.csv", lines("NR;NAME;ART;QUOTE", "C2;B;ltl;0,9"))
    mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "utf-8"), "a.yml")
    folder = mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "utf-8")
                     .replace("spedition", "tms2").replace("tms/SPEDITEURE*.csv", "tms/*.csv"), "b.yml")
    wh.ingest(exports, mappings=folder)
    assert statuses(wh)["tms/SPEDITEURE.csv"] == (
        "rejected", "tms/SPEDITEURE.csv: matched by two mappings: "
        f"{folder}/a.yml entry 1 (match 'tms/SPEDITEURE*.csv', carriers) and "
        f"{folder}/b.yml entry 1 (match 'tms/*.csv', carriers); a file is read through one "
        "mapping (make their match globs exclusive)")
    assert statuses(wh)["tms/other.csv"] == ("loaded", None)  # only b.yml matches it


def test_a_file_without_a_mapped_column_is_rejected_and_the_others_load(tmp_path, exports, wh):
    write(exports, "tms/SPEDITEURE_1.csv", lines("NR;NAME;ART;QUOTE", "C1;A;ltl;0,9"))
    write(exports, "tms/SPEDITEURE_2.csv", lines("NR;NAME;QUOTE", "C2;B;0,9"))
    wh.ingest(exports, mappings=mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "utf-8")))
    assert statuses(wh) == {
        "tms/SPEDITEURE_1.csv": ("loaded", None),
        "tms/SPEDITEURE_2.csv": (
            "rejected", "tms/SPEDITEURE_2.csv (mapping spedition entry 1 (match "
            "'tms/SPEDITEURE*.csv', carriers)): mode (from ART): source column 'ART' is not in "
            "the file (file has: NR, NAME, QUOTE)")}


def test_a_required_column_left_to_the_files_rejects_the_file_that_lacks_it(tmp_path, exports, wh):
    folder = mapping(tmp_path, """
        source: hr
        files:
          - match: "MA_*.csv"
            entity: employees
            columns: { hire_date: EINTRITT }
        """)
    write(exports, "MA_1.csv", lines("Employee_ID,EINTRITT", "E1,2025-01-15"))
    write(exports, "MA_2.csv", lines("PERSNR,EINTRITT", "E2,2025-01-16"))
    wh.ingest(exports, mappings=folder)
    assert wh.rows("SELECT employee_id, hire_date FROM raw.employees") == [("E1", date(2025, 1, 15))]
    assert statuses(wh)["MA_2.csv"] == (
        "rejected", "MA_2.csv (mapping hr entry 1 (match 'MA_*.csv', employees)): missing "
        "required column(s) employee_id: mapping hr entry 1 (match 'MA_*.csv', employees) "
        "gives no source and the file has no column of that name (file has: PERSNR, EINTRITT)")


def test_versions_tie_breaks_and_identity_by_bytes_hold_for_mapped_files(tmp_path, exports, wh):
    folder = mapping(tmp_path, dedent(EMPLOYEES).replace("{zone}", "").replace(
        "hire_date: { from: EINTRITT, format: \"%Y%m%d\" }", "role: FUNKTION"))
    header = "PERSNR,FUNKTION,GEAENDERT"
    write(exports, "hr/MITARBEITER_a.csv", lines(header, "E1,picker,05.01.2026 10:00:00",
                                                 "E2,picker,05.01.2026 10:00:00",
                                                 "E2,packer,05.01.2026 10:00:00"))
    write(exports, "hr/MITARBEITER_b.csv", lines(header, "E1,lead,04.01.2026 10:00:00",
                                                 "E2,driver,05.01.2026 10:00:00"))
    write(exports, "hr/MITARBEITER_c.csv", (exports / "hr/MITARBEITER_b.csv").read_bytes())
    wh.ingest(exports, mappings=folder)
    surviving = wh.rows("""
        SELECT employee_id, role FROM raw.employees
        QUALIFY row_number() OVER (PARTITION BY employee_id
                                   ORDER BY updated_at DESC, _file DESC, _row DESC) = 1
        ORDER BY 1""")
    # E1: the greater updated_at (file a) beats the later file; E2: equal updated_at, the
    # greater path (b) wins over a's two rows
    assert surviving == [("E1", "picker"), ("E2", "driver")]
    assert statuses(wh)["hr/MITARBEITER_c.csv"] == (
        "skipped_duplicate", "same bytes as hr/MITARBEITER_b.csv (already loaded)")
    before = wh.snapshot()
    wh.ingest(exports, "run2", mappings=folder)
    after = wh.snapshot()
    assert after == before  # delivered again: nothing changes


def test_an_old_working_database_gains_the_manifest_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = connect(path)
    con.execute("CREATE SCHEMA audit")
    con.execute("""CREATE TABLE audit.load_manifest (path VARCHAR NOT NULL, entity VARCHAR,
        sha256 VARCHAR NOT NULL, format VARCHAR, size_bytes BIGINT, status VARCHAR NOT NULL,
        reason VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
        schema_drift VARCHAR, run_id VARCHAR NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (path, sha256))""")
    con.execute("INSERT INTO audit.load_manifest VALUES ('a.csv', 'sites', 'abc', 'csv', 1, "
                "'loaded', NULL, 1, 1, 0, NULL, 'r0', TIMESTAMPTZ '2026-01-01 00:00:00+00')")
    ensure_schema(con)
    ensure_schema(con)  # idempotent
    assert con.execute("SELECT path, status, mapping, mapping_entry, mapping_hash "
                       "FROM audit.load_manifest").fetchall() == [("a.csv", "loaded", None, None, None)]
    con.close()


# --- checked against the files before anything loads --------------------------------------


def test_mistakes_only_the_files_show_are_mapping_problems(tmp_path, exports):
    from flows.ingest.mapcheck import check_mappings

    write(exports, "tms/SPEDITEURE_1.csv", lines("NR;NAME;ART;QUOTE", "C1;A;ltl;0,9"))
    write(exports, "tms/SPEDITEURE_2.csv", lines("NR;NAME;ART;QUOTE", "C2;B;ltl;0,8"))
    write(exports, "hr/MA.csv", lines("PERSNR,EINTRITT", "E2,2025-01-16"))
    write(exports, "README.txt", "hello")
    folder = mapping(tmp_path, """
        source: x
        files:
          - match: "tms/SPEDITEURE*.csv"
            entity: carriers
            read: { delimiter: ";", decimal: "," }
            columns:
              carrier_id: NR
              carrier_name: NAME
              mode: ARTT
              on_time_target: { sql: "NAME + 1" }
          - match: "hr/MA*.csv"
            entity: employees
            columns: { hire_date: EINTRITT }
          - match: "hr/*.csv"
            entity: employees
            columns: { employee_id: PERSNR }
          - match: "nowhere/*.csv"
            entity: sites
            columns: { site_id: W }
        """)
    result = check_mappings(folder, exports)
    where = f"{folder}/m.yml"
    assert [str(p) for p in result.problems] == [
        f"{where}: entry 1 (match 'tms/SPEDITEURE*.csv', carriers): column 'mode': source column "
        "'ARTT' is in none of the 2 matched files (tms/SPEDITEURE_1.csv has: art, name, nr, quote)",
    ]
    assert [str(p) for p in result.conflicts] == [
        f"hr/MA.csv: matched by two mappings: {where} entry 2 (match 'hr/MA*.csv', employees) and "
        f"{where} entry 3 (match 'hr/*.csv', employees); a file is read through one mapping "
        "(make their match globs exclusive)"]
    assert result.unmatched == ["README.txt"]
    assert [e.index for e in result.idle] == [2, 3, 4]
    # with the typo fixed, the sql expression fails on every file: NAME is text
    fixed = mapping(tmp_path, (folder / "m.yml").read_text().replace("ARTT", "ART"))
    result = check_mappings(fixed, exports)
    assert [str(p) for p in result.problems] == [
        f"{where}: entry 1 (match 'tms/SPEDITEURE*.csv', carriers): on_time_target (sql NAME + 1): "
        "the sql expression does not work on this file's columns: No function matches the given "
        "name and argument types '+(VARCHAR, INTEGER_LITERAL)'. You might need to add explicit "
        "type casts."]


def test_required_column_no_matched_file_supplies(tmp_path, exports):
    from flows.ingest.mapcheck import check_mappings

    write(exports, "hr/MA.csv", lines("PERSNR,EINTRITT", "E2,2025-01-16"))
    folder = mapping(tmp_path, """
        source: x
        files:
          - match: "hr/MA*.csv"
            entity: employees
            columns: { hire_date: EINTRITT }
        """)
    assert [str(p) for p in check_mappings(folder, exports).problems] == [
        f"{folder}/m.yml: entry 1 (match 'hr/MA*.csv', employees): required column 'employee_id' "
        "has no source: it is not under columns and none of the 1 matched file has a column "
        "named 'employee_id'"]


def test_check_shows_what_each_contract_column_gets(tmp_path, exports):
    import subprocess
    import sys

    write(exports, "tms/SPEDITEURE.csv",
          lines("NR;NAME;ART;QUOTE;X", "C1;Alpha;ltl;0,9;", "C2;Beta;boat;0,8;"))
    write(exports, "notes.csv", "a\n1\n")
    mapping(tmp_path, GERMAN_CARRIERS.replace("{encoding}", "utf-8"))
    done = subprocess.run([sys.executable, "-m", "flows.cli", "mappings", "check", "--mappings",
                           "maps", "--exports", "exports", "--rows", "2"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[2:] == [
        "",
        "tms/SPEDITEURE.csv → carriers through spedition entry 1 (match 'tms/SPEDITEURE*.csv', "
        "carriers)",
        "  carrier_id      ← from NR: 'C1', 'C2'",
        "  carrier_name    ← from NAME: 'Alpha', 'Beta'",
        "  mode            ← from ART: 'ltl', 'boat'",
        "  on_time_target  ← from QUOTE: '0.9', '0.8'",
        "  row 2 would be quarantined: mode (from ART): 'boat' is not one of parcel|ltl|ftl|courier",
        "  not used (schema drift): X",
        "",
        "1 file(s) matched by no mapping and no contract name (skipped as unrecognised):",
        "  notes.csv",
        "mappings OK: 1 in maps",
    ]


def test_defaults_fill_null_values_of_mapped_numbers(tmp_path, exports, wh):
    folder = mapping(tmp_path, """
        source: wms
        files:
          - match: "WE_*.csv"
            entity: goods_receipts
            read: { delimiter: ";", decimal: ",", thousands: ".", timestamp: "%d.%m.%Y %H:%M" }
            columns:
              receipt_id: BELEG
              po_id: BESTELLUNG
              po_line: POS
              site_id: WERK
              received_qty: MENGE
              rejected_qty: ABGELEHNT
              received_at: DATUM
              updated_at: DATUM
        """)
    write(exports, "WE_1.csv", lines(
        "BELEG;BESTELLUNG;POS;WERK;MENGE;ABGELEHNT;DATUM",
        "R1;P1;10;S1;1.000;;05.01.2026 10:00",      # null rejected_qty = 0 (exports.md)
        "R2;P1;20;S1;2,5;0,5;05.01.2026 11:00"))
    wh.ingest(exports, mappings=folder)
    assert wh.rows("SELECT receipt_id, po_line, received_qty, rejected_qty FROM raw.goods_receipts "
                   "ORDER BY _row") == [("R1", 10, Decimal("1000"), Decimal("0")),
                                        ("R2", 20, Decimal("2.5"), Decimal("0.5"))]
