"""How each of the 17 KPIs of kpis.md is *presented*: label, unit, group, one-line meaning.

Only presentation lives here. What a KPI is (numerator, denominator, date, site) is
defined once, in the dbt marts; the report shows the values the warehouse holds and never
recomputes them, so this table cannot drift from the numbers: at worst a label is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["rate", "usd", "usd_signed", "usd_unit", "days", "hours", "per_hour", "number"]


@dataclass(frozen=True)
class KpiInfo:
    """Presentation of one KPI."""

    kpi: str
    label: str
    group: str
    unit: Unit
    meaning: str

    @property
    def is_total(self) -> bool:
        """A sum (spend, hours, cost): its chart starts at zero and it has no target."""
        return self.unit in ("usd", "usd_signed", "hours")


DELIVERY, PROCUREMENT, LABOR = "Delivery", "Procurement & payables", "Labor"

KPIS: tuple[KpiInfo, ...] = (
    KpiInfo("on_time_delivery_rate", "On-time delivery", DELIVERY, "rate",
            "Delivered shipments on or before the order line's due date"),
    KpiInfo("otif_rate", "OTIF (order lines)", DELIVERY, "rate",
            "Order lines due whose full quantity was delivered on time"),
    KpiInfo("in_full_rate", "In full", DELIVERY, "rate",
            "Order lines due whose full quantity was delivered"),
    KpiInfo("avg_lead_time_days", "Average lead time", DELIVERY, "days",
            "Days from order placed to delivery, per delivered shipment"),
    KpiInfo("freight_cost_per_unit", "Freight cost per unit", DELIVERY, "usd_unit",
            "Freight cost (USD) per unit shipped"),
    KpiInfo("damage_rate", "Damage rate", DELIVERY, "rate",
            "Damaged units as a share of units shipped (delivered shipments)"),
    KpiInfo("spend_usd", "Spend", PROCUREMENT, "usd",
            "Invoiced amount in USD, by invoice date"),
    KpiInfo("po_coverage_rate", "PO coverage", PROCUREMENT, "rate",
            "Share of spend (USD) invoiced against a known purchase-order line"),
    KpiInfo("three_way_match_rate", "Three-way match", PROCUREMENT, "rate",
            "Invoice lines with a PO whose price and quantity match the PO and receipts"),
    KpiInfo("price_variance_usd", "Price variance", PROCUREMENT, "usd_signed",
            "(Invoiced − PO unit price) × quantity in USD; positive = paid more than agreed"),
    KpiInfo("on_time_payment_rate", "On-time payment", PROCUREMENT, "rate",
            "Invoice lines paid on or before their due date"),
    KpiInfo("supplier_otif_rate", "Supplier OTIF", PROCUREMENT, "rate",
            "PO lines due whose ordered quantity was accepted by the expected date"),
    KpiInfo("labor_hours", "Labor hours", LABOR, "hours",
            "Hours worked (clock time less breaks)"),
    KpiInfo("overtime_rate", "Overtime rate", LABOR, "rate",
            "Overtime hours as a share of hours worked"),
    KpiInfo("labor_cost_usd", "Labor cost", LABOR, "usd",
            "Labor cost in USD (overtime at its multiplier)"),
    KpiInfo("units_per_labor_hour", "Units per labor hour", LABOR, "per_hour",
            "Units shipped per hour worked, same site and day"),
    KpiInfo("labor_cost_per_unit", "Labor cost per unit", LABOR, "usd_unit",
            "Labor cost (USD) per unit shipped, same site and day"),
)

BY_KPI: dict[str, KpiInfo] = {k.kpi: k for k in KPIS}
GROUPS: tuple[str, ...] = (DELIVERY, PROCUREMENT, LABOR)


def kpi_info(kpi: str) -> KpiInfo:
    """The presentation of ``kpi``; a KPI the catalogue doesn't know yet still shows."""
    if kpi in BY_KPI:
        return BY_KPI[kpi]
    unit: Unit = "rate" if kpi.endswith("_rate") else "number"
    return KpiInfo(kpi, kpi.replace("_", " ").capitalize(), "Other", unit, "")


def kpi_order(kpi: str) -> tuple[int, str]:
    """Sort key: catalogue order, unknown KPIs last (alphabetically)."""
    order = [k.kpi for k in KPIS]
    return (order.index(kpi), kpi) if kpi in order else (len(order), kpi)
