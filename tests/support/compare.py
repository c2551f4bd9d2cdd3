"""Compare published warehouse tables with expected CSVs (conformance/README.md rules).

- numbers equal within 1e-6, absolute or relative;
- KPI rows whose numerator and denominator are both 0 or null may be missing on either side;
- in the vendor and carrier marts an empty count or sum may be 0 or null.
Everything else that differs is reported, row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

KEYS: dict[str, list[str]] = {
    "kpi_daily": ["kpi", "site_id", "date"],
    "kpi_weekly": ["kpi", "site_id", "week_start"],
    "kpi_monthly": ["kpi", "site_id", "month_start"],
    "kpi_carrier_monthly": ["carrier_id", "month_start"],
    "kpi_vendor_monthly": ["vendor_id", "month_start"],
    "kpi_budget_monthly": ["site_id", "category", "month_start"],
    "fct_deliveries": ["shipment_id"],
    "fct_order_lines": ["order_id", "line_number"],
    "fct_spend": ["invoice_id", "invoice_line"],
    "fct_labor": ["entry_id"],
    "fct_po_lines": ["po_id", "po_line"],
    "fct_inventory_daily": ["site_id", "date"],
    "fct_cycle_counts": ["count_id"],
    "fct_returns": ["return_id"],
    "fct_service_tickets": ["ticket_id"],
    "fct_safety_incidents": ["incident_id"],
}

#: Columns the spec requires, per table (compared when the expected file has them).
SPEC_COLUMNS: dict[str, list[str]] = {
    "kpi_daily": ["numerator", "denominator", "value"],
    "kpi_weekly": ["numerator", "denominator", "value"],
    "kpi_monthly": ["numerator", "denominator", "value"],
    "kpi_carrier_monthly": ["delivered_shipments", "on_time_shipments", "on_time_rate",
                            "on_time_target", "meets_target"],
    "kpi_vendor_monthly": ["spend_usd", "po_lines_due", "po_lines_otif", "supplier_otif_rate",
                           "price_variance_usd", "invoice_lines_with_po",
                           "three_way_matched_lines", "three_way_match_rate"],
    "kpi_budget_monthly": ["budget_usd", "actual_usd", "variance_usd", "variance_pct"],
    "fct_deliveries": ["order_id", "line_number", "site_id", "carrier_id", "status", "shipped_qty",
                       "damaged_qty", "shipped_date", "delivered_date", "due_date", "is_on_time",
                       "lead_time_days", "freight_cost_usd", "sku", "cogs_usd"],
    "fct_order_lines": ["site_id", "customer_id", "priority", "order_placed_date", "ordered_qty",
                        "due_date", "status", "qty_delivered_on_time", "qty_delivered", "is_otif",
                        "is_in_full", "is_perfect_order"],
    "fct_spend": ["vendor_id", "site_id", "category", "po_id", "po_line", "has_known_po",
                  "invoice_date", "due_date", "paid_date", "quantity", "unit_price", "amount",
                  "currency", "amount_usd", "po_unit_price", "price_variance_usd",
                  "is_three_way_match"],
    "fct_labor": ["employee_id", "site_id", "work_date", "week_start", "activity", "hours_worked",
                  "regular_hours", "overtime_hours", "hourly_rate", "rate_currency",
                  "labor_cost_usd"],
    "fct_po_lines": ["vendor_id", "site_id", "category", "ordered_qty", "unit_price", "currency",
                     "expected_date", "status", "qty_accepted_by_expected", "qty_accepted",
                     "is_otif"],
    "fct_inventory_daily": ["snapshot_date", "skus_on_hand", "on_hand_qty", "inventory_value_usd"],
    "fct_cycle_counts": ["site_id", "sku", "count_date", "system_qty", "counted_qty", "variance_qty",
                         "is_accurate", "unit_cost", "currency", "system_value_usd", "shrinkage_usd"],
    "fct_returns": ["order_id", "line_number", "site_id", "sku", "reason", "status", "returned_qty",
                    "requested_date", "received_date", "refunded_date", "is_counted",
                    "is_quality_return", "refund_amount_usd", "refund_cycle_days"],
    "fct_service_tickets": ["site_id", "customer_id", "category", "priority", "status", "opened_date",
                            "first_response_at", "resolved_at", "resolved_date", "response_due_at",
                            "resolution_due_at", "resolution_hours", "response_met",
                            "response_judged_date", "resolution_met", "resolution_judged_date"],
    "fct_safety_incidents": ["site_id", "employee_id", "occurred_date", "severity", "days_lost",
                             "is_recordable", "is_lost_time"],
}

SCHEMA = {name: ("kpi" if name.startswith("kpi_") else "core") for name in KEYS}
EMPTY_MAY_BE_ZERO = {"kpi_vendor_monthly", "kpi_carrier_monthly"}


@dataclass
class TableDiff:
    table: str
    expected_rows: int
    actual_rows: int
    missing: list[tuple] = field(default_factory=list)  # in expected, not in warehouse
    extra: list[tuple] = field(default_factory=list)  # in warehouse, not in expected
    mismatched: list[tuple] = field(default_factory=list)  # (key, column, expected, actual)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.mismatched)

    def summary(self, limit: int = 8) -> str:
        lines = [f"{self.table}: expected {self.expected_rows} rows, warehouse {self.actual_rows}; "
                 f"{len(self.missing)} missing, {len(self.extra)} extra, "
                 f"{len(self.mismatched)} values differ"]
        lines += [f"  missing {k}" for k in self.missing[:limit]]
        lines += [f"  extra   {k}" for k in self.extra[:limit]]
        lines += [f"  differs {m}" for m in self.mismatched[:limit]]
        return "\n".join(lines)


def _norm_key(col: str) -> str:
    # expected CSVs sometimes hold integer keys as floats ("2.0")
    return (
        f"CASE WHEN regexp_full_match(CAST({col} AS VARCHAR), '-?\\d+\\.0+') "
        f"THEN split_part(CAST({col} AS VARCHAR), '.', 1) ELSE CAST({col} AS VARCHAR) END"
    )


def compare_table(con: duckdb.DuckDBPyConnection, table: str, expected_csv: Path) -> TableDiff:
    """Compare ``<schema>.<table>`` in ``con`` with ``expected_csv``."""
    keys = KEYS[table]
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _exp AS SELECT * FROM read_csv('{expected_csv}', header=true)"
    )
    exp_cols = {r[0]: r[1] for r in con.execute("DESCRIBE _exp").fetchall()}
    act_cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE {SCHEMA[table]}.{table}").fetchall()}
    cols = [c for c in SPEC_COLUMNS[table] if c in exp_cols and c in act_cols]
    missing_cols = [c for c in SPEC_COLUMNS[table] if c in exp_cols and c not in act_cols]
    key_sel_e = ", ".join(f"{_norm_key('e.' + k)} AS k_{k}" for k in keys)
    key_sel_a = ", ".join(f"{_norm_key('a.' + k)} AS k_{k}" for k in keys)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _e AS SELECT {key_sel_e}, e.* FROM _exp e"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _a AS SELECT {key_sel_a}, a.* FROM {SCHEMA[table]}.{table} a"
    )
    n_exp = con.execute("SELECT count(*) FROM _e").fetchone()[0]
    n_act = con.execute("SELECT count(*) FROM _a").fetchone()[0]
    diff = TableDiff(table, n_exp, n_act)
    if missing_cols:
        diff.mismatched.append(("<columns>", ", ".join(missing_cols), "present", "absent"))
    on = " AND ".join(f"_e.k_{k} = _a.k_{k}" for k in keys)
    kcols = ", ".join(f"_e.k_{k}" for k in keys)
    kcols_a = ", ".join(f"_a.k_{k}" for k in keys)
    is_kpi = "numerator" in cols

    def negligible(side: str) -> str:
        if is_kpi:
            return (f"(coalesce({side}.numerator, 0) = 0 AND coalesce({side}.denominator, 0) = 0)")
        return "false"

    diff.missing = con.execute(
        f"SELECT {kcols} FROM _e ANTI JOIN _a ON {on} WHERE NOT {negligible('_e')} ORDER BY ALL"
    ).fetchall()
    diff.extra = con.execute(
        f"SELECT {kcols_a} FROM _a ANTI JOIN _e ON {on} WHERE NOT {negligible('_a')} ORDER BY ALL"
    ).fetchall()
    numeric = ("DOUBLE", "BIGINT", "INTEGER", "DECIMAL", "FLOAT", "HUGEINT", "SMALLINT")
    for col in cols:
        et, at = exp_cols[col].upper(), act_cols[col].upper()
        e, a = f"_e.{col}", f"_a.{col}"
        if et.startswith(numeric) or at.startswith(numeric):
            ev, av = f"TRY_CAST({e} AS DOUBLE)", f"TRY_CAST({a} AS DOUBLE)"
            if at == "BOOLEAN":
                av = f"CAST(CAST({a} AS INTEGER) AS DOUBLE)"
            if et == "BOOLEAN":
                ev = f"CAST(CAST({e} AS INTEGER) AS DOUBLE)"
            if table in EMPTY_MAY_BE_ZERO:
                ev, av = f"coalesce({ev}, 0)", f"coalesce({av}, 0)"
            differs = (
                f"NOT (({ev} IS NULL AND {av} IS NULL) OR "
                f"(abs({ev} - {av}) <= 1e-6 OR abs({ev} - {av}) <= 1e-6 * greatest(abs({ev}), abs({av}))))"
            )
        elif et == "BOOLEAN" or at == "BOOLEAN":
            differs = f"TRY_CAST({e} AS BOOLEAN) IS DISTINCT FROM TRY_CAST({a} AS BOOLEAN)"
        elif et == "DATE" or at == "DATE":
            differs = f"TRY_CAST({e} AS DATE) IS DISTINCT FROM TRY_CAST({a} AS DATE)"
        else:
            differs = f"CAST({e} AS VARCHAR) IS DISTINCT FROM CAST({a} AS VARCHAR)"
        for row in con.execute(
            f"SELECT {kcols}, CAST({e} AS VARCHAR), CAST({a} AS VARCHAR) FROM _e JOIN _a ON {on} "
            f"WHERE {differs} ORDER BY ALL"
        ).fetchall():
            diff.mismatched.append((row[: len(keys)], col, row[-2], row[-1]))
    return diff


def compare_warehouse(warehouse: Path, expected_dir: Path) -> list[TableDiff]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [
            compare_table(con, csv.stem, csv)
            for csv in sorted(expected_dir.glob("*.csv"))
            if csv.stem in KEYS
        ]
    finally:
        con.close()
