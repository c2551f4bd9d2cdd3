"""Mapping files (docs/spec/mappings.md) read into typed objects, and every mistake in
them found before anything loads: one exact line per problem naming the mapping file,
the entry and what is wrong. Also the globs that match files to entries, and
``opskpi mappings check`` on its own (no exports)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from flows.ingest.mappings import MappingError, glob_pattern, load_mappings

ROOT = Path(__file__).resolve().parent.parent

#: The example of mappings.md, word for word.
SPEC_EXAMPLE = """
source: acme_wms               # a name; appears in the load manifest
timezone: Europe/Berlin        # optional: wall-clock times of this source are in this zone
                               # instead of the site's (exports.md's rule otherwise)
files:
  - match: "acme/LIEFERUNG_*.csv"
    entity: shipments
    read:                      # all optional; defaults as in exports.md
      delimiter: ";"
      encoding: latin-1        # utf-8 (default), latin-1, cp1252, utf-16
      decimal: ","             # decimal separator of numbers
      thousands: "."           # thousands separator of numbers (removed before parsing)
      date: "%d.%m.%Y"         # strptime-style format of date columns
      timestamp: "%d.%m.%Y %H:%M:%S"
      header_row: 1            # 1-based row of the header (CSV and XLSX)
      sheet: "Export"          # XLSX sheet name (default: first sheet)
      skip_footer: 0           # trailing rows to ignore (totals lines)
    columns:                   # contract column: how to get it
      shipment_id: SENDUNG_NR                    # a source column, by name
      order_id: AUFTRAG
      line_number: POS
      site_id: { from: WERK, map: { "1000": S01, "2000": S02 } }
      carrier_id: { const: DHL }
      status: { from: STATUS, map: { "10": in_transit, "20": delivered, "90": cancelled } }
      freight_cost: { sql: "FRACHT_NETTO + coalesce(FRACHT_ZUSCHLAG, 0)" }
      delivered_at: { from: ZUGESTELLT_AM, format: "%Y%m%d%H%M" }   # per-column format
"""

#: A valid entry to put mistakes into (carriers: carrier_id is its only required column).
CARRIERS = """
source: tms
files:
  - match: "tms/*.csv"
    entity: carriers
    columns:
      carrier_id: NR
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


def problems_of(folder: Path) -> list[str]:
    cwd = os.getcwd()
    os.chdir(folder)  # problems name the mapping file relative to the working folder
    try:
        _, problems = load_mappings(Path("."))
    finally:
        os.chdir(cwd)
    return [str(p) for p in problems]


# --- a valid mapping, read ------------------------------------------------------------


def test_the_example_of_the_spec_reads_into_typed_entries(tmp_path: Path) -> None:
    write(tmp_path, "acme.yml", SPEC_EXAMPLE)
    mappings, problems = load_mappings(tmp_path)
    assert problems == []
    [mapping] = mappings.mappings
    assert (mapping.source, mapping.timezone, len(mapping.files)) == ("acme_wms", "Europe/Berlin", 1)
    [entry] = mapping.files
    assert (entry.index, entry.match, entry.entity.name) == (1, "acme/LIEFERUNG_*.csv", "shipments")
    r = entry.read
    assert (r.delimiter, r.encoding, r.decimal, r.thousands, r.date, r.timestamp, r.header_row,
            r.sheet, r.skip_footer) == (";", "latin-1", ",", ".", "%d.%m.%Y", "%d.%m.%Y %H:%M:%S",
                                        1, "Export", 0)
    forms = {c.contract: (c.kind, c.column, c.map, c.format, c.const, c.sql, c.refs)
             for c in entry.columns}
    assert forms == {
        "shipment_id": ("column", "SENDUNG_NR", (), None, None, None, ()),
        "order_id": ("column", "AUFTRAG", (), None, None, None, ()),
        "line_number": ("column", "POS", (), None, None, None, ()),
        "site_id": ("from", "WERK", (("1000", "S01"), ("2000", "S02")), None, None, None, ()),
        "carrier_id": ("const", None, (), None, "DHL", None, ()),
        "status": ("from", "STATUS", (("10", "in_transit"), ("20", "delivered"),
                                      ("90", "cancelled")), None, None, None, ()),
        "freight_cost": ("sql", None, (), None, None,
                         "FRACHT_NETTO + coalesce(FRACHT_ZUSCHLAG, 0)",
                         ("FRACHT_NETTO", "FRACHT_ZUSCHLAG")),
        "delivered_at": ("from", "ZUGESTELLT_AM", (), "%Y%m%d%H%M", None, None, ()),
    }
    # how quarantine reasons name the columns: contract column and where it came from
    labels = {c.contract: c.label for c in entry.columns}
    assert labels["status"] == "status (from STATUS via map)"
    assert labels["delivered_at"] == "delivered_at (from ZUGESTELLT_AM, format %Y%m%d%H%M)"
    assert labels["carrier_id"] == "carrier_id (const 'DHL')"
    assert labels["freight_cost"] == "freight_cost (sql FRACHT_NETTO + coalesce(FRACHT_ZUSCHLAG, 0))"
    # the spec's example lists neither shipped_qty, shipped_at nor updated_at (required):
    # they can only come from source columns of the same names, which the files decide
    # (tests/test_mappings_files.py); no problem of the mapping itself
    assert entry.by_name == ["shipped_qty", "shipped_at", "updated_at"]


def test_scalars_stay_text_codes_keep_their_zeros_and_yes_stays_yes(tmp_path: Path) -> None:
    write(tmp_path, "x.yml", """
        source: x
        files:
          - match: "*.csv"
            entity: carriers
            read: { header_row: 3, skip_footer: 2 }
            columns:
              carrier_id: { from: NR, map: { 010: C10, 0x1F: C31, yes: CY, 1e3: CE } }
              mode: { const: no }
        """)
    mappings, problems = load_mappings(tmp_path)
    assert problems == []
    entry = mappings.entries[0]
    assert entry.column("carrier_id").map == (("010", "C10"), ("0x1F", "C31"), ("yes", "CY"),
                                              ("1e3", "CE"))
    assert entry.column("mode").const == "no"
    assert (entry.read.header_row, entry.read.skip_footer) == (3, 2)


def test_anchors_aliases_and_merge_keys_share_options(tmp_path: Path) -> None:
    write(tmp_path, "x.yml", """
        source: x
        files:
          - match: "a_*.csv"
            entity: carriers
            read: &csv { delimiter: ";", decimal: "," }
            columns: { carrier_id: { from: NR, map: &codes { "1": C1 } } }
          - match: "b_*.csv"
            entity: carriers
            read: { <<: *csv, header_row: 2 }
            columns: { carrier_id: { from: NR, map: *codes } }
        """)
    mappings, problems = load_mappings(tmp_path)
    assert problems == []
    first, second = mappings.entries
    assert (second.read.delimiter, second.read.decimal, second.read.header_row) == (";", ",", 2)
    assert first.read.header_row is None
    assert second.column("carrier_id").map == (("1", "C1"),)


def test_entry_hash_changes_with_its_entry_and_the_source_timezone_only(tmp_path: Path) -> None:
    two = """
        source: x
        timezone: {tz}
        files:
          - match: "a_*.csv"
            entity: carriers
            columns: {{ carrier_id: {{ from: NR, map: {{ "1": {a} }} }} }}
          - match: "b_*.csv"
            entity: carriers
            columns: {{ carrier_id: NR }}
        """

    def digests(tz: str, a: str) -> list[str]:
        write(tmp_path, "x.yml", two.format(tz=tz, a=a))
        mappings, problems = load_mappings(tmp_path)
        assert problems == []
        return [e.digest for e in mappings.entries]

    base = digests("UTC", "C1")
    assert digests("UTC", "C1") == base  # stable
    changed = digests("UTC", "C9")
    assert changed[0] != base[0] and changed[1] == base[1]  # only the edited entry
    moved = digests("Europe/Berlin", "C1")
    assert moved[0] != base[0] and moved[1] != base[1]  # the zone changes every value
    assert all(len(d) == 16 for d in base)


# --- globs ------------------------------------------------------------------------------


@pytest.mark.parametrize(("glob", "path", "matches"), [
    ("sap/LIEFERUNG_*.csv", "sap/LIEFERUNG_2026-01.csv", True),
    ("sap/LIEFERUNG_*.csv", "SAP/lieferung_2026-01.CSV", True),  # case-insensitive
    ("sap/LIEFERUNG_*.csv", "sap/old/LIEFERUNG_2026-01.csv", False),  # * stays in a folder
    ("sap/LIEFERUNG_*.csv", "x/sap/LIEFERUNG_2026-01.csv", False),  # a path is whole
    ("LIEFERUNG_*.csv", "x/y/LIEFERUNG_1.csv", True),  # no '/': the name, in any folder
    ("LIEFERUNG_*.csv", "LIEFERUNG_1.csv", True),
    ("**/LIEFERUNG_*.csv", "LIEFERUNG_1.csv", True),  # ** is also no folder
    ("sap/**/*.csv", "sap/a/b/c.csv", True),
    ("sap/**/*.csv", "sap/c.csv", True),
    ("sap/**", "sap/a/b.txt", True),
    ("sap/**", "erp/a.csv", False),
    ("sap/[ab]_?.csv", "sap/b_1.csv", True),
    ("sap/[!ab]_?.csv", "sap/b_1.csv", False),
    ("sap/a+b (1).csv", "sap/a+b (1).csv", True),  # regex characters are literal
    ("sap/*.csv", "sap/a.csv.gz", False),
])
def test_match_globs(glob: str, path: str, matches: bool) -> None:
    assert (glob_pattern(glob).fullmatch(path) is not None) is matches


# --- every mistake, one exact line --------------------------------------------------------

E1 = "entry 1 (match 'tms/*.csv', carriers)"


def with_read(options: str) -> str:
    """CARRIERS with a read: block."""
    return CARRIERS.replace("    columns:", f"    read: {{ {options} }}\n    columns:")


MISTAKES = [
    ("bad_yaml", "source: tms\nfiles:\n  - match: 'tms/*.csv'\n    entity: [carriers\n",
     ["m.yml: not valid YAML: line 5, column 1: expected ',' or ']', but got '<stream end>'"]),
    ("not_a_mapping", "- source: tms\n",
     ["m.yml: not a mapping: expected the keys source, timezone (optional) and files"]),
    ("unknown_top_key", CARRIERS + "sources: x\n",
     ["m.yml: unknown key 'sources' (did you mean 'source'?) (keys: source, timezone, files)"]),
    ("missing_source", CARRIERS.replace("source: tms\n", ""),
     ["m.yml: source: missing (the name of the source system)"]),
    ("bad_timezone", CARRIERS.replace("source: tms\n", "source: tms\ntimezone: Europe/Berln\n"),
     ["m.yml: timezone: 'Europe/Berln' is not an IANA time zone name (e.g. Europe/Berlin)"]),
    ("no_files", "source: tms\nfiles: []\n",
     ["m.yml: files: missing or empty (a list of entries with match, entity, read and columns)"]),
    ("unknown_entity", CARRIERS.replace("entity: carriers", "entity: carrier"),
     ["m.yml: entry 1 (match 'tms/*.csv', carrier): entity: 'carrier' is not an entity of the "
      "contract (did you mean 'carriers'?) (entities: sites, carriers, vendors, employees, "
      "pay_rates, fx_rates, budgets, order_lines, shipments, purchase_order_lines, "
      "goods_receipts, invoice_lines, timesheets, inventory_snapshots, cycle_counts, returns, "
      "service_tickets, safety_incidents)"]),
    ("unknown_column", CARRIERS + "      carrier_nam: NAME\n",
     [f"m.yml: {E1}: column 'carrier_nam' is not a column of carriers (did you mean "
      "'carrier_name'?) (columns: carrier_id, carrier_name, mode, on_time_target)"]),
    ("column_twice", CARRIERS + "      carrier_id: NR2\n",
     ["m.yml: not valid YAML: line 7, column 7: key 'carrier_id' written twice"]),
    ("sql_syntax", CARRIERS + "      on_time_target: { sql: 'QUOTE +' }\n",
     [f"m.yml: {E1}: column 'on_time_target': sql: does not compile: syntax error at or near \"+\""]),
    ("sql_unknown_function", CARRIERS + "      mode: { sql: 'frobnicate(ART)' }\n",
     [f"m.yml: {E1}: column 'mode': sql: does not compile: Scalar Function with name frobnicate "
      "does not exist!"]),
    ("sql_aggregate", CARRIERS + "      on_time_target: { sql: 'avg(QUOTE)' }\n",
     [f"m.yml: {E1}: column 'on_time_target': sql: does not compile: an aggregate (sum, count, "
      "...) is no value of one row"]),
    ("sql_subquery", CARRIERS + "      mode: { sql: '(SELECT 1)' }\n",
     [f"m.yml: {E1}: column 'mode': sql: a subquery is not a value of the row: use the row's "
      "own columns"]),
    ("sql_two_expressions", CARRIERS + "      mode: { sql: 'A, B' }\n",
     [f"m.yml: {E1}: column 'mode': sql: does not compile: not one expression (a comma, FROM or "
      "a clause?)"]),
    ("format_bad_directive", with_read("date: '%d.%m.%Q'"),
     [f"m.yml: {E1}: read: date: '%d.%m.%Q' is not a strptime format: Failed to parse format "
      "specifier %d.%m.%Q: Unrecognized format for strftime/strptime: %Q"]),
    ("format_without_directives", with_read("timestamp: 'dd.mm.yyyy HH:MM'"),
     [f"m.yml: {E1}: read: timestamp: 'dd.mm.yyyy HH:MM' is not a strptime format: it has no "
      "%-directives (e.g. '%d.%m.%Y' for 31.12.2026)"]),
    ("format_without_year", with_read("date: '%d.%m.'"),
     [f"m.yml: {E1}: read: date: '%d.%m.' does not parse back the date it writes ('27.11.'): "
      "it needs the year, month and day"]),
    ("format_on_a_number", CARRIERS + "      on_time_target: { from: Q, format: '%d' }\n",
     [f"m.yml: {E1}: column 'on_time_target': format: on_time_target is a num column; a format "
      "is for date and timestamp columns (numbers use read: decimal/thousands)"]),
    ("unknown_read_option", with_read("delimeter: ';'"),
     [f"m.yml: {E1}: read: unknown option 'delimeter' (did you mean 'delimiter'?) (options: "
      "delimiter, encoding, decimal, thousands, date, timestamp, header_row, sheet, skip_footer)"]),
    ("bad_read_values", with_read("delimiter: ';;', encoding: ebcdic, decimal: ';', header_row: 0"),
     [f"m.yml: {E1}: read: delimiter: ';;' is not one character (e.g. ';', '|', 'tab')",
      f"m.yml: {E1}: read: encoding: 'ebcdic' is not one of utf-8, latin-1, cp1252, utf-16",
      f"m.yml: {E1}: read: decimal: ';' is not '.' or ','",
      f"m.yml: {E1}: read: header_row: '0' is not a whole number ≥ 1"]),
    ("thousands_equals_decimal", with_read("decimal: ',', thousands: ','"),
     [f"m.yml: {E1}: read: thousands ',' is also the decimal separator"]),
    ("map_not_pairs", CARRIERS + "      mode: { from: ART, map: [a, b] }\n",
     [f"m.yml: {E1}: column 'mode': map: expected source value → contract value pairs, e.g. "
      "{\"10\": open}"]),
    ("map_nested_value", CARRIERS + "      mode: { from: ART, map: { a: [x] } }\n",
     [f"m.yml: {E1}: column 'mode': map: 'a': keys and values must be single values, not lists "
      "or mappings"]),
    ("map_key_twice_ignoring_case", CARRIERS + "      mode: { from: ART, map: { P: parcel, p: ltl } }\n",
     [f"m.yml: {E1}: column 'mode': map: key 'P' written twice (keys are compared trimmed and "
      "ignoring case)"]),
    ("forms_combined", CARRIERS + "      mode: { const: parcel, from: ART }\n",
     [f"m.yml: {E1}: column 'mode': const, from cannot be combined: expected a source column "
      "name, {from: COLUMN} (with map and format), {const: VALUE} or {sql: EXPRESSION}"]),
    ("map_without_from", CARRIERS + "      mode: { map: { a: parcel } }\n",
     [f"m.yml: {E1}: column 'mode': map and format need from: the source column they apply to"]),
]


@pytest.mark.parametrize(("case", "text", "expected"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_every_mistake_is_one_line_naming_file_entry_and_problem(
        tmp_path: Path, case: str, text: str, expected: list[str]) -> None:
    write(tmp_path, "m.yml", text)
    assert problems_of(tmp_path) == expected


def test_two_mapping_files_of_one_source(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", CARRIERS)
    write(tmp_path, "b.yml", CARRIERS)
    assert problems_of(tmp_path) == [
        "b.yml: source 'tms' is also the source of a.yml: each source system has one mapping file"]


def test_a_broken_mapping_raises_with_its_first_problem_and_the_count() -> None:
    from flows.ingest.mappings import Problem

    error = MappingError([Problem("m.yml", E1, "first"), Problem("m.yml", None, "second"),
                          Problem("n.yml", None, "third")])
    assert str(error) == (f"mapping error: m.yml: {E1}: first (and 2 more: opskpi mappings "
                          "check lists them)")


def test_sub_folders_and_other_files_are_not_mappings(tmp_path: Path) -> None:
    write(tmp_path, "tms.yaml", CARRIERS)
    write(tmp_path / "examples", "other.yml", CARRIERS.replace("tms", "other"))
    write(tmp_path, "notes.txt", "not yaml: [")
    mappings, problems = load_mappings(tmp_path)
    assert (problems, mappings.names()) == ([], ["tms"])
    assert load_mappings(tmp_path / "missing") [0].names() == []


# --- opskpi mappings check, without exports ----------------------------------------------


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, check=False)


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    write(tmp_path / "maps", "m.yml",
          CARRIERS + "      carrier_nam: NAME\n      mode: { sql: 'frobnicate(ART)' }\n")
    done = run_cli("mappings", "check", "--mappings", "maps", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"ERROR maps/m.yml: {E1}: column 'carrier_nam' is not a column of carriers (did you mean "
        "'carrier_name'?) (columns: carrier_id, carrier_name, mode, on_time_target)",
        f"ERROR maps/m.yml: {E1}: column 'mode': sql: does not compile: Scalar Function with name "
        "frobnicate does not exist!",
    ]
    assert done.stderr.strip().splitlines()[-1] == (
        "2 problem(s) in the mappings of maps: nothing would load until they are fixed")


def test_check_notes_required_columns_left_to_the_files(tmp_path: Path) -> None:
    write(tmp_path / "maps", "acme.yml", SPEC_EXAMPLE)
    done = run_cli("mappings", "check", "--mappings", "maps", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "maps/acme.yml: source acme_wms, wall-clock times in Europe/Berlin, 1 entry",
        "  entry 1 (match 'acme/LIEFERUNG_*.csv', shipments) "
        f"[{load_mappings(tmp_path / 'maps')[0].entries[0].digest}]",
        "    note: required shipped_qty, shipped_at, updated_at not under columns: every file "
        "must have a source column of that name (--exports checks the files)",
        "mappings OK: 1 in maps",
    ]


def test_check_of_the_examples_is_clean() -> None:
    done = run_cli("mappings", "check", "--mappings", "mappings/examples")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == (
        "mappings/examples/netsuite.yml: source netsuite, wall-clock times in "
        "America/Los_Angeles, 5 entries")
    assert done.stdout.splitlines()[-1] == "mappings OK: 2 in mappings/examples"


def test_check_of_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli("mappings", "check", "--mappings", str(tmp_path / "nope"))
    assert done.returncode == 64
    assert done.stderr.strip().splitlines()[-1] == f"Error: --mappings: folder not found: {tmp_path / 'nope'}"
