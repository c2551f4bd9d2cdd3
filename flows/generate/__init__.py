"""Sample-data generator: realistic, deterministic exports of every contract entity.

``generate_exports(out, seed=..., sites=..., days=..., faults=...)`` writes a folder
of export files in every accepted format (see ``docs/spec/exports.md``) and
returns a :class:`GenerationReport`; with ``faults=True`` it also injects known,
countable faults described by a :class:`FaultManifest`.

Modules: ``world`` (sites, vendors, staff, SKU catalogues, calendar), ``reference`` /
``deliveries`` / ``returns`` / ``spend`` / ``labor`` / ``inventory`` / ``service`` /
``safety`` (the rows), ``feed`` (record versions), ``text`` / ``render`` /
``styles`` / ``writers`` / ``layout`` (files), ``faults`` / ``report`` (fault manifest),
``zones`` (time zones), ``seeds`` (random streams), ``exporter`` / ``api`` (the run).
"""

from flows.generate.api import generate_exports
from flows.generate.report import FaultManifest, GenerationReport, QuarantinedRow, RejectedFile

__all__ = ["FaultManifest", "GenerationReport", "QuarantinedRow", "RejectedFile",
           "generate_exports"]
