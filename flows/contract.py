"""The input contract of ``docs/spec/exports.md`` as ONE declarative table.

Ingestion (validation SQL), the sample-data generator, the dbt sources and the tests all
read these definitions, so a column or a rule exists in exactly one place. The row
rules are expressed as SQL predicates over the *typed* columns; a row breaks a rule
when the predicate is FALSE (a NULL operand means another rule already reports it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "int", "num", "date", "ts", "bool", "month", "date_or_ts"]

#: DuckDB type of each contract type in the raw tables. Numbers are exact decimals with
#: 28 digits before the point and 10 after (the contract asks for at least 18 and 10).
SQL_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "num": "DECIMAL(38,10)",
    "date": "DATE",
    "ts": "TIMESTAMPTZ",
    "date_or_ts": "TIMESTAMPTZ",
    "bool": "BOOLEAN",
    "month": "DATE",
}


@dataclass(frozen=True)
class Column:
    """One column of an export, with every constraint the contract writes next to it."""

    name: str
    type: ColumnType = "text"
    key: bool = False
    required: bool = False
    default: str | None = None
    allowed: tuple[str, ...] | None = None
    minimum: str | None = None  # decimal literal
    minimum_exclusive: bool = False
    maximum: str | None = None
    currency: bool = False
    timezone: bool = False
    required_when: str | None = None  # required when this other column is not null
    doc: str = ""

    @property
    def is_required(self) -> bool:
        return self.key or self.required

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class RowRule:
    """A cross-column "Rules:" line of the contract, as a SQL predicate on typed columns."""

    name: str
    predicate: str
    message: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Entity:
    name: str
    source: str
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = field(default_factory=tuple)
    doc: str = ""

    @property
    def keys(self) -> list[str]:
        return [c.name for c in self.columns if c.key]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.is_required]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def has_updated_at(self) -> bool:
        return "updated_at" in self.column_names

    @property
    def version_order(self) -> str:
        """SQL ORDER BY of a key's versions, surviving version first (exports.md, "Loading
        is idempotent"): greatest updated_at (null oldest), then greatest file path, then
        greatest row. Beyond the contract, for a corrected file re-delivered under the same
        name (its rows tie on path and row), the latest load. Ingestion (site time zones)
        and dbt's staging models (through the generated dbt sources) both use this."""
        order = ["updated_at DESC NULLS LAST"] if self.has_updated_at else []
        return ", ".join([*order, "_file DESC", "_row DESC", "_loaded_at DESC"])

    @property
    def has_site(self) -> bool:
        """Naive timestamps are wall-clock time at ``site_id`` (``home_site_id`` does not count)."""
        return "site_id" in self.column_names

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: ColumnType = "text", **kw: object) -> Column:
    return Column(name, type_, **kw)  # type: ignore[arg-type]


def _key(name: str, type_: ColumnType = "text", **kw: object) -> Column:
    return Column(name, type_, key=True, **kw)  # type: ignore[arg-type]


def _req(name: str, type_: ColumnType = "text", **kw: object) -> Column:
    return Column(name, type_, required=True, **kw)  # type: ignore[arg-type]


ENTITIES: tuple[Entity, ...] = (
    # --- reference data -------------------------------------------------------------
    Entity(
        "sites",
        "ref",
        (
            _key("site_id"),
            _c("site_name"),
            _c("region"),
            _c("country"),
            _req("timezone", timezone=True, doc="IANA time zone name"),
        ),
        doc="Sites (warehouses, DCs) and their IANA time zone.",
    ),
    Entity(
        "carriers",
        "tms",
        (
            _key("carrier_id"),
            _c("carrier_name"),
            _c("mode", allowed=("parcel", "ltl", "ftl", "courier")),
            _c("on_time_target", "num", minimum="0", maximum="1",
               doc="contracted on-time rate"),
        ),
        doc="Carriers with their contracted on-time target.",
    ),
    Entity(
        "vendors",
        "erp",
        (
            _key("vendor_id"),
            _c("vendor_name"),
            _c("category"),
            _c("country"),
            _c("payment_terms_days", "int", minimum="0"),
            _c("updated_at", "ts"),
        ),
        doc="Suppliers.",
    ),
    Entity(
        "employees",
        "hr",
        (
            _key("employee_id"),
            _c("home_site_id"),
            _c("role"),
            _c("employment_type", allowed=("full_time", "part_time", "temporary")),
            _c("hire_date", "date"),
            _c("updated_at", "ts"),
        ),
        doc="Employees (home_site_id does not set the time zone of their timestamps).",
    ),
    Entity(
        "pay_rates",
        "hr",
        (
            _key("employee_id"),
            _key("effective_from", "date"),
            _req("hourly_rate", "num", minimum="0", minimum_exclusive=True),
            _req("currency", currency=True),
        ),
        doc="Hourly pay rates, effective-dated.",
    ),
    Entity(
        "fx_rates",
        "fin",
        (
            _key("rate_date", "date"),
            _key("currency", currency=True),
            _req("usd_per_unit", "num", minimum="0", minimum_exclusive=True),
        ),
        doc="USD per unit of a currency on a date (USD is always 1 and needs no rows).",
    ),
    Entity(
        "budgets",
        "fin",
        (
            _key("site_id"),
            _key("category"),
            _key("month", "month", doc="YYYY-MM or a date; the month that contains it"),
            _req("budget_amount", "num", minimum="0"),
            _req("currency", currency=True),
        ),
        doc="Monthly budget per site and spend category.",
    ),
    # --- deliveries -----------------------------------------------------------------
    Entity(
        "order_lines",
        "erp",
        (
            _key("order_id"),
            _key("line_number", "int"),
            _req("site_id", doc="fulfilling site"),
            _c("customer_id"),
            _c("sku"),
            _req("ordered_qty", "num", minimum="0", minimum_exclusive=True),
            _req("order_placed_at", "ts"),
            _req("requested_delivery_date", "date", doc="the promised date"),
            _c("priority"),
            _req("status", allowed=("open", "shipped", "delivered", "closed", "cancelled")),
            _req("updated_at", "ts"),
        ),
        doc="Customer order lines (ERP/OMS).",
    ),
    Entity(
        "shipments",
        "wms",
        (
            _key("shipment_id"),
            _req("order_id"),
            _req("line_number", "int"),
            _req("site_id"),
            _c("carrier_id"),
            _req("shipped_qty", "num", minimum="0"),
            _req("shipped_at", "ts"),
            _c("delivered_at", "ts"),
            _c("damaged_qty", "num", minimum="0", default="0"),
            _c("freight_cost", "num", minimum="0", default="0"),
            _c("currency", currency=True, default="USD"),
            _req("status", allowed=("in_transit", "delivered", "cancelled")),
            _req("updated_at", "ts"),
        ),
        rules=(
            RowRule(
                "damaged_le_shipped",
                "damaged_qty <= shipped_qty",
                "damaged_qty greater than shipped_qty",
                ("damaged_qty", "shipped_qty"),
            ),
            RowRule(
                "delivered_after_shipped",
                "delivered_at >= shipped_at",
                "delivered_at before shipped_at",
                ("delivered_at", "shipped_at"),
            ),
            RowRule(
                "delivered_status_matches_date",
                "status = 'cancelled' OR ((status = 'delivered') = (delivered_at IS NOT NULL))",
                "status must be 'delivered' exactly when delivered_at is set",
                ("status", "delivered_at"),
            ),
        ),
        doc="Shipments (WMS/TMS); an order line may ship in several shipments.",
    ),
    # --- spend ----------------------------------------------------------------------
    Entity(
        "purchase_order_lines",
        "erp",
        (
            _key("po_id"),
            _key("po_line", "int"),
            _req("vendor_id"),
            _req("site_id"),
            _req("category"),
            _req("ordered_qty", "num", minimum="0", minimum_exclusive=True),
            _req("unit_price", "num", minimum="0"),
            _req("currency", currency=True),
            _req("ordered_at", "date_or_ts"),
            _req("expected_date", "date", doc="vendor's promised delivery date"),
            _req("status", allowed=("open", "closed", "cancelled")),
            _req("updated_at", "ts"),
        ),
        doc="Purchase order lines.",
    ),
    Entity(
        "goods_receipts",
        "wms",
        (
            _key("receipt_id"),
            _req("po_id"),
            _req("po_line", "int"),
            _req("site_id"),
            _req("received_qty", "num", minimum="0"),
            _c("rejected_qty", "num", minimum="0", default="0"),
            _req("received_at", "ts"),
            _req("updated_at", "ts"),
        ),
        rules=(
            RowRule(
                "rejected_le_received",
                "rejected_qty <= received_qty",
                "rejected_qty greater than received_qty",
                ("rejected_qty", "received_qty"),
            ),
        ),
        doc="Goods receipts against PO lines; accepted qty = received − rejected.",
    ),
    Entity(
        "invoice_lines",
        "erp",
        (
            _key("invoice_id"),
            _key("invoice_line", "int"),
            _req("vendor_id"),
            _req("site_id"),
            _c("po_id"),
            _c("po_line", "int", required_when="po_id", doc="required when po_id is set"),
            _c("category"),
            _req("quantity", "num", doc="negative for a credit note"),
            _req("unit_price", "num", minimum="0"),
            _req("amount", "num"),
            _req("currency", currency=True),
            _req("invoice_date", "date"),
            _req("due_date", "date"),
            _c("paid_date", "date"),
            _req("updated_at", "ts"),
        ),
        rules=(
            RowRule(
                "amount_matches",
                # Exact DECIMAL arithmetic that cannot overflow DECIMAL(38): quantity ×
                # unit_price has 20 decimals, which leaves only 18 digits before the point,
                # so it is split as trunc(quantity) × unit_price (10 decimals) + the
                # fraction's part. try(): beyond even that (no such amount fits a raw
                # column) the row breaks the rule instead of failing the whole run.
                "coalesce(try(abs((amount - trunc(quantity) * unit_price)"
                " - (quantity - trunc(quantity)) * unit_price) <= 0.01),"
                " amount IS NULL OR quantity IS NULL OR unit_price IS NULL)",
                "amount differs from quantity × unit_price by more than 0.01",
                ("amount", "quantity", "unit_price"),
            ),
            RowRule(
                "paid_after_invoice",
                "paid_date >= invoice_date",
                "paid_date before invoice_date",
                ("paid_date", "invoice_date"),
            ),
        ),
        doc="Vendor invoice lines (credit notes have a negative quantity).",
    ),
    # --- labor ----------------------------------------------------------------------
    Entity(
        "timesheets",
        "hr",
        (
            _key("entry_id"),
            _req("employee_id"),
            _req("site_id"),
            _req("clock_in", "ts"),
            _req("clock_out", "ts"),
            _c("break_minutes", "num", minimum="0", default="0"),
            _c(
                "activity",
                allowed=("receiving", "picking", "packing", "shipping", "driving", "admin",
                         "other"),
                default="other",
            ),
            _req("updated_at", "ts"),
        ),
        rules=(
            RowRule(
                "clock_out_after_clock_in",
                "clock_out > clock_in",
                "clock_out not after clock_in",
                ("clock_out", "clock_in"),
            ),
            RowRule(
                "shift_at_most_24h",
                "epoch(clock_out) - epoch(clock_in) <= 86400",
                "shift longer than 24 hours",
                ("clock_out", "clock_in"),
            ),
            RowRule(
                "break_shorter_than_shift",
                # try(): a break too large for DECIMAL(38) once in seconds breaks the rule
                # instead of failing the whole run.
                "coalesce(try(break_minutes * 60 < epoch(clock_out) - epoch(clock_in)),"
                " break_minutes IS NULL OR clock_out IS NULL OR clock_in IS NULL)",
                "break not shorter than the shift",
                ("break_minutes",),
            ),
        ),
        doc="Timesheet entries: one row per worked shift or segment.",
    ),
    # --- inventory ------------------------------------------------------------------
    Entity(
        "inventory_snapshots",
        "wms",
        (
            _key("site_id"),
            _key("sku"),
            _key("snapshot_date", "date"),
            _req("on_hand_qty", "num", minimum="0"),
            _req("unit_cost", "num", minimum="0"),
            _req("currency", currency=True),
        ),
        doc="WMS end-of-day balances; a site's snapshot on a date is complete (an SKU "
        "without a row had nothing on hand).",
    ),
    Entity(
        "cycle_counts",
        "wms",
        (
            _key("count_id"),
            _req("site_id"),
            _req("sku"),
            _req("counted_at", "ts"),
            _req("system_qty", "num", minimum="0", doc="what the system said"),
            _req("counted_qty", "num", minimum="0", doc="what was found"),
            _req("unit_cost", "num", minimum="0"),
            _req("currency", currency=True),
            _c("updated_at", "ts"),
        ),
        doc="A count of one SKU at one site.",
    ),
    # --- returns --------------------------------------------------------------------
    Entity(
        "returns",
        "erp",
        (
            _key("return_id"),
            _req("order_id"),
            _req("line_number", "int"),
            _req("site_id", doc="the site that takes it back"),
            _req("returned_qty", "num", minimum="0", minimum_exclusive=True),
            _req("reason", allowed=("damaged", "defective", "wrong_item", "late", "not_needed",
                                    "other")),
            _req("requested_at", "ts"),
            _c("received_at", "ts"),
            _c("refunded_at", "ts"),
            _c("refund_amount", "num", minimum="0", default="0"),
            _c("currency", currency=True, default="USD"),
            _req("status", allowed=("requested", "received", "refunded", "rejected", "cancelled")),
            _req("updated_at", "ts"),
        ),
        rules=(
            RowRule(
                "received_after_requested",
                "received_at >= requested_at",
                "received_at before requested_at",
                ("received_at", "requested_at"),
            ),
            RowRule(
                "refunded_after_requested",
                "refunded_at >= requested_at",
                "refunded_at before requested_at",
                ("refunded_at", "requested_at"),
            ),
        ),
        doc="Customer returns (RMAs).",
    ),
    # --- service --------------------------------------------------------------------
    Entity(
        "service_tickets",
        "crm",
        (
            _key("ticket_id"),
            _req("site_id"),
            _c("customer_id"),
            _c("category"),
            _req("priority", allowed=("low", "normal", "high", "urgent")),
            _req("opened_at", "ts"),
            _c("first_response_at", "ts"),
            _c("resolved_at", "ts"),
            _req("status", allowed=("open", "pending", "resolved", "closed", "cancelled")),
            _req("updated_at", "ts"),
        ),
        rules=(
            RowRule(
                "first_response_after_opened",
                "first_response_at >= opened_at",
                "first_response_at before opened_at",
                ("first_response_at", "opened_at"),
            ),
            RowRule(
                "resolved_after_opened",
                "resolved_at >= opened_at",
                "resolved_at before opened_at",
                ("resolved_at", "opened_at"),
            ),
            RowRule(
                "resolved_status_needs_date",
                "status NOT IN ('resolved', 'closed') OR resolved_at IS NOT NULL",
                "status 'resolved' or 'closed' requires resolved_at",
                ("status", "resolved_at"),
            ),
        ),
        doc="Customer-service and operations tickets.",
    ),
    # --- safety ---------------------------------------------------------------------
    Entity(
        "safety_incidents",
        "ehs",
        (
            _key("incident_id"),
            _req("site_id"),
            _req("occurred_at", "ts"),
            _req("severity", allowed=("near_miss", "first_aid", "recordable", "lost_time")),
            _c("days_lost", "int", minimum="0", default="0"),
            _c("employee_id"),
            _req("updated_at", "ts"),
        ),
        rules=(
            RowRule(
                "days_lost_only_when_lost_time",
                "days_lost = 0 OR severity = 'lost_time'",
                "days_lost must be 0 unless severity is 'lost_time'",
                ("days_lost", "severity"),
            ),
        ),
        doc="Safety incidents.",
    ),
)

ENTITY_BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}

#: Load order inside a run: ``sites`` first, because naive timestamps of every other
#: entity are wall-clock time at their site and need its time zone.
LOAD_PRIORITY: dict[str, int] = {"sites": 0}


def entity_for_filename(filename: str) -> Entity | None:
    """The longest entity name the file name starts with, followed by ``_``, ``-`` or ``.``."""
    lower = filename.lower()
    best: Entity | None = None
    for entity in ENTITIES:
        name = entity.name
        matches = lower.startswith(name) and len(lower) > len(name) and lower[len(name)] in "_-."
        if matches and (best is None or len(name) > len(best.name)):
            best = entity
    return best


#: Accepted formats by extension (after removing an optional ``.gz`` on text formats).
TEXT_FORMATS = {".csv": "csv", ".txt": "csv", ".json": "json", ".jsonl": "jsonl",
                ".ndjson": "jsonl"}
BINARY_FORMATS = {".xlsx": "xlsx", ".parquet": "parquet"}


def format_for_filename(filename: str) -> tuple[str, bool] | None:
    """(format, gzipped) for an accepted file name, else None (unsupported extension)."""
    lower = filename.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    for ext, fmt in TEXT_FORMATS.items():
        if lower.endswith(ext):
            return fmt, gz
    if not gz:
        for ext, fmt in BINARY_FORMATS.items():
            if lower.endswith(ext):
                return fmt, False
    return None
