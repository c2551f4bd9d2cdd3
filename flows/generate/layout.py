"""Which file every row goes to: folder, name, format and style, per entity and slot.

Folders are the contract's source systems (``erp/``, ``wms/``, ``hr/``...). Large
entities get one file per month (``shipments_2026-01.txt.gz``), cycling through the
accepted formats so a run of a few months exercises all of them; the first month alone
already covers every extension and delimiter (a 20-day test run sees them all).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.contract import ENTITY_BY_NAME
from flows.generate import styles as S
from flows.generate.reference import Slot
from flows.generate.world import World


@dataclass(frozen=True)
class FileSpec:
    rel: str  # path relative to the exports folder, '/' separated
    fmt: str  # csv | json | jsonl | parquet | xlsx
    gz: bool
    style: S.FileStyle


#: (extension, style) for the one file of an entity's base slot.
BASE_FILES: dict[str, tuple[str, S.FileStyle]] = {
    "sites": ("xlsx", S.XLSX_TEXT),
    "carriers": ("csv", S.CSV_ODD),
    "vendors": ("json", S.JSON_A),
    "employees": ("txt", S.TAB),
    "pay_rates": ("xlsx", S.XLSX),
}

#: Monthly files, cycled by month index. Parquet columns listed as "local" only ever
#: hold daytime wall-clock times, which are never ambiguous around DST changes.
MONTHLY_FILES: dict[str, list[tuple[str, S.FileStyle]]] = {
    "order_lines": [
        ("parquet", S.PARQUET_DEC.but(parquet_local=("order_placed_at",))),
        ("csv", S.CSV_QUOTED), ("jsonl.gz", S.JSON_A), ("txt", S.PIPE),
        ("csv.gz", S.SEMI), ("json", S.JSON_B),
    ],
    "shipments": [
        ("txt.gz", S.PIPE.but(blank_defaults=0.5)),
        ("parquet", S.PARQUET_DBL.but(parquet_local=("delivered_at",))),
        ("csv", S.SEMI_BOM), ("ndjson.gz", S.JSON_C), ("jsonl", S.JSON_A), ("csv", S.CSV_CRLF),
    ],
    "purchase_order_lines": [
        ("xlsx", S.XLSX), ("csv", S.SEMI), ("json", S.JSON_B),
        ("parquet", S.PARQUET_DEC.but(parquet_local=("ordered_at",),
                                      parquet_text=("expected_date",))),
        ("csv", S.CSV_QUOTED),
    ],
    "goods_receipts": [
        ("jsonl", S.JSON_C), ("parquet", S.PARQUET_DEC.but(parquet_local=("received_at",))),
        ("csv", S.CSV_BOM), ("txt.gz", S.TAB),
    ],
    "invoice_lines": [
        ("csv", S.CSV_QUOTED.but(extra_column="approver")), ("json.gz", S.JSON_A),
        ("parquet", S.PARQUET_DBL.but(parquet_text=("paid_date", "updated_at"))),
        ("jsonl", S.JSON_B), ("csv", S.SEMI),
    ],
    "timesheets": [
        ("ndjson", S.JSON_C), ("parquet", S.PARQUET_DEC), ("csv.gz", S.CSV_QUOTED),
        ("txt", S.PIPE), ("jsonl.gz", S.JSON_A),
    ],
    "inventory_snapshots": [
        ("parquet", S.PARQUET_DEC), ("csv.gz", S.SEMI), ("txt", S.TAB), ("jsonl.gz", S.JSON_C),
        ("csv", S.CSV_CRLF), ("parquet", S.PARQUET_DBL),
    ],
    "cycle_counts": [
        ("xlsx", S.XLSX), ("csv", S.CSV_QUOTED), ("ndjson", S.JSON_C),
        ("parquet", S.PARQUET_DEC.but(parquet_local=("counted_at",))), ("txt.gz", S.PIPE),
    ],
    "returns": [
        ("json", S.JSON_A), ("csv", S.SEMI_BOM), ("parquet", S.PARQUET_DBL),
        ("jsonl.gz", S.JSON_B), ("txt", S.TAB), ("csv.gz", S.CSV_BOM),
    ],
    # wall-clock times without offset in most text files: tickets cross clock changes
    "service_tickets": [
        ("xlsx", S.XLSX), ("csv", S.CSV_QUOTED), ("jsonl", S.JSON_C), ("parquet", S.PARQUET_DEC),
        ("csv.gz", S.SEMI), ("json.gz", S.JSON_B),
    ],
    "safety_incidents": [
        ("xlsx", S.XLSX_TEXT), ("csv", S.CSV_BOM), ("json", S.JSON_C), ("parquet", S.PARQUET_DBL),
        ("txt", S.PIPE),
    ],
    "vendors": [("jsonl.gz", S.JSON_B)],
    "employees": [("ndjson.gz", S.JSON_C)],
    "pay_rates": [("json.gz", S.JSON_A)],
}

#: XLSX only ever for the first month of these (a workbook is written cell by cell).
XLSX_FIRST_MONTH_ONLY = {"purchase_order_lines", "cycle_counts", "service_tickets"}

YEARLY_FILES: dict[str, tuple[str, S.FileStyle]] = {
    "fx_rates": ("csv.gz", S.CSV_BOM.but(extra_column=None, quote_all=False)),
    "budgets": ("xlsx", S.XLSX),
}
REVISION_FILES: dict[str, tuple[str, S.FileStyle]] = {
    "budgets": ("csv", S.SEMI_BOM.but(month_as_date=1.0)),
}
#: Rows re-stated after a month's file (its name sorts after it: the greater path wins).
CORRECTION_FILES: dict[str, tuple[str, S.FileStyle]] = {
    "inventory_snapshots": ("csv", S.CSV_QUOTED),
}


def _spec(entity: str, stem: str, ext: str, style: S.FileStyle) -> FileSpec:
    folder = ENTITY_BY_NAME[entity].source
    gz = ext.endswith(".gz")
    base = ext[:-3] if gz else ext
    fmt = {"txt": "csv", "ndjson": "jsonl"}.get(base, base)
    return FileSpec(f"{folder}/{stem}.{ext}", fmt, gz, style)


def file_for(world: World, entity: str, slot: Slot) -> FileSpec:
    if slot.kind == "base":
        ext, style = BASE_FILES[entity]
        return _spec(entity, entity, ext, style)
    if slot.kind == "month":
        cycle = MONTHLY_FILES[entity]
        k = slot.value
        if entity in XLSX_FIRST_MONTH_ONLY:
            choice = cycle[0] if k == 0 else cycle[1 + (k - 1) % (len(cycle) - 1)]
        else:
            choice = cycle[k % len(cycle)]
        return _spec(entity, f"{entity}_{world.month_label(k)}", *choice)
    if slot.kind == "year":
        return _spec(entity, f"{entity}_{slot.value}", *YEARLY_FILES[entity])
    if slot.kind == "revision":
        return _spec(entity, f"{entity}_{slot.value}_rev", *REVISION_FILES[entity])
    if slot.kind == "correction":
        return _spec(entity, f"{entity}_{world.month_label(slot.value)}_corrections",
                     *CORRECTION_FILES[entity])
    raise ValueError(f"unknown slot {slot}")


def fault_file(world: World, entity: str) -> FileSpec:
    """A separate CSV for the fault rows of an entity whose first file is binary."""
    return _spec(entity, f"{entity}_{world.month_label(0)}_fix", "csv", S.CSV_QUOTED)
