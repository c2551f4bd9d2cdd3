"""One KPI catalogue: adding a KPI is its SQL plus one row of seeds/kpi_catalogue.csv.

In a copy of the dbt project, a new KPI (cancelled_shipment_rate: cancelled shipments
over all shipments, by shipped date) is added as one more branch of an int_kpi_daily__*
model and one catalogue row; the build then publishes it in kpi_daily, kpi_weekly and
kpi_monthly (with ALL), in core.dim_kpi, with its values. Without the catalogue row the
build fails, naming the KPI.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.build import DbtFailed
from flows.settings import get_settings
from tests.support.dbt import dbt_build

pytestmark = pytest.mark.slow
AS_OF = date(2026, 3, 6)

NEW_KPI_SQL = """
union all
select 'cancelled_shipment_rate', site_id, shipped_date,
       sum(case when status = 'cancelled' then 1 else 0 end), count(*)
from deliveries
where shipped_date <= {{ as_of() }}
group by site_id, shipped_date
"""
CATALOGUE_ROW = ("cancelled_shipment_rate,Cancelled shipments,Delivery,rate,rate,lower_is_better,0,1,"
                 "Shipments cancelled as a share of shipments\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "dbt_project"
    shutil.copytree(get_settings().dbt_project_dir, copy, ignore=shutil.ignore_patterns("target", "logs"))
    model = copy / "models" / "intermediate" / "kpi" / "int_kpi_daily__deliveries.sql"
    model.write_text(model.read_text() + NEW_KPI_SQL)
    return copy


def _work_copy(conformance_warehouse: Path, tmp_path: Path) -> Path:
    db = tmp_path / "work.duckdb"
    shutil.copyfile(conformance_warehouse.parent / ".ops.state" / "work.duckdb", db)
    return db


def test_a_kpi_is_its_sql_and_one_catalogue_row(project: Path, conformance_warehouse: Path,
                                                tmp_path: Path) -> None:
    seed = project / "seeds" / "kpi_catalogue.csv"
    seed.write_text(seed.read_text() + CATALOGUE_ROW)
    db = _work_copy(conformance_warehouse, tmp_path)
    dbt_build(db, AS_OF, tmp_path / "artifacts", project_dir=project, with_tests=True)

    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT label, kind FROM core.dim_kpi WHERE kpi = 'cancelled_shipment_rate'"
                           ).fetchall() == [("Cancelled shipments", "rate")]
        expected = con.execute("""
            SELECT site_id, shipped_date, count(*) FILTER (status = 'cancelled'), count(*)
            FROM core.fct_deliveries WHERE shipped_date <= DATE '2026-03-06'
            GROUP BY ALL ORDER BY ALL""").fetchall()
        daily = con.execute("""
            SELECT site_id, date, numerator::INT, denominator::INT FROM kpi.kpi_daily
            WHERE kpi = 'cancelled_shipment_rate' ORDER BY ALL""").fetchall()
        assert daily == expected and len(daily) > 50
        assert sum(r[2] for r in daily) > 0  # the conformance data has cancelled shipments
        # the rollups: ALL of a month = the sum over its days and sites, value recomputed
        month = con.execute("""
            SELECT numerator, denominator, value FROM kpi.kpi_monthly
            WHERE kpi = 'cancelled_shipment_rate' AND site_id = 'ALL' AND month_start = DATE '2026-02-01'
        """).fetchone()
        feb = [r for r in expected if r[1].month == 2]
        cancelled, shipments = sum(r[2] for r in feb), sum(r[3] for r in feb)
        assert (int(month[0]), int(month[1])) == (cancelled, shipments)
        assert month[2] == pytest.approx(cancelled / shipments)
        assert con.execute("SELECT count(*) FROM kpi.kpi_weekly WHERE kpi = 'cancelled_shipment_rate' "
                           "AND site_id = 'ALL'").fetchone()[0] >= 9
    finally:
        con.close()


def test_a_kpi_without_its_catalogue_row_fails_the_build(project: Path, conformance_warehouse: Path,
                                                         tmp_path: Path) -> None:
    db = _work_copy(conformance_warehouse, tmp_path)
    with pytest.raises(DbtFailed) as failed:
        dbt_build(db, AS_OF, tmp_path / "artifacts", project_dir=project, with_tests=True)
    assert any("relationships_kpi_daily_kpi__kpi__ref_dim_kpi_" in f for f in failed.value.failures), \
        failed.value.failures
