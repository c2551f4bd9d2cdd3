"""``generate_exports``: realistic, deterministic export folders of every entity.

Reference data first (small, in one piece), then the big domains (deliveries and
returns, spend, labor, inventory, service, safety) month by month, each month in groups
of sites: every site × month chunk draws from its own random stream, rows go to the
monthly files of their update date, and a month's files are closed as soon as no later
chunk can reach them. Memory stays bounded by a chunk and a few open writers, whatever
the number of sites and days; and since nothing depends on the number of days, a longer
run re-creates the files of the months both runs complete byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from flows.contract import ENTITY_BY_NAME
from flows.generate import deliveries, inventory, labor, reference, safety, service, spend
from flows.generate.batch import Batch
from flows.generate.exporter import Exporter
from flows.generate.faults import Row, write_file_faults
from flows.generate.report import GenerationReport
from flows.generate.world import Site, World, build_world

SiteMonth = Callable[[World, Site, int], "Batch | tuple[Batch, ...]"]

REFERENCE = (
    ("sites", reference.sites),
    ("carriers", reference.carriers),
    ("vendors", reference.vendors),
    ("employees", reference.employees),
    ("pay_rates", reference.pay_rates),
    ("fx_rates", reference.fx_rates),
    ("budgets", reference.budgets),
)

DOMAINS: tuple[tuple[tuple[str, ...], SiteMonth], ...] = (
    (("order_lines", "shipments", "returns"), deliveries.site_month),
    (("purchase_order_lines", "goods_receipts", "invoice_lines"), spend.site_month),
    (("timesheets",), labor.site_month),
    (("inventory_snapshots", "inventory_snapshots:correction", "cycle_counts"),
     inventory.site_month),
    (("service_tickets",), service.site_month),
    (("safety_incidents",), safety.site_month),
)

SITE_GROUP = 10  # sites generated before writing (does not change the output)


def generate_exports(out: Path, *, seed: int = 42, sites: int = 3, days: int = 90,
                     start: date = date(2026, 1, 5), faults: bool = False,
                     scale: float = 1.0) -> GenerationReport:
    """Write an exports folder of all 18 entities into ``out`` (which must be empty).

    Same arguments ⇒ byte-identical files. ``faults=True`` adds known, countable faults
    described by ``report.faults``. ``scale`` multiplies the per-site daily volumes.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    present = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                     if p.is_file() and not p.name.lower().startswith("readme"))
    if present:
        raise FileExistsError(f"{root} already holds files (e.g. {present[0]}); "
                              "generate into an empty folder")
    world = build_world(seed, sites, days, start, scale)
    exporter = Exporter(root, world, faults)
    for entity, produce in REFERENCE:
        for slot, batch in produce(world):
            exporter.write(entity, slot, batch)
        exporter.close_where(entity)
    for entities, site_month in DOMAINS:
        _domain(world, exporter, entities, site_month)
    exporter.finish()

    report = GenerationReport(parameters={
        "seed": seed, "sites": sites, "days": days, "start": start.isoformat(),
        "faults": faults, "scale": scale})
    report.rows = {e: exporter.rows[e] for e in ENTITY_BY_NAME}
    if exporter.manifest is not None:
        written = sorted(exporter.writers)
        missing = _missing_column_file(world, exporter.base_rows.get("goods_receipts"))
        rejected, unsupported, unrecognised, duplicates = write_file_faults(
            root, world, written, missing)
        m = exporter.manifest
        m.rejected, m.unsupported = rejected, unsupported
        m.unrecognised, m.duplicates = unrecognised, duplicates
        report.faults = m
    report.files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                          if p.is_file() and not p.name.lower().startswith("readme"))
    return report


def _domain(world: World, exporter: Exporter, entities: tuple[str, ...],
            site_month: SiteMonth) -> None:
    """Month by month, site group by site group; close each month's files once done
    (chunks of later months only produce later versions)."""
    for k in range(world.n_months):
        for g in range(0, len(world.sites), SITE_GROUP):
            parts: list[tuple[Batch, ...]] = []
            for site in world.sites[g:g + SITE_GROUP]:
                result = site_month(world, site, k)
                parts.append(result if isinstance(result, tuple) else (result,))
            for i, name in enumerate(entities):
                entity, _, kind = name.partition(":")  # "entity:kind": another file kind
                exporter.write_routed(entity, Batch.concat([p[i] for p in parts]), kind or "month")
        for name in entities:
            exporter.close_where(name.partition(":")[0], up_to_month=k)


def _missing_column_file(world: World, base: Row | None
                         ) -> tuple[str, str, list[str], list[Row]]:
    """A goods-receipts file without its first required non-key column."""
    entity = ENTITY_BY_NAME["goods_receipts"]
    dropped = next(c.name for c in entity.columns if c.required and not c.key)
    header = [c for c in entity.column_names if c != dropped]
    rows: list[Row] = []
    for i in range(3):
        row = dict(base or {})
        for key in entity.keys:
            row[key] = f"QX{i}-{row.get(key) or 'R'}"
        rows.append(row)
    rel = f"{entity.source}/goods_receipts_{world.month_label(0)}_partial.csv"
    return rel, dropped, header, rows
