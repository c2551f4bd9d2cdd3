"""A changed mapping and the files it already loaded (mappings.md: identity is the bytes).

A changed entry does not reload files silently; ``reload_mapping`` (``opskpi refresh
--reload-mapping NAME``) loads them again through the current entries and replaces the
records they produced: their raw versions and their quarantined rows. The refresh then
rebuilds every model from raw (the incremental models only revisit keys with new
versions, and a reload can take records away). And a broken mapping stops a refresh
before anything loads, with one line naming the file, the entry and the problem.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import duckdb
import pytest

from tests.ingest_helpers import Warehouse, write

WRONG = """
source: sap_wms
files:
  - match: "sap/LIEFERUNG_*.csv"
    entity: shipments
    read: { delimiter: ";", decimal: ",", timestamp: "%d.%m.%Y %H:%M" }
    columns:
      shipment_id: SNR
      order_id: AUFTRAG
      line_number: POS
      site_id: WERK
      shipped_qty: MENGE
      shipped_at: VERSAND
      delivered_at: ZUGESTELLT
      freight_cost: FRACHT
      status:
        from: STATUS
        map: {status_map}
      updated_at: VERSAND
"""
#: 10 in transit, 20 delivered, 90 cancelled, 99 deleted in SAP (no contract status).
#: The first version takes cancellations for shipments in transit and keeps deleted lines.
WRONG_MAP = '{ "10": in_transit, "20": delivered, "90": in_transit, "99": in_transit }'
RIGHT_MAP = '{ "10": in_transit, "20": delivered, "90": cancelled }'

SHIPMENTS = """
SNR;AUFTRAG;POS;WERK;MENGE;VERSAND;ZUGESTELLT;FRACHT;STATUS
SH1;O1;1;S1;6;02.03.2026 08:00;03.03.2026 10:00;12,00;20
SH2;O1;1;S1;4;02.03.2026 09:00;04.03.2026 10:00;10,00;20
SH3;O2;1;S1;4;03.03.2026 10:00;;5,00;10
SH4;O2;1;S1;2;03.03.2026 11:00;;3,00;90
SH5;O3;1;S1;6;04.03.2026 07:00;;6,00;99
"""


def write_mapping(folder: Path, status_map: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sap.yml").write_text(dedent(WRONG).replace("{status_map}", status_map),
                                    encoding="utf-8")
    return folder


def shipments(wh: Warehouse) -> list[tuple]:
    return wh.rows("SELECT shipment_id, status, _run_id FROM raw.shipments ORDER BY shipment_id")


# --- ingestion ---------------------------------------------------------------------------------


def test_a_changed_mapping_reloads_nothing_until_asked(tmp_path, exports, wh) -> None:
    write(exports, "sap/LIEFERUNG_2026-03.csv", dedent(SHIPMENTS).lstrip())
    maps = tmp_path / "maps"
    wh.ingest(exports, "run1", mappings=write_mapping(maps, WRONG_MAP))
    loaded = shipments(wh)
    assert [(s, st) for s, st, _ in loaded] == [
        ("SH1", "delivered"), ("SH2", "delivered"), ("SH3", "in_transit"), ("SH4", "in_transit"),
        ("SH5", "in_transit")]
    old_hash = wh.manifest()["sap/LIEFERUNG_2026-03.csv"]["mapping_hash"]

    write_mapping(maps, RIGHT_MAP)
    summary = wh.ingest(exports, "run2", mappings=maps)
    assert shipments(wh) == loaded  # the same bytes: not loaded again
    assert summary.stale == {"sap_wms": 1} and summary.reloaded == []
    assert wh.logs[-1] == (
        "mapping sap_wms changed: 1 file(s) loaded through an earlier version of its entries "
        "were not reloaded (identity is the bytes); 'opskpi refresh --reload-mapping sap_wms' "
        "reloads them")
    assert wh.manifest()["sap/LIEFERUNG_2026-03.csv"]["mapping_hash"] == old_hash


def test_reload_replaces_the_records_of_the_files_it_loaded(tmp_path, exports, wh) -> None:
    write(exports, "sap/LIEFERUNG_2026-03.csv", dedent(SHIPMENTS).lstrip())
    write(exports, "wms/shipments_2026-03.csv",  # a contract file: not touched by the reload
          "shipment_id,order_id,line_number,site_id,shipped_qty,shipped_at,status,updated_at\n"
          "SH9,O9,1,S1,1,2026-03-01 08:00,in_transit,2026-03-01 08:00\n")
    maps = tmp_path / "maps"
    wh.ingest(exports, "run1", mappings=write_mapping(maps, RIGHT_MAP))
    # with the right map: SH4 cancelled, SH5 ('99') quarantined
    assert [q["row_number"] for q in wh.quarantine()] == [5]

    write_mapping(maps, WRONG_MAP)  # e.g. someone "fixes" the deleted lines the wrong way
    summary = wh.ingest(exports, "run2", mappings=maps, reload_mapping="sap_wms")
    assert summary.reloaded == ["sap/LIEFERUNG_2026-03.csv"]
    assert shipments(wh) == [
        ("SH1", "delivered", "run2"), ("SH2", "delivered", "run2"), ("SH3", "in_transit", "run2"),
        ("SH4", "in_transit", "run2"), ("SH5", "in_transit", "run2"), ("SH9", "in_transit", "run1")]
    assert wh.quarantine() == []  # SH5's quarantined row of run1 went with its load
    m = wh.manifest()["sap/LIEFERUNG_2026-03.csv"]
    from flows.ingest.mappings import load_mappings

    assert (m["status"], m["run_id"], m["rows_loaded"], m["rows_quarantined"], m["mapping_hash"]) == (
        "loaded", "run2", 5, 0, load_mappings(maps)[0].entries[0].digest)
    assert wh.logs[0] == ("reloaded sap/LIEFERUNG_2026-03.csv as shipments (mapping sap_wms "
                          "entry 1 (match 'sap/LIEFERUNG_*.csv', shipments)): 5 rows, 5 loaded, "
                          "0 quarantined")

    write_mapping(maps, RIGHT_MAP)
    wh.ingest(exports, "run3", mappings=maps, reload_mapping="sap_wms")
    assert [(s, st) for s, st, _ in shipments(wh)] == [
        ("SH1", "delivered"), ("SH2", "delivered"), ("SH3", "in_transit"), ("SH4", "cancelled"),
        ("SH9", "in_transit")]
    [q] = wh.quarantine()
    assert (q["row_number"], q["reason_list"], json.loads(q["raw"])["STATUS"]) == (
        5, ["status (from STATUS via map): '99' is not one of in_transit|delivered|cancelled"], "99")


def test_a_reload_the_new_mapping_cannot_read_keeps_the_records(tmp_path, exports, wh) -> None:
    write(exports, "sap/LIEFERUNG_2026-03.csv", dedent(SHIPMENTS).lstrip())
    maps = write_mapping(tmp_path / "maps", RIGHT_MAP)
    wh.ingest(exports, "run1", mappings=maps)
    before = wh.snapshot()
    (maps / "sap.yml").write_text((maps / "sap.yml").read_text().replace("SNR", "SENDUNG"))
    summary = wh.ingest(exports, "run2", mappings=maps, reload_mapping="sap_wms")
    assert summary.reloaded == []
    assert wh.snapshot() == before
    assert wh.logs == [
        "REJECTED sap/LIEFERUNG_2026-03.csv (mapping sap_wms entry 1 (match "
        "'sap/LIEFERUNG_*.csv', shipments)): shipment_id (from SENDUNG): source column "
        "'SENDUNG' is not in the file (file has: SNR, AUFTRAG, POS, WERK, MENGE, VERSAND, "
        "ZUGESTELLT, FRACHT, STATUS)",
        "  sap/LIEFERUNG_2026-03.csv: its records loaded earlier (run run1) are kept"]


# --- the refresh: a corrected status map changes the KPIs ------------------------------------

SITE_AND_ORDERS = {
    "ref/sites.csv": "site_id,site_name,region,country,timezone\nS1,DC,EU,GB,UTC\n",
    "erp/order_lines_2026-03.csv": (
        "order_id,line_number,site_id,customer_id,sku,ordered_qty,order_placed_at,"
        "requested_delivery_date,priority,status,updated_at\n"
        "O1,1,S1,K1,A,10,2026-03-01 09:00,2026-03-03,high,delivered,2026-03-04 12:00\n"
        "O2,1,S1,K1,B,6,2026-03-01 09:00,2026-03-05,normal,open,2026-03-01 09:00\n"
        "O3,1,S1,K2,C,6,2026-03-01 09:00,2026-03-05,normal,open,2026-03-01 09:00\n"),
}
AS_OF = date(2026, 3, 4)


def _daily(warehouse: Path, kpi: str) -> dict[str, tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT CAST(date AS VARCHAR), numerator, denominator FROM kpi.kpi_daily "
                       "WHERE kpi = ? AND site_id = 'S1' ORDER BY 1", [kpi]).fetchall()
    con.close()
    return {d: (Decimal(str(n)), Decimal(str(den))) for d, n, den in rows}


def _deliveries(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("SELECT shipment_id, status FROM core.fct_deliveries ORDER BY 1").fetchall()
    con.close()
    return rows


@pytest.mark.slow
def test_a_corrected_status_map_reloaded_changes_the_kpis(cli_env, tmp_path) -> None:
    from flows.refresh import EXIT_PUBLISHED, run_refresh

    exports = tmp_path / "exports"
    for rel, text in SITE_AND_ORDERS.items():
        write(exports, rel, text)
    write(exports, "sap/LIEFERUNG_2026-03.csv", dedent(SHIPMENTS).lstrip())
    maps = write_mapping(tmp_path / "maps", WRONG_MAP)
    warehouse = tmp_path / "wh" / "ops.duckdb"

    code, message, record = run_refresh(exports, warehouse, AS_OF, mappings_dir=maps)
    assert code == EXIT_PUBLISHED, message
    # freight per unit of non-cancelled shipments by shipped date, with the wrong map:
    # 03-02 SH1 + SH2 = 22 / 10 units; 03-03 SH3 + SH4 = 8 / 6; 03-04 SH5 = 6 / 6
    wrong = {"2026-03-02": (Decimal(22), Decimal(10)), "2026-03-03": (Decimal(8), Decimal(6)),
             "2026-03-04": (Decimal(6), Decimal(6))}
    assert _daily(warehouse, "freight_cost_per_unit") == wrong
    assert [s for s, _ in _deliveries(warehouse)] == ["SH1", "SH2", "SH3", "SH4", "SH5"]

    write_mapping(maps, RIGHT_MAP)
    code, message, record = run_refresh(exports, warehouse, AS_OF, mappings_dir=maps)
    assert code == EXIT_PUBLISHED, message
    assert record["files"]["files_reloaded"] == 0  # a changed mapping alone reloads nothing
    assert _daily(warehouse, "freight_cost_per_unit") == wrong

    # the reload through the command line, as an operator runs it
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "refresh", "--exports", str(exports), "--warehouse",
         str(warehouse), "--as-of", AS_OF.isoformat(), "--mappings", str(maps),
         "--reload-mapping", "sap_wms"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, env=cli_env,
        timeout=600, check=False)
    assert done.returncode == EXIT_PUBLISHED, done.stderr[-3000:]
    progress = done.stderr.splitlines()
    assert ("reloaded sap/LIEFERUNG_2026-03.csv as shipments (mapping sap_wms entry 1 (match "
            "'sap/LIEFERUNG_*.csv', shipments)): 5 rows, 4 loaded, 1 quarantined") in progress
    assert ("build: a full dbt build, because 1 file(s) were reloaded through a changed mapping "
            "(the records they fed are rebuilt)") in progress
    # SH4 is cancelled now (03-03: SH3 alone, 5 / 4) and SH5 ('99', deleted) is quarantined:
    # it leaves the facts, which only a rebuild from raw does (no new version of SH5)
    assert _daily(warehouse, "freight_cost_per_unit") == {
        "2026-03-02": (Decimal(22), Decimal(10)), "2026-03-03": (Decimal(5), Decimal(4))}
    assert _deliveries(warehouse) == [("SH1", "delivered"), ("SH2", "delivered"),
                                      ("SH3", "in_transit"), ("SH4", "cancelled")]
    # on time: SH1 delivered 03-03 for due 03-03; SH2 delivered 03-04, late; unchanged
    assert _daily(warehouse, "on_time_delivery_rate") == {
        "2026-03-03": (Decimal(1), Decimal(1)), "2026-03-04": (Decimal(0), Decimal(1))}
    con = duckdb.connect(str(warehouse), read_only=True)
    [(raw, reasons)] = con.execute("SELECT raw, reasons FROM audit.quarantine").fetchall()
    con.close()
    assert json.loads(raw)["SNR"] == "SH5" and json.loads(raw)["STATUS"] == "99"
    assert reasons == "status (from STATUS via map): '99' is not one of in_transit|delivered|cancelled"


@pytest.mark.slow
def test_a_mapping_no_file_fits_stops_the_refresh_before_anything_loads(prefect_api_url, tmp_path):
    from flows.refresh import EXIT_USAGE, run_refresh

    exports = tmp_path / "exports"
    for rel, text in SITE_AND_ORDERS.items():
        write(exports, rel, text)
    write(exports, "sap/LIEFERUNG_2026-03.csv", dedent(SHIPMENTS).lstrip())
    maps = write_mapping(tmp_path / "maps", RIGHT_MAP)
    (maps / "sap.yml").write_text((maps / "sap.yml").read_text().replace("MENGE", "MENG"))
    warehouse = tmp_path / "wh" / "ops.duckdb"
    code, message, _ = run_refresh(exports, warehouse, AS_OF, mappings_dir=maps)
    assert code == EXIT_USAGE
    assert message.startswith(
        f"Error: mapping error: {maps}/sap.yml: entry 1 (match 'sap/LIEFERUNG_*.csv', shipments): "
        "column 'shipped_qty': source column 'MENG' is in none of the 1 matched file "
        "(sap/LIEFERUNG_2026-03.csv has: auftrag, fracht, menge, pos, snr, status, versand, werk, "
        "zugestellt). Nothing loaded, no warehouse published yet at")
    assert not warehouse.exists()


def test_the_cli_refuses_a_broken_mapping_in_one_line(tmp_path) -> None:
    exports = tmp_path / "exports"
    write(exports, "sap/LIEFERUNG_2026-03.csv", dedent(SHIPMENTS).lstrip())
    maps = write_mapping(tmp_path / "maps", RIGHT_MAP)
    (maps / "sap.yml").write_text((maps / "sap.yml").read_text().replace("entity: shipments",
                                                                         "entity: shipment"))
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "refresh", "--exports", str(exports), "--warehouse",
         str(tmp_path / "wh" / "ops.duckdb"), "--mappings", str(maps)],
        capture_output=True, text=True, cwd=root, timeout=120, check=False)
    assert done.returncode == 64
    assert done.stderr.strip().splitlines() == [
        f"Error: mapping error: {maps}/sap.yml: entry 1 (match 'sap/LIEFERUNG_*.csv', shipment): "
        "entity: 'shipment' is not an entity of the contract (did you mean 'shipments'?) "
        "(entities: sites, carriers, vendors, employees, pay_rates, fx_rates, budgets, "
        "order_lines, shipments, purchase_order_lines, goods_receipts, invoice_lines, timesheets, "
        "inventory_snapshots, cycle_counts, returns, service_tickets, safety_incidents). "
        "Nothing loaded"]
    assert not (tmp_path / "wh").exists()
    # and a reload of a mapping that does not exist
    (maps / "sap.yml").write_text((maps / "sap.yml").read_text().replace("entity: shipment",
                                                                         "entity: shipments"))
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "refresh", "--exports", str(exports), "--warehouse",
         str(tmp_path / "wh" / "ops.duckdb"), "--mappings", str(maps), "--reload-mapping", "sap"],
        capture_output=True, text=True, cwd=root, timeout=120, check=False)
    assert done.returncode == 64
    assert done.stderr.strip().splitlines() == [
        f"Error: --reload-mapping: no mapping named 'sap' in {maps} (mappings: sap_wms)"]
