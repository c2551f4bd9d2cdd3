"""What a trial of the ingestion found broken, each reproduced for real first:

1. a file without read permission failed the whole night; a folder without it was
   skipped without a trace;
2. a broken symbolic link, a link loop, a FIFO named like an export vanished without a
   trace (and a FIFO must never hang the run);
3. a header naming the same contract column twice loaded one of the two columns;
4. a Parquet struct/list/map column loaded as text (``{'code': S01}``);
5. a JSONL syntax error named the wrong line;
6. a CSV line too long named line 1;
7. a file growing while read was recorded with one hash and loaded with other bytes.

Permissions are real: the ingestion runs in a child process that cannot bypass them
(tests run as root in CI; see ``ingest_helpers.permissions_apply``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from tests.ingest_helpers import Warehouse, entity_csv, ingest_in_child, row, write

UNREAD = "unread"  # the manifest's sha256 of an entry of which no byte could be read


def carriers_csv(*ids: str) -> str:
    return entity_csv("carriers", *(row("carriers", carrier_id=i) for i in ids))


def manifest_of(wh: Warehouse, rel: str) -> dict:
    rows = [m for p, m in wh.manifest().items() if p == rel]
    assert rows, f"{rel} not in the manifest: {sorted(wh.manifest())}"
    return rows[0]


def assert_rejected(wh: Warehouse, rel: str, *words: str, sha256: str | None = None) -> str:
    m = manifest_of(wh, rel)
    assert m["status"] == "rejected", m
    reason = m["reason"]
    assert reason.startswith(rel + ": "), reason
    for word in words:
        assert word.lower() in reason.lower(), (word, reason)
    if sha256 is not None:
        assert m["sha256"] == sha256
    assert m["rows_loaded"] is None
    return reason


def carrier_ids(wh: Warehouse) -> list[tuple[str, str]]:
    return wh.rows("SELECT _file, carrier_id FROM raw.carriers ORDER BY _file, _row")


# --- 1. permissions ---------------------------------------------------------------------


def test_unreadable_file_and_folder_are_rejected_and_the_rest_loads(tmp_path: Path) -> None:
    exports, database = tmp_path / "exports", tmp_path / "ops.duckdb"
    write(exports, "tms/carriers_a.csv", carriers_csv("A1", "A2"))
    locked = write(exports, "tms/carriers_b.csv", carriers_csv("B1"))
    write(exports, "hr/private/carriers_c.csv", carriers_csv("C1"))
    write(exports, "zz/carriers_d.csv", carriers_csv("D1"))
    locked.chmod(0o000)
    (exports / "hr/private").chmod(0o000)
    try:
        logs = ingest_in_child(exports, database)
    finally:
        locked.chmod(0o644)
        (exports / "hr/private").chmod(0o755)

    wh = Warehouse(database)
    try:
        assert_rejected(wh, "tms/carriers_b.csv", "permission denied", sha256=UNREAD)
        assert manifest_of(wh, "tms/carriers_b.csv")["entity"] == "carriers"
        assert_rejected(wh, "hr/private/", "folder cannot be read: permission denied; the files "
                        "in it were not seen", sha256=UNREAD)
        assert manifest_of(wh, "hr/private/")["entity"] is None
        assert "REJECTED tms/carriers_b.csv: cannot be read: Permission denied" in "\n".join(logs)
        assert any(line.startswith("REJECTED hr/private/: ") for line in logs), logs
        # the rest loads: A1, A2 and D1 (C1 is in the folder that cannot be read)
        assert carrier_ids(wh) == [("tms/carriers_a.csv", "A1"), ("tms/carriers_a.csv", "A2"),
                                   ("zz/carriers_d.csv", "D1")]
    finally:
        wh.close()

    # Readable again: both load in the next run; the rejected rows stay as history.
    logs = ingest_in_child(exports, database, run_id="run2")
    wh = Warehouse(database)
    try:
        assert manifest_of(wh, "hr/private/carriers_c.csv")["status"] == "loaded"
        loaded_b = wh.rows("SELECT sha256, size_bytes FROM audit.load_manifest "
                           "WHERE path = 'tms/carriers_b.csv' AND status = 'loaded'")
        content = (exports / "tms/carriers_b.csv").read_bytes()
        assert loaded_b == [(hashlib.sha256(content).hexdigest(), len(content))]
        assert [c for _, c in carrier_ids(wh)] == ["C1", "A1", "A2", "B1", "D1"]
    finally:
        wh.close()


# --- 2. what the walk cannot open -------------------------------------------------------


@pytest.mark.timeout(120)
def test_links_loops_and_fifos_are_recorded_never_read(wh: Warehouse, exports: Path) -> None:
    write(exports, "tms/carriers_real.csv", carriers_csv("R1"))
    (exports / "tms/carriers_dangling.csv").symlink_to(exports / "tms/no_such_file.csv")
    (exports / "tms/carriers_loop.csv").symlink_to(exports / "tms/carriers_loop.csv")
    (exports / "tms/carriers_linked.csv").symlink_to(exports / "tms/carriers_real.csv")
    os.mkfifo(exports / "tms/carriers_fifo.csv")  # nobody writes it: opening it would block
    os.mkfifo(exports / "README")  # unrecognised: recorded as such, not opened either
    (exports / "tms/again").symlink_to(exports)  # a folder link back to the top
    (exports / "linked_dir").symlink_to(exports / "tms")  # a folder link: searched

    summary = wh.ingest(exports)

    assert_rejected(wh, "tms/carriers_dangling.csv", "broken symbolic link", sha256=UNREAD)
    assert_rejected(wh, "tms/carriers_loop.csv", "symbolic link loop", sha256=UNREAD)
    assert_rejected(wh, "tms/carriers_fifo.csv", "not a regular file", "FIFO", sha256=UNREAD)
    assert_rejected(wh, "tms/again/", "symbolic link loop", sha256=UNREAD)
    # the same entries seen again through the folder link are recorded under that path
    assert_rejected(wh, "linked_dir/carriers_fifo.csv", "FIFO")
    assert manifest_of(wh, "README")["status"] == "unrecognised"
    assert manifest_of(wh, "README")["sha256"] == UNREAD
    # the real file loads once; its link and the folder link's copy are the same bytes
    real = hashlib.sha256((exports / "tms/carriers_real.csv").read_bytes()).hexdigest()
    statuses = {p: (m["status"], m["sha256"]) for p, m in wh.manifest().items()
                if p.endswith(("carriers_real.csv", "carriers_linked.csv"))}
    assert statuses == {
        "linked_dir/carriers_linked.csv": ("loaded", real),
        "linked_dir/carriers_real.csv": ("skipped_duplicate", real),
        "tms/carriers_linked.csv": ("skipped_duplicate", real),
        "tms/carriers_real.csv": ("skipped_duplicate", real),
    }
    assert carrier_ids(wh) == [("linked_dir/carriers_linked.csv", "R1")]
    # dangling, loop, fifo and the loop folder again/, in tms/ and through linked_dir/
    assert summary.as_dict()["files_rejected"] == 8
    for rel in ("tms/carriers_dangling.csv", "tms/carriers_loop.csv", "tms/carriers_fifo.csv",
                "tms/again/"):
        assert any(line.startswith(f"REJECTED {rel}: ") for line in wh.logs), (rel, wh.logs)


def test_unreadable_entries_keep_one_manifest_row_each(wh: Warehouse, exports: Path) -> None:
    """Seen again, an entry that is still unreadable is judged again but keeps its one
    row (path, 'unread'); once readable it loads under its real hash."""
    write(exports, "tms/carriers.csv", carriers_csv("K1"))
    (exports / "tms/carriers_later.csv").symlink_to(exports / "tms/later.csv")
    wh.ingest(exports, "run1")
    wh.ingest(exports, "run2")
    assert wh.rows("SELECT path, sha256, status, run_id FROM audit.load_manifest "
                   "WHERE path = 'tms/carriers_later.csv'") == [
        ("tms/carriers_later.csv", UNREAD, "rejected", "run1")]
    write(exports, "tms/later.csv", carriers_csv("K2"))
    wh.ingest(exports, "run3")
    assert [s for _, s in wh.rows("SELECT sha256, status FROM audit.load_manifest "
                                  "WHERE path = 'tms/carriers_later.csv' ORDER BY status")] == [
        "loaded", "rejected"]
    assert [c for _, c in carrier_ids(wh)] == ["K1", "K2"]


def test_file_removed_between_discovery_and_read(tmp_path: Path) -> None:
    exports, database = tmp_path / "exports", tmp_path / "ops.duckdb"
    write(exports, "a/carriers.csv", carriers_csv("A1"))
    gone = write(exports, "b/carriers.csv", carriers_csv("B1"))
    write(exports, "c/carriers.csv", carriers_csv("C1"))
    logs = ingest_in_child(exports, database, remove=[gone])  # removed after a/ is loaded
    assert not gone.exists()
    wh = Warehouse(database)
    try:
        assert_rejected(wh, "b/carriers.csv", "disappeared", sha256=UNREAD)
        assert "REJECTED b/carriers.csv: file disappeared before it could be read" in logs
        assert [c for _, c in carrier_ids(wh)] == ["A1", "C1"]
    finally:
        wh.close()


def test_unreadable_exports_folder_fails_the_run_clearly(tmp_path: Path) -> None:
    """No file at all can be seen: that is not an empty delivery, it is a failure."""
    import subprocess
    import sys

    from tests.ingest_helpers import _INGEST_CHILD, NOW, ROOT, permissions_apply

    exports = tmp_path / "exports"
    write(exports, "carriers.csv", carriers_csv("K1"))
    exports.chmod(0o000)
    try:
        done = subprocess.run(
            [*permissions_apply(), sys.executable, "-c", _INGEST_CHILD, str(exports),
             str(tmp_path / "ops.duckdb"), "run1", NOW.isoformat(), "[]"],
            capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    finally:
        exports.chmod(0o755)
    assert done.returncode != 0
    assert "ExportsFolderUnreadable" in done.stderr
    assert "exports folder cannot be read: Permission denied" in done.stderr


# --- 3. a contract column named twice ---------------------------------------------------


def _xlsx(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, values in enumerate(rows):
        sheet.write_row(r, 0, values)
    book.close()


def test_a_header_naming_a_contract_column_twice_is_rejected_in_every_format(
    wh: Warehouse, exports: Path
) -> None:
    write(exports, "a/carriers_case.csv", "carrier_id,mode,Carrier_ID\nK1,ftl,K2\n")
    write(exports, "b/carriers_same.csv", "carrier_id;carrier_id\nK3;K4\n")
    write(exports, "c/carriers_spaces.csv", "carrier_id, CARRIER_ID \nK5,K6\n")
    _xlsx(exports / "d/carriers.xlsx", [["mode", "carrier_id", "carrier_id"], ["ftl", "K7", "K8"]])
    write(exports, "e/carriers.jsonl",
          '{"carrier_id": "K9"}\n{"Carrier_ID": "K10", "mode": "ftl"}\n')
    write(exports, "f/carriers.json", '[{"mode": "ftl", "carrier_id": "K11", "carrier_id": "K12"}]')
    (exports / "g").mkdir()
    pq.write_table(pa.Table.from_arrays([pa.array(["K13"]), pa.array(["K14"])],
                                        names=["carrier_id", "Carrier_Id"]),
                   exports / "g/carriers_case.parquet")
    pq.write_table(pa.Table.from_arrays([pa.array(["K15"]), pa.array(["K16"])],
                                        names=["carrier_id", "carrier_id"]),
                   exports / "g/carriers_same.parquet")
    write(exports, "h/carriers.csv", carriers_csv("OK1"))

    wh.ingest(exports)

    expected = {
        "a/carriers_case.csv": "columns 1 ('carrier_id') and 3 ('Carrier_ID')",
        "b/carriers_same.csv": "columns 1 ('carrier_id') and 2 ('carrier_id')",
        "c/carriers_spaces.csv": "columns 1 ('carrier_id') and 2 (' CARRIER_ID ')",
        "d/carriers.xlsx": "columns 2 ('carrier_id') and 3 ('carrier_id')",
        "e/carriers.jsonl": "columns 1 ('carrier_id') and 2 ('Carrier_ID')",
        "g/carriers_case.parquet": "columns 1 ('carrier_id') and 2 ('Carrier_Id')",
        "g/carriers_same.parquet": "columns 1 ('carrier_id') and 2 ('carrier_id')",
    }
    for rel, columns in expected.items():
        assert_rejected(wh, rel, columns, "both name contract column 'carrier_id': ambiguous")
    assert_rejected(wh, "f/carriers.json", "object 1 has the key 'carrier_id' twice: ambiguous")
    assert carrier_ids(wh) == [("h/carriers.csv", "OK1")]
    assert wh.quarantine() == []


# --- 4. nested values -------------------------------------------------------------------


def test_parquet_struct_list_or_map_in_a_contract_column_is_rejected(
    wh: Warehouse, exports: Path
) -> None:
    (exports / "p").mkdir()
    columns = {
        "struct": pa.array([{"code": "S01"}]),
        "list": pa.array([["S01", "S02"]]),
        "map": pa.array([[("code", "S01")]], pa.map_(pa.string(), pa.string())),
    }
    for kind, values in columns.items():
        pq.write_table(pa.table({"carrier_id": [f"K_{kind}"], "carrier_name": values}),
                       exports / f"p/carriers_{kind}.parquet")
    # nested values in an extra column: ignored like any extra column, kept in raw JSON
    pq.write_table(pa.table({"carrier_id": ["K_extra", None], "meta": pa.array([{"a": 1}, {"a": 2}])}),
                   exports / "p/carriers_extra.parquet")
    write(exports, "q/carriers.json",
          json.dumps([{"carrier_id": "J1"}, {"carrier_id": "J2", "mode": {"name": "ftl"}}]))

    wh.ingest(exports)

    assert_rejected(wh, "p/carriers_struct.parquet",
                    "column 'carrier_name' (carrier_name) holds STRUCT(code VARCHAR) values, "
                    "not plain values")
    assert_rejected(wh, "p/carriers_list.parquet", "'carrier_name'", "VARCHAR[] values")
    assert_rejected(wh, "p/carriers_map.parquet", "'carrier_name'", "MAP(VARCHAR, VARCHAR) values")
    assert_rejected(wh, "q/carriers.json",
                    "column 'mode' (mode) holds an object or array (first in object 2)")
    extra = manifest_of(wh, "p/carriers_extra.parquet")
    assert (extra["status"], extra["rows_loaded"], extra["schema_drift"]) == ("loaded", 1, "meta")
    assert carrier_ids(wh) == [("p/carriers_extra.parquet", "K_extra")]
    [q] = wh.quarantine("carriers")
    assert json.loads(q["raw"]) == {"carrier_id": None, "meta": '{"a":2}'}


# --- 5 and 6. the right line ------------------------------------------------------------


JSONL_BROKEN_LINE_3 = [
    # (name, bytes): the broken object is on line 3 of the file in every variant
    ("plain", '{"carrier_id": "K1"}\n{"carrier_id": "K2"}\n{"carrier_id": "K3" oops}\n'
              '{"carrier_id": "K4"}\n'),
    ("blank_line_before", '{"carrier_id": "K1"}\n\n{carrier_id: "K3"}\n{"carrier_id": "K4"}\n'),
    ("crlf_and_bom", '\ufeff{"carrier_id": "K1"}\r\n{"carrier_id": "K2"}\r\n{"carrier_id": K3}\r\n'),
    ("unterminated_string", '{"carrier_id": "K1"}\n{"carrier_id": "K2"}\n{"carrier_id": "K3}\n'
                            '{"carrier_id": "K4"}\n'),
]


@pytest.mark.parametrize(("name", "text"), JSONL_BROKEN_LINE_3, ids=[c[0] for c in JSONL_BROKEN_LINE_3])
def test_a_broken_jsonl_line_is_named_by_its_line_number(wh, exports, name, text) -> None:
    write(exports, f"carriers_{name}.jsonl", text)
    write(exports, f"carriers_{name}.ndjson.gz", gzip.compress(text.encode(), mtime=0))
    # far into a big file, beyond DuckDB's first buffer
    big = "".join(f'{{"carrier_id": "B{i}"}}\n' for i in range(200_000))
    write(exports, "carriers_big.jsonl", big + '{"carrier_id": "X" "y"}\n')
    wh.ingest(exports)
    for rel in (f"carriers_{name}.jsonl", f"carriers_{name}.ndjson.gz"):
        reason = assert_rejected(wh, rel, "line 3 is not valid JSON")
        assert "line 4" not in reason
    assert_rejected(wh, "carriers_big.jsonl", "line 200001 is not valid JSON")


def test_a_csv_line_too_long_is_named_by_its_line_number(wh, exports) -> None:
    huge = "x" * 10_000_000
    write(exports, "a/carriers.csv", f"carrier_id,carrier_name\nK1,a\nK2,{huge}\nK3,c\n")
    write(exports, "b/carriers.csv.gz", gzip.compress(
        f'carrier_id,carrier_name\nK1,"two\nlines"\nK2,b\nK3,{huge}\n'.encode(), mtime=0))
    write(exports, "c/carriers.csv", carriers_csv("OK1"))
    wh.ingest(exports)
    assert_rejected(wh, "a/carriers.csv", "line 3 is 10,000,003 bytes long",
                    "at most 2,000,000")
    # physical lines: the quoted value spans lines 2-3, so the long one is line 5
    assert_rejected(wh, "b/carriers.csv.gz", "line 5", "10,000,003 bytes")
    assert carrier_ids(wh) == [("c/carriers.csv", "OK1")]


# --- 7. the bytes hashed are the bytes loaded -------------------------------------------


def test_a_file_growing_while_read_is_recorded_as_the_bytes_loaded(wh, exports) -> None:
    """A system still writing its export while the night runs: whatever is loaded, the
    manifest's hash and size describe exactly those bytes, and every row read is in
    raw or the quarantine."""
    path = exports / "tms" / "carriers_growing.csv"
    path.parent.mkdir(parents=True)
    lines = ["carrier_id,carrier_name,mode,on_time_target"]
    lines += [f"C{i},Carrier number {i},ftl,0.95" for i in range(400_000)]
    path.write_text("\n".join(lines) + "\n")
    for i in range(30):  # files processed before it: time for the writer to append
        write(exports, f"a/vendors_{i:02d}.csv", entity_csv("vendors", row("vendors", vendor_id=f"V{i}")))
    stop = threading.Event()

    def append() -> None:
        n = 400_000
        with path.open("a") as fh:
            while not stop.is_set():
                fh.write(f"C{n},Carrier number {n},ftl,0.95\n")
                fh.flush()
                n += 1
                time.sleep(0.0002)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        wh.ingest(exports)
    finally:
        stop.set()
        writer.join()

    m = manifest_of(wh, "tms/carriers_growing.csv")
    final = path.read_bytes()
    assert len(final) > m["size_bytes"], "the writer did not append during the run"
    loaded = final[: m["size_bytes"]]
    assert m["sha256"] == hashlib.sha256(loaded).hexdigest()
    data_lines = loaded.count(b"\n") - 1 + (0 if loaded.endswith(b"\n") else 1)
    assert m["rows_read"] == data_lines
    raw = wh.rows("SELECT count(*) FROM raw.carriers WHERE _file = 'tms/carriers_growing.csv'")
    quarantined = len(wh.quarantine("carriers"))
    assert (raw[0][0], quarantined) == (m["rows_loaded"], m["rows_quarantined"])
    assert raw[0][0] + quarantined == data_lines


def test_one_private_copy_at_a_time_removed_after_and_a_killed_runs_cleared(
    wh: Warehouse, exports: Path
) -> None:
    """The scratch folder beside the database holds the copy of the file being loaded
    only; it is gone after the run, and what a killed run left there is cleared first."""
    from flows.ingest.load import ingest_exports
    from tests.ingest_helpers import NOW

    scratch = wh.path.with_name(f".{wh.path.name}.ingest-scratch")
    scratch.mkdir()
    (scratch / "stale.parquet").write_text("left by a killed run")
    write(exports, "a/carriers.csv", carriers_csv("K1"))
    write(exports, "b/carriers.csv", carriers_csv("K2"))
    listings: list[list[str]] = []

    def log(line: str) -> None:  # called while each file's copy still exists
        listings.append(sorted(p.name for p in scratch.iterdir()))

    ingest_exports(wh.con, exports, "run1", NOW, log=log)

    assert listings == [["copy.csv"], ["copy.csv"]]
    assert not scratch.exists()
    assert [c for _, c in carrier_ids(wh)] == ["K1", "K2"]
