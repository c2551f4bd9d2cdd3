"""Invariants of the models are dbt's tests, run by every build before the quality gate:
keys, ranges (the KPI catalogue's value bounds, hours per entry, quantities) and "no KPI
row after the as-of date". The gate does not check them again (expectations/README.md),
so here each corruption of a built warehouse must fail the dbt test that owns it.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.build import DbtFailed
from tests.support.dbt import dbt

pytestmark = pytest.mark.slow
AS_OF = date(2026, 3, 6)

CORRUPTIONS = """
-- a shipment twice (fct_deliveries' key)
INSERT INTO core.fct_deliveries SELECT * FROM core.fct_deliveries WHERE shipment_id =
    (SELECT min(shipment_id) FROM core.fct_deliveries);
-- a rate of 1.2 (the catalogue says on_time_delivery_rate lies in [0, 1])
UPDATE kpi.kpi_daily SET value = 1.2 WHERE kpi = 'on_time_delivery_rate' AND (site_id, date) =
    (SELECT (site_id, date) FROM kpi.kpi_daily WHERE kpi = 'on_time_delivery_rate' ORDER BY ALL LIMIT 1);
-- a KPI row dated after the as-of date
INSERT INTO kpi.kpi_monthly VALUES ('damage_rate', 'S01', DATE '2026-04-01', 0, 1, 0);
-- a 25-hour entry, a negative quantity
UPDATE core.fct_labor SET hours_worked = 25 WHERE entry_id = (SELECT min(entry_id) FROM core.fct_labor);
UPDATE core.fct_po_lines SET ordered_qty = -4 WHERE (po_id, po_line) =
    (SELECT (po_id, po_line) FROM core.fct_po_lines ORDER BY ALL LIMIT 1);
"""


def test_each_corruption_fails_the_dbt_test_that_owns_it(conformance_warehouse: Path, tmp_path: Path) -> None:
    db = tmp_path / "work.duckdb"
    shutil.copyfile(conformance_warehouse.parent / ".ops.state" / "work.duckdb", db)
    dbt(["test", "--select", "fct_deliveries", "fct_labor", "fct_po_lines", "kpi_daily", "kpi_monthly"],
        db, tmp_path / "clean", AS_OF)  # passes before
    con = duckdb.connect(str(db))
    con.execute(CORRUPTIONS)
    con.close()
    with pytest.raises(DbtFailed) as failed:
        dbt(["test", "--select", "fct_deliveries", "fct_labor", "fct_po_lines", "kpi_daily", "kpi_monthly"],
            db, tmp_path / "corrupt", AS_OF)
    failures = {f.split("'")[1]: f for f in failed.value.failures}
    assert set(failures) == {
        "unique_fct_deliveries_shipment_id",
        "kpi_rows_follow_catalogue_kpi_daily_date",
        "kpi_rows_follow_catalogue_kpi_monthly_month_start",
        "accepted_range_fct_labor_hours_worked__24__0",
        "accepted_range_fct_po_lines_ordered_qty__0",
        # the KPI row dated after as_of has no drivers: the drivers' own consistency test
        # with kpi_monthly sees it too
        "members_add_up_kpi_drivers_monthly_current_denominator__current_numerator__month_start__ref_kpi_monthly_",
    }, failures
    for name in failures:
        # the drivers test sees the stray KPI row once per dimension of damage_rate (carrier,
        # customer, SKU, priority)
        got = "Got 4 results" if name.startswith("members_add_up") else "Got 1 result"
        assert got in failures[name], failures[name]
