"""Routes generated batches to their files, keeps writers open only while needed, and
places the fault rows (when asked) in the first text file of each entity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flows.contract import ENTITY_BY_NAME
from flows.generate.batch import Batch
from flows.generate.faults import Row, boundary_row, row_faults, superseded_row
from flows.generate.layout import fault_file, file_for
from flows.generate.reference import Slot
from flows.generate.render import text_columns
from flows.generate.report import FaultManifest, QuarantinedRow
from flows.generate.styles import FileStyle
from flows.generate.world import World
from flows.generate.writers import TextWriter, Writer, open_writer

#: Rendering of the valid row fault rows are copied from: offsets on every timestamp so
#: the copy means the same instant wherever it is written.
CANONICAL = FileStyle(ts_zone=(0.0, 0.0, 1.0, 0.0, 0.0))


#: Slot kinds whose files belong to one month (closed once the month is generated).
MONTH_SLOTS = ("month", "correction")


class Exporter:
    def __init__(self, root: Path, world: World, faults: bool) -> None:
        self.root = root
        self.world = world
        self.writers: dict[str, tuple[str, Slot, Writer]] = {}
        self.closed: set[str] = set()
        self.rows: dict[str, int] = {name: 0 for name in ENTITY_BY_NAME}
        self.base_rows: dict[str, Row] = {}
        self.manifest = FaultManifest() if faults else None
        self._placed: set[str] = set()

    # --- writing ------------------------------------------------------------------------
    def write(self, entity: str, slot: Slot, batch: Batch) -> None:
        if not len(batch):
            return
        spec = file_for(self.world, entity, slot)
        if spec.rel in self.closed:
            raise RuntimeError(f"{spec.rel} already closed: a chunk routed rows too late")
        if spec.rel not in self.writers:
            self.writers[spec.rel] = (entity, slot, open_writer(self.root, spec,
                                                                self.world.zones))
        if entity not in self.base_rows:
            first = batch.take(np.array([0]))
            self.base_rows[entity] = {k: v[0].as_py() for k, v in
                                      text_columns(first, CANONICAL, self.world.zones).items()}
        self.writers[spec.rel][2].append(batch)

    def write_routed(self, entity: str, batch: Batch, kind: str = "month") -> None:
        """Split a batch between the monthly files (or a month's files of another
        ``kind``, such as ``correction``) of its rows' routes."""
        for k in np.unique(batch.route).tolist():
            self.write(entity, Slot(kind, int(k)), batch.take(np.flatnonzero(batch.route == k)))

    # --- closing ------------------------------------------------------------------------
    def close_where(self, entity: str, up_to_month: int | None = None) -> None:
        """Close the entity's open files (a month's ones only up to a month, if given)."""
        for rel, (name, slot, _) in list(self.writers.items()):
            if name != entity or rel in self.closed:
                continue
            if up_to_month is not None and (slot.kind not in MONTH_SLOTS
                                            or slot.value > up_to_month):
                continue
            self._close(rel)

    def _close(self, rel: str) -> None:
        entity, _, writer = self.writers[rel]
        if (self.manifest is not None and entity not in self._placed
                and isinstance(writer, TextWriter) and writer.rows):
            self._place_faults(entity, writer)
        writer.close()
        self.closed.add(rel)
        self.rows[entity] += writer.rows

    def finish(self) -> None:
        """Close everything; entities whose files were all binary get a fault file."""
        for rel in list(self.writers):
            if rel not in self.closed:
                self._close(rel)
        if self.manifest is None:
            return
        for entity in ENTITY_BY_NAME:
            if entity in self._placed or entity not in self.base_rows:
                continue
            spec = fault_file(self.world, entity)
            writer = open_writer(self.root, spec, self.world.zones)
            self.writers[spec.rel] = (entity, Slot("fault"), writer)
            self._place_faults(entity, writer)
            self._close(spec.rel)

    # --- faults -------------------------------------------------------------------------
    def _place_faults(self, entity: str, writer: Writer) -> None:
        assert self.manifest is not None
        ent = ENTITY_BY_NAME[entity]
        base = self.base_rows[entity]
        names = ent.column_names
        faults = row_faults(self.world, ent, base)
        first = writer.append_text(names, [f.values for f in faults])
        rows = [QuarantinedRow(writer.spec.rel, first + i, f.rule, f.column)
                for i, f in enumerate(faults)]
        newer = superseded_row(self.world, ent, base)
        if newer is not None:
            n = writer.append_text(names, [newer])
            rows.append(QuarantinedRow(writer.spec.rel, n, "damaged_le_shipped", "damaged_qty"))
            self.manifest.superseded_invalid.append({
                "entity": entity, "file": writer.spec.rel, "row_number": n,
                "key": {k: base[k] for k in ent.keys}, "updated_at": newer["updated_at"],
                "note": "newer version breaks damaged_qty ≤ shipped_qty: it is quarantined "
                        "and the older valid version of this key must survive"})
        ok = boundary_row(ent, base)
        if ok is not None:
            n = writer.append_text(names, [ok])
            self.manifest.boundary_ok.append({
                "entity": entity, "file": writer.spec.rel, "row_number": n,
                "key": {k: ok[k] for k in ent.keys},
                "note": "amount 123.41 = 10 × 12.34 + 0.01 exactly: valid in decimal "
                        "arithmetic (binary floating point would reject it); must load"})
        self.manifest.quarantine[entity] = rows
        self._placed.add(entity)
