"""How each KPI is presented: read from the warehouse's KPI catalogue (``core.dim_kpi``,
the dbt seed ``kpi_catalogue``), the one place a KPI's label, domain, unit, kind,
direction and definition are written.

The report shows the values the warehouse holds and never recomputes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb

Unit = Literal["rate", "usd", "usd_signed", "usd_unit", "usd_order", "days", "hours", "per_hour",
               "per_200k_hours", "number"]


@dataclass(frozen=True)
class KpiInfo:
    """Presentation of one KPI (a row of core.dim_kpi)."""

    kpi: str
    label: str
    group: str  # the catalogue's domain
    unit: Unit
    meaning: str  # the catalogue's definition
    kind: str = "rate"
    direction: str | None = None

    @property
    def is_total(self) -> bool:
        """A sum (spend, hours, cost): its chart starts at zero."""
        return self.kind == "total"


class Catalogue:
    """The KPIs of a warehouse, in catalogue order, grouped by domain."""

    def __init__(self, kpis: list[KpiInfo]):
        self.kpis = kpis
        self._by_kpi = {k.kpi: k for k in kpis}
        self.groups: tuple[str, ...] = tuple(dict.fromkeys(k.group for k in kpis))

    def info(self, kpi: str) -> KpiInfo:
        """The presentation of ``kpi``; a KPI missing from the catalogue still shows."""
        if kpi in self._by_kpi:
            return self._by_kpi[kpi]
        return KpiInfo(kpi, kpi.replace("_", " ").capitalize(), "Other", "number", "")

    def order(self, kpi: str) -> tuple[int, str]:
        """Sort key: catalogue order, unknown KPIs last (alphabetically)."""
        names = [k.kpi for k in self.kpis]
        return (names.index(kpi), kpi) if kpi in names else (len(names), kpi)

    __call__ = info


def read_catalogue(con: duckdb.DuckDBPyConnection) -> Catalogue:
    rows = con.execute(
        "SELECT kpi, label, domain, unit, definition, kind, direction FROM core.dim_kpi"
    ).fetchall()
    return Catalogue([KpiInfo(*r) for r in rows])
