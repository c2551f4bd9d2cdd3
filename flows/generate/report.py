"""What a generation run wrote, and exactly which faults it injected (JSON-serialisable).

The fault manifest is the contract of ``faults=True``: ingestion must quarantine exactly
the listed rows (by file and row number, 1 = first data row) and give the listed files
exactly the listed statuses. ``tests/test_generate.py`` holds ingestion to it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class QuarantinedRow:
    file: str
    row_number: int
    rule: str  # required | key | type | allowed | currency | timezone | minimum | maximum |
    #            required_when | a contract row-rule name (e.g. damaged_le_shipped)
    column: str  # the column the fault is about (the reasons name it)


@dataclass(frozen=True)
class RejectedFile:
    file: str
    reason_keywords: list[str]  # each appears (case-insensitively) in the manifest reason


@dataclass
class FaultManifest:
    """Every fault injected by ``faults=True``.

    quarantine: per entity, the rows that must be quarantined. rejected: every file
    that must get status ``rejected`` (unreadable, missing a required column, or an
    unsupported extension: those are also listed in ``unsupported``). unrecognised:
    files matching no entity. duplicates: [copy, original] pairs (the copy is skipped).
    boundary_ok: valid rows on a rule's exact boundary that must load. superseded_invalid:
    quarantined newer versions of valid keys (the older valid version must survive).
    """

    quarantine: dict[str, list[QuarantinedRow]] = field(default_factory=dict)
    rejected: list[RejectedFile] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    duplicates: list[list[str]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    boundary_ok: list[dict[str, object]] = field(default_factory=list)
    superseded_invalid: list[dict[str, object]] = field(default_factory=list)

    def expected_quarantine(self) -> dict[str, int]:
        return {e: len(rows) for e, rows in self.quarantine.items()}

    def to_dict(self) -> dict[str, object]:
        return {
            "quarantine": {
                entity: {"count": len(rows), "rows": [asdict(r) for r in rows]}
                for entity, rows in sorted(self.quarantine.items())
            },
            "rejected": [asdict(r) for r in self.rejected],
            "unrecognised": list(self.unrecognised),
            "duplicates": [list(p) for p in self.duplicates],
            "unsupported": list(self.unsupported),
            "boundary_ok": list(self.boundary_ok),
            "superseded_invalid": list(self.superseded_invalid),
        }


@dataclass
class GenerationReport:
    """files: every file written (relative paths, sorted). rows: data rows per entity in
    the files ingestion reads (fault rows included; byte-copy duplicates and files that
    must be rejected are not counted). faults: the manifest, when faults were injected."""

    files: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    faults: FaultManifest | None = None
    parameters: dict[str, object] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, object]:
        return {
            "parameters": self.parameters,
            "files": list(self.files),
            "rows": dict(sorted(self.rows.items())),
            "total_rows": self.total_rows,
            "faults": self.faults.to_dict() if self.faults else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)
