"""Known, countable faults for ``faults=True``, derived from the contract.

Row faults: for every entity, one row per constraint of the contract, each a valid row
(the entity's first generated row, re-keyed with a ``Q…`` prefix so it collides with
nothing) with exactly one thing broken: a required or key column empty, a value that
cannot be converted, a value outside its allowed set, a malformed currency, an unknown
time zone, every bound, every required-when, and every cross-column "Rules:" line. The
list is computed from ``flows.contract``, so a new column or rule gets its fault
automatically (a new cross-column rule needs a recipe here, or generation fails loudly).

Also: a valid row exactly on the amount tolerance (must load), a newer but invalid
version of a valid shipment (the older version must survive), and file-level faults:
a file missing a required column, unreadable files, an unsupported extension, an
unrecognised file and a byte-identical copy of an export.
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from flows.contract import Entity
from flows.generate.report import RejectedFile
from flows.generate.seeds import Stream, rng_for
from flows.generate.world import World

Row = dict[str, str | None]

#: A value of each type that the contract's conversions must refuse.
BAD_VALUES = {
    "num": "12,5",
    "int": "1.5",
    "date": "2026-02-30",
    "month": "2026-13",
    "ts": "2026-01-05 25:00",
    "date_or_ts": "05/01/2026",
    "bool": "maybe",
}


@dataclass(frozen=True)
class FaultRow:
    values: Row
    rule: str
    column: str


def _iso(d: date, hh: int = 8, mm: int = 0) -> str:
    return f"{d.isoformat()}T{hh:02d}:{mm:02d}:00Z"


def _rule_recipes(world: World) -> dict[str, Callable[[Row], Row]]:
    """One way to break each cross-column rule of the contract (everything else valid)."""
    d = world.start + timedelta(days=1)
    return {
        "damaged_le_shipped": lambda r: {"shipped_qty": "5", "damaged_qty": "6"},
        "delivered_after_shipped": lambda r: {
            "status": "delivered", "shipped_at": _iso(d + timedelta(days=1)),
            "delivered_at": _iso(d)},
        "delivered_status_matches_date": lambda r: {
            "status": "in_transit", "shipped_at": _iso(d), "delivered_at": _iso(d, 18)},
        "rejected_le_received": lambda r: {"received_qty": "3", "rejected_qty": "4"},
        "amount_matches": lambda r: {"quantity": "10", "unit_price": "12.34",
                                     "amount": "123.60"},
        "paid_after_invoice": lambda r: {
            "invoice_date": d.isoformat(), "due_date": (d + timedelta(days=30)).isoformat(),
            "paid_date": (d - timedelta(days=1)).isoformat()},
        "clock_out_after_clock_in": lambda r: {
            "clock_in": _iso(d, 9), "clock_out": _iso(d, 8), "break_minutes": "0"},
        "shift_at_most_24h": lambda r: {
            "clock_in": _iso(d, 8), "clock_out": _iso(d + timedelta(days=1), 9),
            "break_minutes": "30"},
        "break_shorter_than_shift": lambda r: {
            "clock_in": _iso(d, 8), "clock_out": _iso(d, 9), "break_minutes": "60"},
        "received_after_requested": lambda r: {
            "requested_at": _iso(d, 10), "received_at": _iso(d, 9), "refunded_at": None},
        "refunded_after_requested": lambda r: {
            "requested_at": _iso(d, 10), "received_at": None, "refunded_at": _iso(d, 9)},
        "first_response_after_opened": lambda r: {
            "opened_at": _iso(d, 9), "first_response_at": _iso(d, 8), "resolved_at": None,
            "status": "open"},
        "resolved_after_opened": lambda r: {
            "opened_at": _iso(d, 9), "first_response_at": None, "resolved_at": _iso(d, 8),
            "status": "resolved"},
        "resolved_status_needs_date": lambda r: {"status": "closed", "resolved_at": None},
        "days_lost_only_when_lost_time": lambda r: {"severity": "first_aid", "days_lost": "2"},
    }


#: Values set on the base row of an entity's faults so that breaking one constraint
#: never breaks a cross-column rule too: an open ticket (a resolved one would break
#: "resolved needs resolved_at" once resolved_at is unreadable), and a lost-time incident
#: with no days lost (any severity and any days_lost alone keep the rule).
FAULT_BASE: dict[str, Row] = {
    "service_tickets": {"status": "open", "first_response_at": None, "resolved_at": None},
    "safety_incidents": {"severity": "lost_time", "days_lost": "0"},
}


def _below(minimum: str, exclusive: bool) -> str:
    return minimum if exclusive else str(Decimal(minimum) - 1)


def _column_faults(entity: Entity) -> list[tuple[str, str, Row]]:
    """(rule, column, overrides) for every per-column constraint of the entity."""
    out: list[tuple[str, str, Row]] = []
    for col in entity.columns:
        name = col.name
        if col.is_required and col.default is None:
            out.append(("key" if col.key else "required", name, {name: None}))
        if col.type != "text":
            out.append(("type", name, {name: BAD_VALUES[col.type]}))
        if col.allowed:
            out.append(("allowed", name, {name: "unknown_value"}))
        if col.currency:
            out.append(("currency", name, {name: "EURO"}))
        if col.timezone:
            out.append(("timezone", name, {name: "Mars/Olympus_Mons"}))
        if col.minimum is not None:
            out.append(("minimum", name, {name: _below(col.minimum, col.minimum_exclusive)}))
        if col.maximum is not None:
            out.append(("maximum", name, {name: str(Decimal(col.maximum) + Decimal("0.5"))}))
        if col.required_when:
            out.append(("required_when", name, {name: None, col.required_when: "QPO-1"}))
    return out


def _rekey(entity: Entity, row: Row, i: int, keep: set[str], prefix: str = "") -> Row:
    """Give a fault row a key no valid record has (text keys ``Q…``; currency ``Q..``)."""
    out = dict(row)
    for col in entity.columns:
        if not col.key or col.name in keep or col.type != "text":
            continue
        if col.currency:
            out[col.name] = "Q" + chr(65 + i // 26 % 26) + chr(65 + i % 26)
        else:
            out[col.name] = f"{prefix or f'Q{i:03d}'}-{row[col.name]}"
    return out


def row_faults(world: World, entity: Entity, base: Row) -> list[FaultRow]:
    """Every constraint of ``entity`` broken once, on copies of the valid ``base`` row."""
    recipes = _rule_recipes(world)
    base = {**base, **FAULT_BASE.get(entity.name, {})}
    faults: list[tuple[str, str, Row]] = _column_faults(entity)
    for rule in entity.rules:
        if rule.name not in recipes:
            raise NotImplementedError(f"no fault recipe for contract rule {rule.name!r} "
                                      f"of {entity.name}: add one in flows/generate/faults.py")
        faults.append((rule.name, rule.columns[0], recipes[rule.name](base)))
    out = []
    for i, (rule, column, overrides) in enumerate(faults):
        row = _rekey(entity, base, i, set(overrides))
        row.update(overrides)
        out.append(FaultRow(row, rule, column))
    return out


def boundary_row(entity: Entity, base: Row) -> Row | None:
    """An invoice line whose amount is off by exactly 0.01: valid in decimal arithmetic
    (binary floating point would see 0.010000000000005 and reject it)."""
    if "amount_matches" not in {r.name for r in entity.rules}:
        return None
    row = _rekey(entity, base, 0, set(), prefix="QOK")
    row.update({"quantity": "10", "unit_price": "12.34", "amount": "123.41",
                "po_id": None, "po_line": None, "paid_date": None})
    return row


def superseded_row(world: World, entity: Entity, base: Row) -> Row | None:
    """A newer version of a valid shipment that breaks damaged ≤ shipped: stamped 60
    days after the base version (later than any valid version of that shipment, and
    independent of the run's length)."""
    if "damaged_le_shipped" not in {r.name for r in entity.rules}:
        return None
    row = dict(base)
    shipped = Decimal(str(base["shipped_qty"]).strip())
    row["damaged_qty"] = str(shipped + 1)
    stamped = datetime.fromisoformat(str(base["updated_at"]).strip()) + timedelta(days=60)
    row["updated_at"] = stamped.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return row


# --- file-level faults ----------------------------------------------------------------
def write_file_faults(root: Path, world: World, written: list[str],
                      missing_column_file: tuple[str, str, list[str], list[Row]],
                      ) -> tuple[list[RejectedFile], list[str], list[str], list[list[str]]]:
    """Write the whole-file faults; returns (rejected, unsupported, unrecognised,
    duplicates). ``missing_column_file`` = (rel, column dropped, header, rows)."""
    rng = rng_for(world.seed, Stream.STYLE, 7)
    month = world.month_label(0)
    rejected: list[RejectedFile] = []

    rel, dropped, header, rows = missing_column_file
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(r.get(c) or "" for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejected.append(RejectedFile(rel, ["missing required column", dropped]))

    corrupt = "wms/shipments_corrupt.parquet"
    (root / corrupt).parent.mkdir(parents=True, exist_ok=True)
    (root / corrupt).write_bytes(b"PAR1" + rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())
    rejected.append(RejectedFile(corrupt, ["magic"]))

    broken = f"fin/fx_rates_{month}_broken.csv.gz"
    full = gzip.compress(b"rate_date,currency,usd_per_unit\n" + b"2026-01-05,EUR,1.08\n" * 500,
                         mtime=0)
    (root / broken).parent.mkdir(parents=True, exist_ok=True)
    (root / broken).write_bytes(full[: len(full) // 2])
    rejected.append(RejectedFile(broken, ["gzip"]))

    xml = f"erp/order_lines_{month}.xml"
    (root / xml).write_text('<?xml version="1.0"?>\n<order_lines>\n  <line order_id="X1" '
                            'line_number="1"/>\n</order_lines>\n', encoding="utf-8")
    rejected.append(RejectedFile(xml, ["unsupported"]))

    unknown = f"erp/customers_{month}.csv"
    (root / unknown).write_text("customer_id,name\nCU0001,Globex\nCU0002,Initech\n",
                                encoding="utf-8")

    original = f"erp/invoice_lines_{month}.csv"
    if original not in written:
        original = "tms/carriers.csv"  # always written, sorts before "resend/"
    folder, name = original.rsplit("/", 1)
    stem, dot, ext = name.partition(".")
    copy = f"{folder}/resend/{stem}_copy{dot}{ext}"
    (root / copy).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / original, root / copy)
    return rejected, [xml], [unknown], [[copy, original]]
