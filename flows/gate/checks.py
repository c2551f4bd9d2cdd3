"""The quality gate's checks, as written in ``expectations/*.yml`` (format:
``expectations/README.md``): loaded, validated and turned into SQL with the run's
parameters. Nothing here runs a query.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from flows.db import quote_literal
from flows.settings import Settings

SEVERITIES = ("error", "warning")


@dataclass
class Check:
    """One check of a suite file, before run-time parameters are filled in."""

    suite: str
    name: str
    table: str  # schema.table: the batch, ``{batch}`` in the SQL
    severity: str
    kind: str  # rows | findings | row_count
    sql: str = ""  # template: {batch} and run-time parameters
    description: str = ""
    observed: str = ""  # findings: template applied to each returned row
    passed: str = ""  # findings: text when nothing is returned
    count_label: str = ""  # findings: "<n> <count_label>: " before the listed rows
    unit: str = "rows"  # rows: what the table's rows are called
    params: dict[str, Any] = field(default_factory=dict)  # per-check SQL parameters
    min_rows: int | None = None  # row_count



def load_checks(expectations_dir: Path) -> list[Check]:
    """Every check of ``expectations_dir/*.yml``, in file order (shorthands expanded)."""
    checks: list[Check] = []
    files = sorted(Path(expectations_dir).glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"no suite files (*.yml) in {expectations_dir}")
    for path in files:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())}") from None
        suite = doc.get("suite") or path.stem
        for i, spec in enumerate(doc.get("checks") or []):
            try:
                checks.extend(_expand(suite, spec))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path.name}, check {i + 1}: {exc}") from exc
    seen: set[tuple[str, str]] = set()
    for c in checks:
        if (c.name, c.table) in seen:
            raise ValueError(f"check {c.name!r} on {c.table} is defined twice")
        seen.add((c.name, c.table))
        render_sql(c, sql_params(date(2000, 1, 1), "run", Settings()))  # placeholders known?
    return checks


def _expand(suite: str, spec: dict) -> list[Check]:
    table = spec["table"]
    if table.count(".") != 1:
        raise ValueError(f"table must be schema.table, got {table!r}")
    severity = spec.get("severity", "error")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    common = {"suite": suite, "table": table, "severity": severity,
              "params": dict(spec.get("params") or {})}

    name = spec["name"]
    description = " ".join(str(spec.get("description", "")).split())
    if "row_count" in spec:
        return [Check(name=name, kind="row_count", description=description or "The table has rows.",
                      min_rows=int(spec["row_count"].get("min", 1)), **common)]

    if "rows" in spec:
        condition = " ".join(str(spec["rows"]).split())
        description = description or f"No row where {condition}."
        if spec.get("where"):
            where = " ".join(str(spec["where"]).split())
            condition = f"({where}) AND ({condition})"
            description = f"{description[:-1]}, among rows where {where}."
        show = ", ".join(spec.get("show") or ["*"])
        return [Check(name=name, kind="rows", description=description, unit=spec.get("unit", "rows"),
                      sql=f"SELECT {show} FROM {{batch}} WHERE {condition}", **common)]

    if "sql" in spec:
        return [Check(name=name, kind="findings", description=description, sql=spec["sql"].strip(),
                      observed=spec.get("observed", ""), passed=spec.get("passed", ""),
                      count_label=spec.get("count", ""), **common)]
    raise ValueError("a check needs one of: rows, sql, row_count")


def sql_params(as_of: date, run_id: str, settings: Settings) -> dict[str, str]:
    """Run-time parameters as SQL literals (``{batch}`` is left for GE to fill in)."""
    return {
        "batch": "{batch}",
        "as_of": f"DATE '{as_of.isoformat()}'",
        "run_id": quote_literal(run_id),
        "max_quarantine_share": repr(float(settings.max_quarantine_share)),
        "warn_quarantine_share": repr(float(settings.warn_quarantine_share)),
        "quarantine_min_rows": str(int(settings.quarantine_min_rows)),
        "freshness_max_days": str(int(settings.freshness_max_days)),
        "reconciliation_tolerance": repr(float(settings.reconciliation_tolerance)),
    }


def text_params(as_of: date, run_id: str, settings: Settings) -> dict[str, Any]:
    """The same parameters as plain values, for ``observed`` and ``passed`` texts."""
    return {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "max_quarantine_share": float(settings.max_quarantine_share),
        "warn_quarantine_share": float(settings.warn_quarantine_share),
        "quarantine_min_rows": int(settings.quarantine_min_rows),
        "freshness_max_days": int(settings.freshness_max_days),
        "reconciliation_tolerance": float(settings.reconciliation_tolerance),
    }


def render_sql(check: Check, params: dict[str, str]) -> str:
    try:
        return check.sql.format(**{**params, **{k: str(v) for k, v in check.params.items()}})
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"check {check.name!r}: bad placeholder in its SQL: {exc!r}") from exc


class _Lenient(string.Formatter):
    """str.format that formats '1.5' with ':.2f' and prints '?' for a missing field."""

    def get_value(self, key, args, kwargs):
        return kwargs.get(key, "?") if isinstance(key, str) else super().get_value(key, args, kwargs)

    def format_field(self, value, format_spec):
        if value is None:
            return "null"
        try:
            return format(value, format_spec)
        except (TypeError, ValueError):
            try:
                return format(float(value), format_spec)
            except (TypeError, ValueError):
                return str(value)


lenient = _Lenient()


