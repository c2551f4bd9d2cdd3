"""What the gate found: one result per check, with the columns of
``audit.quality_results``, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from flows.gate.checks import Check, lenient
from flows.warehouse.audit import QUALITY_COLUMNS

_SAMPLE_ROWS = 3  # findings quoted in `observed` / `details`


@dataclass
class GateResult:
    """One dict per check, with exactly the keys of ``audit.quality_results``
    (``flows.warehouse.audit.QUALITY_COLUMNS``)."""

    results: list[dict]
    seconds: float = 0.0
    data_docs_path: Path | None = None  # GE's Data Docs index, when they could be built
    data_docs_error: str = ""
    data_docs_seconds: float = 0.0  # part of ``seconds``
    sql: list[str] = field(default_factory=list, repr=False)  # per result, for the report
    as_of: date | None = None
    run_id: str = ""
    database: Path | None = None

    @property
    def errors(self) -> list[dict]:
        """Failed checks of severity ``error``: each one blocks publication."""
        return [r for r in self.results if not r["success"] and r["severity"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        """Failed checks of severity ``warning``."""
        return [r for r in self.results if not r["success"] and r["severity"] == "warning"]

    @property
    def blocked(self) -> bool:
        return bool(self.errors)

    def reason(self) -> str:
        """One line: the failed error checks with what was observed, or that all passed."""
        errors, n_warn = self.errors, len(self.warnings)
        warned = f", {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else ""
        if not errors:
            n = sum(1 for r in self.results if r["severity"] == "error")
            return f"all {n} error checks passed{warned}"
        listed = "; ".join(one_line(f"{r['check']} {r['observed']}") for r in errors)
        return f"{len(errors)} error check{'s' if len(errors) != 1 else ''} failed: {listed}"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def result_of(check: Check, outcome: dict, total: int | None, run_id: str, params: dict) -> dict:
    base = {"run_id": run_id, "suite": check.suite, "check": check.name, "table_name": check.table}
    if "error" in outcome or "success" not in outcome:
        message = outcome.get("error", "no result from Great Expectations")
        # Fail closed: a check that cannot be evaluated (missing table or column, bad SQL)
        # blocks publication, whatever its declared severity.
        return {**base, "severity": "error", "success": False,
                "observed": f"could not evaluate: {message}"[:300],
                "details": f"{check.description} (declared severity: {check.severity})"}
    success, rows = outcome["success"], outcome.get("rows") or []
    n = outcome.get("observed_value")
    if check.kind == "row_count":
        observed = f"{n} rows" if success else f"{n} rows (expected at least {check.min_rows})"
        details = check.description
    elif check.kind == "rows":
        observed = _count_text(int(n or 0), total, check.unit)
        details = check.description + (f" E.g. {_samples(rows)}" if rows else "")
    else:
        if success:
            observed = lenient.format(check.passed or "none", **params)
        else:
            shown = "; ".join(lenient.format(check.observed or _plain(row), **{**params, **row})
                              for row in rows[:_SAMPLE_ROWS])
            more = f" (+{int(n) - _SAMPLE_ROWS} more)" if n and int(n) > _SAMPLE_ROWS else ""
            label = check.count_label
            if n == 1:
                label = _singular(label)  # "1 stale entity", "1 repeated key"
            prefix = f"{n} {label}: " if label else ""
            observed = f"{prefix}{shown}{more}"
        details = check.description
    return {**base, "severity": check.severity, "success": success,
            "observed": one_line(observed), "details": one_line(lenient.format(details, **params))}


def _singular(label: str) -> str:
    """The first word of a count label in the singular ("stale entities" -> "stale entity")."""
    words = label.split(" ")
    for i, word in enumerate(words):
        if word.endswith("ies"):
            words[i] = word[:-3] + "y"
            break
        if word.endswith("s") and not word.endswith("ss"):
            words[i] = word[:-1]
            break
    return " ".join(words)


def _count_text(n: int, total: int | None, unit: str) -> str:
    if total is None:
        return f"{n} {unit}"
    if n == 0 or not total:
        return f"{n} of {total} {unit}"
    return f"{n} of {total} {unit} ({100 * n / total:.1f} %)"


def _plain(row: dict) -> str:
    return ", ".join(f"{k}={{{k}}}" for k in row)


def _samples(rows: list[dict]) -> str:
    return " | ".join(
        ", ".join(f"{k}={lenient.format_field(v, '')}" for k, v in row.items()) for row in rows[:_SAMPLE_ROWS]
    ) + (" | ..." if len(rows) > _SAMPLE_ROWS else "")


def audit_row(result: dict) -> dict:
    """Exactly the columns of ``audit.quality_results``."""
    return {col: result[col] for col in QUALITY_COLUMNS}
