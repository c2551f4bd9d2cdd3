"""Shared helpers of the ingestion tests: tiny export files written byte by byte, the
real ``ingest_exports`` into a real DuckDB file, and small readers of the results.

The contract facts used here (valid example rows, column order) are written out from
``../shared/spec/exports.md`` on purpose instead of being read from ``flows.contract``:
the tests check the implementation against the spec, not against itself.
"""

from __future__ import annotations

import atexit
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flows.db import connect
from flows.ingest.load import IngestSummary, ensure_schema, ingest_exports

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)

#: One valid row per entity, columns in the spec's order (text exactly as in a CSV).
BASE_ROWS: dict[str, dict[str, str]] = {
    "sites": {
        "site_id": "S1", "site_name": "Alpha DC", "region": "NA", "country": "US",
        "timezone": "America/Chicago",
    },
    "carriers": {
        "carrier_id": "C1", "carrier_name": "Swift", "mode": "parcel", "on_time_target": "0.95",
    },
    "vendors": {
        "vendor_id": "V1", "vendor_name": "Acme", "category": "packaging", "country": "US",
        "payment_terms_days": "30", "updated_at": "2026-01-01T00:00:00Z",
    },
    "employees": {
        "employee_id": "E1", "home_site_id": "S1", "role": "picker",
        "employment_type": "full_time", "hire_date": "2025-01-15",
        "updated_at": "2026-01-01T00:00:00Z",
    },
    "pay_rates": {
        "employee_id": "E1", "effective_from": "2026-01-01", "hourly_rate": "20.5",
        "currency": "USD",
    },
    "fx_rates": {"rate_date": "2026-01-01", "currency": "EUR", "usd_per_unit": "1.1"},
    "budgets": {
        "site_id": "S1", "category": "packaging", "month": "2026-01", "budget_amount": "1000",
        "currency": "USD",
    },
    "order_lines": {
        "order_id": "O1", "line_number": "1", "site_id": "S1", "customer_id": "CU1",
        "sku": "SKU1", "ordered_qty": "5", "order_placed_at": "2026-01-02T10:00:00Z",
        "requested_delivery_date": "2026-01-05", "priority": "high", "status": "open",
        "updated_at": "2026-01-02T10:00:00Z",
    },
    "shipments": {
        "shipment_id": "SH1", "order_id": "O1", "line_number": "1", "site_id": "S1",
        "carrier_id": "C1", "shipped_qty": "5", "shipped_at": "2026-01-03T10:00:00Z",
        "delivered_at": "2026-01-04T10:00:00Z", "damaged_qty": "0", "freight_cost": "12.5",
        "currency": "USD", "status": "delivered", "updated_at": "2026-01-04T10:00:00Z",
    },
    "purchase_order_lines": {
        "po_id": "PO1", "po_line": "1", "vendor_id": "V1", "site_id": "S1",
        "category": "packaging", "ordered_qty": "10", "unit_price": "2.5", "currency": "USD",
        "ordered_at": "2026-01-02", "expected_date": "2026-01-10", "status": "open",
        "updated_at": "2026-01-02T00:00:00Z",
    },
    "goods_receipts": {
        "receipt_id": "GR1", "po_id": "PO1", "po_line": "1", "site_id": "S1",
        "received_qty": "10", "rejected_qty": "0", "received_at": "2026-01-10T09:00:00Z",
        "updated_at": "2026-01-10T09:00:00Z",
    },
    "invoice_lines": {
        "invoice_id": "I1", "invoice_line": "1", "vendor_id": "V1", "site_id": "S1",
        "po_id": "PO1", "po_line": "1", "category": "packaging", "quantity": "10",
        "unit_price": "2.5", "amount": "25", "currency": "USD", "invoice_date": "2026-01-11",
        "due_date": "2026-02-10", "paid_date": "", "updated_at": "2026-01-11T00:00:00Z",
    },
    "timesheets": {
        "entry_id": "T1", "employee_id": "E1", "site_id": "S1",
        "clock_in": "2026-01-05T08:00:00Z", "clock_out": "2026-01-05T16:00:00Z",
        "break_minutes": "30", "activity": "picking", "updated_at": "2026-01-05T16:00:00Z",
    },
    "inventory_snapshots": {
        "site_id": "S1", "sku": "SKU1", "snapshot_date": "2026-01-05", "on_hand_qty": "10",
        "unit_cost": "2.5", "currency": "USD",
    },
    "cycle_counts": {
        "count_id": "CC1", "site_id": "S1", "sku": "SKU1", "counted_at": "2026-01-05T10:00:00Z",
        "system_qty": "10", "counted_qty": "9", "unit_cost": "2.5", "currency": "USD",
        "updated_at": "2026-01-05T11:00:00Z",
    },
    "returns": {
        "return_id": "R1", "order_id": "O1", "line_number": "1", "site_id": "S1",
        "returned_qty": "2", "reason": "damaged", "requested_at": "2026-01-06T10:00:00Z",
        "received_at": "2026-01-08T10:00:00Z", "refunded_at": "2026-01-09T10:00:00Z",
        "refund_amount": "25", "currency": "USD", "status": "refunded",
        "updated_at": "2026-01-09T10:00:00Z",
    },
    "service_tickets": {
        "ticket_id": "TK1", "site_id": "S1", "customer_id": "CU1", "category": "delivery",
        "priority": "high", "opened_at": "2026-01-05T10:00:00Z",
        "first_response_at": "2026-01-05T11:00:00Z", "resolved_at": "2026-01-05T15:00:00Z",
        "status": "resolved", "updated_at": "2026-01-05T15:00:00Z",
    },
    "safety_incidents": {
        "incident_id": "IN1", "site_id": "S1", "occurred_at": "2026-01-05T10:00:00Z",
        "severity": "first_aid", "days_lost": "0", "employee_id": "E1",
        "updated_at": "2026-01-05T12:00:00Z",
    },
}

#: Business keys of exports.md (bold columns).
KEYS: dict[str, tuple[str, ...]] = {
    "sites": ("site_id",),
    "carriers": ("carrier_id",),
    "vendors": ("vendor_id",),
    "employees": ("employee_id",),
    "pay_rates": ("employee_id", "effective_from"),
    "fx_rates": ("rate_date", "currency"),
    "budgets": ("site_id", "category", "month"),
    "order_lines": ("order_id", "line_number"),
    "shipments": ("shipment_id",),
    "purchase_order_lines": ("po_id", "po_line"),
    "goods_receipts": ("receipt_id",),
    "invoice_lines": ("invoice_id", "invoice_line"),
    "timesheets": ("entry_id",),
    "inventory_snapshots": ("site_id", "sku", "snapshot_date"),
    "cycle_counts": ("count_id",),
    "returns": ("return_id",),
    "service_tickets": ("ticket_id",),
    "safety_incidents": ("incident_id",),
}

#: Required (``*``) columns of exports.md that are not keys.
REQUIRED: dict[str, tuple[str, ...]] = {
    "sites": ("timezone",),
    "carriers": (),
    "vendors": (),
    "employees": (),
    "pay_rates": ("hourly_rate", "currency"),
    "fx_rates": ("usd_per_unit",),
    "budgets": ("budget_amount", "currency"),
    "order_lines": ("site_id", "ordered_qty", "order_placed_at", "requested_delivery_date",
                    "status", "updated_at"),
    "shipments": ("order_id", "line_number", "site_id", "shipped_qty", "shipped_at", "status",
                  "updated_at"),
    "purchase_order_lines": ("vendor_id", "site_id", "category", "ordered_qty", "unit_price",
                             "currency", "ordered_at", "expected_date", "status", "updated_at"),
    "goods_receipts": ("po_id", "po_line", "site_id", "received_qty", "received_at",
                       "updated_at"),
    "invoice_lines": ("vendor_id", "site_id", "quantity", "unit_price", "amount", "currency",
                      "invoice_date", "due_date", "updated_at"),
    "timesheets": ("employee_id", "site_id", "clock_in", "clock_out", "updated_at"),
    "inventory_snapshots": ("on_hand_qty", "unit_cost", "currency"),
    "cycle_counts": ("site_id", "sku", "counted_at", "system_qty", "counted_qty", "unit_cost",
                     "currency"),
    "returns": ("order_id", "line_number", "site_id", "returned_qty", "reason", "requested_at",
                "status", "updated_at"),
    "service_tickets": ("site_id", "priority", "opened_at", "status", "updated_at"),
    "safety_incidents": ("site_id", "occurred_at", "severity", "updated_at"),
}


def row(entity: str, **overrides: str | None) -> dict[str, str | None]:
    """The entity's valid base row with some values replaced (None = empty cell)."""
    base: dict[str, str | None] = dict(BASE_ROWS[entity])
    unknown = set(overrides) - set(base)
    assert not unknown, f"not columns of {entity}: {unknown}"
    base.update(overrides)
    return base


def _cell(value: str | None, delimiter: str) -> str:
    if value is None:
        return ""
    if delimiter in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_text(rows: list[dict[str, str | None]], delimiter: str = ",",
             header: list[str] | None = None) -> str:
    """CSV written by hand; a value holding the delimiter or a quote is quoted."""
    columns = header or list(rows[0])
    lines = [delimiter.join(columns)]
    for r in rows:
        values = list(r.values()) if header else [r[c] for c in columns]
        lines.append(delimiter.join(_cell(v, delimiter) for v in values))
    return "\n".join(lines) + "\n"


def entity_csv(entity: str, *rows: dict[str, str | None]) -> str:
    return csv_text(list(rows) or [row(entity)])


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def write_gz(root: Path, rel: str, content: str) -> Path:
    return write(root, rel, gzip.compress(content.encode("utf-8"), mtime=0))


def json_text(objects: list[dict[str, Any]]) -> str:
    return json.dumps(objects, indent=1)


def jsonl_text(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


_TEMPLATE: list[Path] = []


def _empty_warehouse_file() -> Path:
    """A DuckDB file with the raw and audit tables already created, made once per
    process: copying it is much cheaper than a dozen committed CREATE TABLEs per test
    (ingest_exports still runs its own idempotent ensure_schema on it)."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="opskpi-ingest-template-"))
        atexit.register(shutil.rmtree, folder, True)
        con = connect(folder / "empty.duckdb")
        ensure_schema(con)
        con.close()
        _TEMPLATE.append(folder / "empty.duckdb")
    return _TEMPLATE[0]


@dataclass
class Warehouse:
    """A real DuckDB file and the runs of ``ingest_exports`` into it."""

    path: Path
    logs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.path.exists():
            shutil.copyfile(_empty_warehouse_file(), self.path)
        self.con = connect(self.path)

    def ingest(self, exports: Path, run_id: str = "run1", mappings=None,
               reload_mapping: str | None = None) -> IngestSummary:
        """``mappings``: a folder of source mappings (loaded and checked first)."""
        self.logs.clear()
        extra: dict[str, Any] = {}
        if mappings is not None:
            from flows.ingest.mappings import load_mappings

            loaded, problems = load_mappings(Path(mappings))
            assert not problems, [str(p) for p in problems]
            extra = {"mappings": loaded, "reload_mapping": reload_mapping}
        return ingest_exports(self.con, exports, run_id, NOW, log=self.logs.append, **extra)

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def raw(self, entity: str, columns: str = "*") -> list[dict[str, Any]]:
        return self.dicts(f"SELECT {columns} FROM raw.{entity} ORDER BY _file, _row")

    def quarantine(self, entity: str | None = None) -> list[dict[str, Any]]:
        where = "WHERE entity = ?" if entity else ""
        return self.dicts(
            f"SELECT entity, file, row_number, reason_list, raw FROM audit.quarantine {where} "
            "ORDER BY entity, file, row_number",
            [entity] if entity else [],
        )

    def manifest(self) -> dict[str, dict[str, Any]]:
        return {
            r["path"]: r
            for r in self.dicts("SELECT * FROM audit.load_manifest ORDER BY path, sha256")
        }

    def snapshot(self) -> dict[str, list[tuple]]:
        """Full contents of every raw table, the quarantine and the manifest."""
        tables = [
            f"{s}.{t}"
            for s, t in self.rows(
                "SELECT schema_name, table_name FROM duckdb_tables() "
                "WHERE schema_name IN ('raw', 'audit') ORDER BY 1, 2"
            )
        ]
        return {t: sorted(self.rows(f"SELECT * FROM {t}"), key=repr) for t in tables}


def utc(text: str) -> datetime:
    """An instant written as ISO text with an offset, as an aware datetime in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def assert_reasons(reasons: list[str], expected: list[tuple[str, str | None]]) -> None:
    """Every expected (column, value) is named by exactly one reason, and nothing else.

    A reason names its column first (``column: ...``); a value, when given, appears
    quoted in it (``'value'``). Cross-column rules name all their columns first.
    """
    assert len(reasons) == len(expected), reasons
    unmatched = list(reasons)
    for column, value in expected:
        match = next(
            (
                r for r in unmatched
                if column in [c.strip() for c in r.split(":", 1)[0].split(",")]
                and (value is None or f"'{value}'" in r)
            ),
            None,
        )
        assert match is not None, f"no reason names {column}={value!r}: {reasons}"
        unmatched.remove(match)


# --- the ingestion in a child process -------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent

_INGEST_CHILD = r"""
import json, os, sys
from datetime import datetime
from flows.db import connect
from flows.ingest.load import ingest_exports
exports, database, run_id, now, remove = sys.argv[1:6]
remove = json.loads(remove)
logs = []
def log(line):
    logs.append(line)
    while remove:  # 'removed between discovery and read': gone after the first file
        os.remove(remove.pop())
con = connect(database)
ingest_exports(con, exports, run_id, datetime.fromisoformat(now), log=log)
con.close()
print(json.dumps(logs))
"""


def permissions_apply() -> list[str]:
    """Command prefix under which a child process is refused what it has no permission
    for. Root bypasses file permissions (capabilities CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH): as root, the child runs with those two dropped (setpriv), still
    as root, so it owns and can write everything it created."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): root reads files whatever "
                    "their permissions, so an unreadable file cannot be made")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def ingest_in_child(exports: Path, database: Path, run_id: str = "run1",
                    remove: list[Path] | None = None, timeout: float = 300) -> list[str]:
    """The real ``ingest_exports`` in a child process that cannot bypass file
    permissions (and cannot hang the tests: a FIFO read would block it, not pytest).
    Returns its log lines; the database is closed when it returns."""
    done = subprocess.run(
        [*permissions_apply(), sys.executable, "-c", _INGEST_CHILD, str(exports), str(database),
         run_id, NOW.isoformat(), json.dumps([str(p) for p in remove or []])],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, f"ingestion failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])
