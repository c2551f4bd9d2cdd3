"""What an operator sees, through one warehouse's life, with real refreshes.

One scenario (module fixture ``life``) runs the real ``opskpi`` command in processes, the
state folder elsewhere than beside the warehouse (``OPSKPI_STATE_DIR``), on tiny
generated exports (1 site, 7 days, scale 1), and keeps what each command printed:

1. ``empty``: a first refresh of an empty exports folder;
2. ``blocked``: the first refresh that can load something, with a broken shipments export
   (every row quarantined → the gate blocks);
3. ``published``: the broken export removed and two 18-digit invoices added (Prefect's
   default one task per dbt node); while it holds the lock, ``busy``: a second refresh;
4. ``verbose``: the next day, no new files, ``--verbose``;
5. ``full``: the same day again with ``--full-refresh`` (incremental = full, to the bit);
6. ``failed``: a refresh whose dbt project is missing;
7. ``status`` (80 columns) and ``report --out`` elsewhere, both from the state folder.

The tests below each assert one defect of the issue on what the scenario kept.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

AS_OF, NEXT_DAY = "2026-01-11", "2026-01-12"  # generated: 2026-01-05 .. 2026-01-11

#: The contract's largest amounts (DECIMAL(38,10) raw columns): 18 digits before the point.
HUGE = "999999999999999999.99"
INVOICES = (
    "invoice_id,invoice_line,vendor_id,site_id,po_id,po_line,category,quantity,unit_price,amount,"
    "currency,invoice_date,due_date,paid_date,updated_at\n"
    + "".join(f"HUGE-{i},1,V001,S01,,,capex,1,{HUGE},{HUGE},USD,2026-01-09,2026-02-08,,"
              "2026-01-09 12:00\n" for i in (1, 2))
)


def _broken_shipments(rows: int = 200) -> str:
    """A shipments export whose every row breaks ``shipped_qty >= 0``."""
    head = ("shipment_id,order_id,line_number,site_id,carrier_id,shipped_qty,shipped_at,delivered_at,"
            "damaged_qty,freight_cost,currency,status,updated_at\n")
    return head + "".join(f"BAD{i},NOORDER,1,S01,C1,-1,2026-01-09 10:00,,,,,in_transit,"
                          "2026-01-09 10:00\n" for i in range(rows))


@dataclass
class Life:
    root: Path
    warehouse: Path
    state: Path
    done: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    prefect_imported_by_busy: bool | None = None
    published_after: dict[str, list[str]] = field(default_factory=dict)  # step -> files beside it
    tables: dict[str, dict[str, list]] = field(default_factory=dict)  # step -> table -> rows

    def runs(self) -> list[dict]:
        from flows.warehouse.history import read_runs
        from flows.warehouse.paths import state_paths

        return read_runs(state_paths(self.warehouse, self.state))


#: Runs ``opskpi`` and records whether Prefect was imported (exit handlers run before
#: the CLI's last line and its os._exit).
PROBE = (
    "import atexit, sys\n"
    "probe = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(probe, 'w').write(str(any("
    "m == 'prefect' or m.startswith('prefect.') for m in sys.modules))))\n"
    "from flows.cli import main\n"
    "main()\n"
)


@pytest.fixture(scope="module")
def life(cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Life:
    from flows.generate import generate_exports

    root = tmp_path_factory.mktemp("life")
    exports, empty = root / "exports", root / "empty"
    generate_exports(exports, seed=5, sites=1, days=7, scale=1)
    empty.mkdir()
    life = Life(root, root / "wh" / "ops.duckdb", root / "state-elsewhere")
    env = {**cli_env, "OPSKPI_STATE_DIR": str(life.state), "OPSKPI_DBT_TASK_PER_NODE": "false",
           "COLUMNS": "80"}

    def cmd(*args: object) -> list[str]:
        return [sys.executable, "-m", "flows.cli", *map(str, args)]

    def run(step: str, *args: object, **extra: str) -> subprocess.CompletedProcess:
        done = subprocess.run(cmd(*args), env={**env, **extra}, capture_output=True, text=True,
                              timeout=900, check=False)
        life.done[step] = done
        return done

    refresh = ["refresh", "--exports", exports, "--warehouse", life.warehouse]

    run("empty", "refresh", "--exports", empty, "--warehouse", life.warehouse, "--as-of", AS_OF)
    life.published_after["empty"] = sorted(p.name for p in life.warehouse.parent.iterdir())

    (exports / "wms" / "shipments_2026-01-broken.csv").write_text(_broken_shipments())
    run("blocked", *refresh, "--as-of", AS_OF)
    life.published_after["blocked"] = sorted(p.name for p in life.warehouse.parent.iterdir())

    (exports / "wms" / "shipments_2026-01-broken.csv").unlink()
    (exports / "erp" / "invoice_lines_2026-01-huge.csv").write_text(INVOICES)
    published = subprocess.Popen(cmd(*refresh, "--as-of", AS_OF), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env={**env, "OPSKPI_DBT_TASK_PER_NODE": "true"})
    deadline = time.monotonic() + 300
    lock = life.state / "refresh.lock"  # names its holder while held, emptied on release
    while not (lock.exists() and lock.read_text().startswith("pid ")) and time.monotonic() < deadline:
        time.sleep(0.05)
    probe = root / "prefect-imported"
    life.done["busy"] = subprocess.run(
        [sys.executable, "-c", PROBE, str(probe), *cmd(*refresh, "--as-of", AS_OF)[3:]],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    life.prefect_imported_by_busy = probe.read_text() == "True"
    out, err = published.communicate(timeout=900)
    life.done["published"] = subprocess.CompletedProcess(published.args, published.returncode, out, err)
    life.tables["published"] = _kpi_tables(life.warehouse)

    run("verbose", *refresh, "--as-of", NEXT_DAY, "--verbose")
    life.tables["verbose"] = _kpi_tables(life.warehouse)
    run("full", *refresh, "--as-of", NEXT_DAY, "--full-refresh")
    life.tables["full"] = _kpi_tables(life.warehouse)
    run("failed", *refresh, "--as-of", NEXT_DAY, OPSKPI_DBT_PROJECT_DIR=str(root / "no-dbt-project"))

    run("status", "status", "--warehouse", life.warehouse)
    run("report", "report", "--warehouse", life.warehouse, "--out", root / "report-copy")
    return life


def _kpi_tables(warehouse: Path) -> dict[str, list]:
    """Every core and kpi table, without ``dbt_invocation_id`` (which dbt run wrote a row)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [f"{s}.{t}" for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('kpi', 'core') ORDER BY 1, 2").fetchall()]
        out = {}
        for name in names:
            columns = [f'"{c}"' for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || "
                f"table_name = '{name}' AND column_name <> 'dbt_invocation_id' ORDER BY ordinal_position"
            ).fetchall()]
            out[name] = con.execute(f"SELECT {', '.join(columns)} FROM {name} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def _progress_lines(stderr: str) -> list[str]:
    steps = ("prepare", "ingest", "build", "check", "gate page", "alerts", "publish", "docs", "report")
    return [line for line in stderr.splitlines() if line.split("  ")[0].strip() in steps]


# --- 4. an empty exports folder; a night with no new files ---------------------------------

def test_a_first_refresh_of_an_empty_folder_says_so_and_publishes_nothing(life: Life) -> None:
    done = life.done["empty"]
    assert done.returncode == 1, done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"FAILED: nothing published, no warehouse published yet at {life.warehouse}. "
                           f"nothing to load in {life.root / 'empty'}: 0 files seen, none could be loaded")
    assert f"(log: {life.state}/logs/" in last
    assert [line.split()[0] for line in done.stderr.splitlines()[:-1]] == ["prepare", "ingest"]
    assert life.runs()[0]["outcome"] == "failed"
    assert life.published_after["empty"] == []  # the warehouse folder exists, empty


def test_a_night_with_no_new_files_is_normal(life: Life) -> None:
    done = life.done["verbose"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(f"published {life.warehouse} (run ")
    assert f"as of {NEXT_DAY}; no new files)" in done.stdout
    assert "no new files (21 seen, all loaded before)" in done.stderr


# --- 5. busy is told at once, in one line, before Prefect is imported ----------------------

def test_a_second_refresh_is_busy_in_one_line_without_importing_prefect(life: Life) -> None:
    busy = life.done["busy"]
    assert busy.returncode == 3, busy.stderr
    assert busy.stdout == ""
    lines = busy.stderr.splitlines()
    assert len(lines) == 1, busy.stderr
    assert lines[0].startswith(f"BUSY: another refresh of {life.warehouse} is running (pid ")
    assert lines[0].endswith("; try again when it has finished")
    assert life.prefect_imported_by_busy is False
    assert life.done["published"].returncode == 0  # the first one was not disturbed


# --- 6. a blocked run: progress lines and one BLOCKED line ---------------------------------

def test_a_blocked_first_run_prints_progress_and_one_blocked_line(life: Life) -> None:
    done = life.done["blocked"]
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    # between the steps' lines: the first quarantined rows of each file, one line each
    details = [line for line in lines[:-1] if line.lstrip().startswith("quarantined ")]
    steps = [line for line in lines[:-1] if line not in details]
    assert [line.split()[0] for line in steps] == ["prepare", "ingest", "build", "check", "gate"]
    assert steps == _progress_lines(done.stderr)
    # the broken file's first five quarantined rows (at most five per file), each with its reason
    assert [line.split(": ")[0] for line in details] == [
        f"  quarantined wms/shipments_2026-01-broken.csv row {n}" for n in (1, 2, 3, 4, 5)]
    assert all("shipped_qty: '-1' must be ≥ 0" in line for line in details)
    assert "Traceback" not in done.stderr and done.stdout == ""
    blocked = lines[-1]
    assert blocked.startswith(
        f"BLOCKED: nothing published, no warehouse published yet at {life.warehouse}. quality gate: "
        "1 error check failed: quarantine share shipments ")
    assert f"(details: {life.state}/quality-reports/" in blocked and f"; log: {life.state}/logs/" in blocked
    assert "unchanged" not in blocked
    assert life.published_after["blocked"] == []


# --- 9. OPSKPI_STATE_DIR is honoured by refresh, status, report ----------------------------

def test_the_state_folder_elsewhere_holds_everything(life: Life) -> None:
    assert not (life.warehouse.parent / ".ops.state").exists()
    assert sorted(p.name for p in life.warehouse.parent.iterdir()) == ["ops.duckdb", "report"]
    runs = life.runs()
    assert [r["outcome"] for r in runs] == ["failed", "blocked", "published", "published", "published",
                                            "failed"]
    for r in runs:
        assert r["log"].startswith(f"{life.state}/logs/") and Path(r["log"]).is_file()
    published = life.done["published"].stdout
    assert f"state: opskpi status --warehouse {life.warehouse} --state-dir {life.state}" in published
    failed = life.done["failed"]
    assert failed.returncode == 1
    last = failed.stderr.splitlines()[-1]
    assert last.startswith(f"FAILED: nothing published, {life.warehouse} unchanged.")
    assert f"(log: {life.state}/logs/{runs[-1]['run_id']}.log)" in last


def test_status_shows_the_history_of_the_state_folder_in_plain_lines(life: Life) -> None:
    done = life.done["status"]
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    runs = life.runs()
    assert out[:5] == [
        f"warehouse  {life.warehouse}",
        f"state      {life.state}",
        f"published  data as of {NEXT_DAY}",
        f"last run   {runs[-1]['run_id']}: FAILED, {runs[-1]['reason']}",
        f"log        {runs[-1]['log']}",
    ]
    history = out[out.index("Last runs (newest first):") + 1:][:len(runs)]
    for line, run in zip(history, reversed(runs), strict=True):
        assert line.startswith(f"  {run['run_id']}  as of {run['as_of_date']}  {run['outcome']}")
        errors, warnings = len(run["checks_failed"]), len(run["checks_warned"])
        assert line.endswith(f"checks {errors} error{'s' * (errors != 1)}, "
                             f"{warnings} warning{'s' * (warnings != 1)}"), line
    blocked = next(line for line in history if " blocked " in line)
    assert "checks 1 error, " in blocked  # the quarantine share; "checks failed 0" hid it
    assert any(run["checks_warned"] for run in runs)  # warnings are counted, not hidden


def test_report_out_writes_a_complete_folder_from_the_state_folder(life: Life) -> None:
    done = life.done["report"]
    assert done.returncode == 0, done.stderr
    copy = life.root / "report-copy"
    assert done.stdout.strip() == f"report written: {copy / 'index.html'}"
    assert (copy / "index.html").is_file()
    assert (copy / "dbt-docs" / "index.html").is_file()
    assert (copy / "quality" / "index.html").is_file()
    # the gate page of the run that published the file, kept in the state folder
    published_run = [r for r in life.runs() if r["outcome"] == "published"][-1]
    assert (copy / "quality" / "index.html").read_bytes() == Path(
        published_run["quality_report"]).read_bytes()


# --- 10. one line per step; details in the run log; --verbose brings them back ------------

def test_the_terminal_shows_one_line_per_step_and_the_log_has_the_details(life: Life) -> None:
    done = life.done["published"]
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    names = [line.split()[0] for line in lines]
    assert names[:9] == ["prepare", "ingest", "build", "check", "gate", "alerts", "publish", "docs",
                         "report"]
    # after the report, the line of the KPI alerts sent, when the publication raised any
    assert names[9:] in ([], ["alerts"]) and all(" new KPI alert" in line for line in lines[9:])
    assert "Task run" not in done.stderr and "Task run" not in done.stdout
    assert len(done.stdout.splitlines()) == 1
    log = Path(life.runs()[2]["log"]).read_text()
    assert "START sql incremental model core.fct_deliveries" in log  # dbt's node lines
    assert "OK created sql incremental model core.fct_deliveries" in log


def test_verbose_shows_the_details_and_dbt_parses_partially(life: Life) -> None:
    done = life.done["verbose"]
    assert "START sql incremental model core.fct_deliveries" in done.stderr
    assert len(done.stderr.splitlines()) > 100
    log = Path(life.runs()[3]["log"]).read_text()
    assert "Unable to do partial parsing" not in done.stderr + log  # the as-of date is an env var
    first_log = Path(life.runs()[1]["log"]).read_text()
    assert "Unable to do partial parsing" in first_log  # the first build has nothing to reuse


# --- 16. sums of the largest amounts the contract accepts ----------------------------------

def test_two_18_digit_invoices_on_one_day_sum_exactly(life: Life) -> None:
    con = duckdb.connect(str(life.warehouse), read_only=True)
    try:
        daily = dict(con.execute(
            "SELECT kpi, numerator FROM kpi.kpi_daily WHERE date = DATE '2026-01-09' AND site_id = 'S01' "
            "AND kpi IN ('spend_usd')").fetchall())
        coverage = con.execute(
            "SELECT numerator, denominator FROM kpi.kpi_daily WHERE date = DATE '2026-01-09' "
            "AND site_id = 'S01' AND kpi = 'po_coverage_rate'").fetchone()
        monthly = con.execute(
            "SELECT numerator FROM kpi.kpi_monthly WHERE kpi = 'spend_usd' AND site_id = 'ALL'").fetchall()
        lines = con.execute("SELECT amount_usd FROM core.fct_spend ORDER BY invoice_id").fetchall()
        budget = con.execute("SELECT actual_usd FROM kpi.kpi_budget_monthly WHERE category = 'capex' "
                             "AND site_id = 'S01'").fetchall()
    finally:
        con.close()
    # 999999999999999999.99 × 1 USD, twice: 1999999999999999999.98 (19 digits before the point)
    assert lines == [(Decimal(HUGE),), (Decimal(HUGE),)]
    assert daily == {"spend_usd": Decimal("1999999999999999999.98")}
    assert coverage == (Decimal(0), Decimal("1999999999999999999.98"))  # no PO: not covered
    assert monthly == [(Decimal("1999999999999999999.98"),)]
    assert budget == [(2e18,)]  # the budget mart is DOUBLE


def test_an_incremental_build_equals_a_full_one_to_the_bit(life: Life) -> None:
    assert life.done["full"].returncode == 0, life.done["full"].stderr[-3000:]
    incremental, full = life.tables["verbose"], life.tables["full"]
    assert incremental.keys() == full.keys() and "kpi.kpi_daily" in full
    for name in full:
        assert incremental[name] == full[name], name
