"""The reports assets on a day the real engine traded: real journal, real DuckDB file,
real partitioned Dagster materialisations, reconciled against the journal's replay."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets.execution_quality.report_folder import ReportFolder
from assets.reports.assets import ReportDefinitions, build_report_definitions
from assets.reports.config import ReportsConfig
from assets.reports.replay import replayed_positions
from orchestration.resources import DuckDBWarehouse, JournalSource
from tests.assets.conftest import journal_source
from tests.assets.execution_quality.journal import DAY
from tests.assets.results import check_results


@pytest.fixture
def shipped(shipped_tca_day: Path, tmp_path: Path) -> tuple[DuckDBWarehouse, JournalSource]:
    """Private copies of the engine's day: its journal and the warehouse holding it."""
    for name in ("warehouse.duckdb", "journal.db"):
        shutil.copy(shipped_tca_day / name, tmp_path / name)
    return (
        DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb")),
        journal_source(tmp_path / "journal.db"),
    )


@pytest.fixture(scope="module")
def reports() -> ReportDefinitions:
    return build_report_definitions(ReportsConfig())


def materialise(
    reports: ReportDefinitions,
    warehouse: DuckDBWarehouse,
    journal: JournalSource,
    folder: Path,
    day: str = DAY,
) -> dg.ExecuteInProcessResult:
    names = set(reports.daily_asset_names)
    daily = [a for a in reports.assets if {k.to_user_string() for k in a.keys} <= names]
    return dg.materialize(
        [*daily, *reports.checks],
        partition_key=day,
        resources={
            "warehouse": warehouse,
            "journal": journal,
            "report_folder": ReportFolder(path=str(folder)),
        },
    )


def test_day_when_engine_traded_then_pnl_reconciles_with_the_journal_replay(
    reports: ReportDefinitions, shipped: tuple[DuckDBWarehouse, JournalSource], tmp_path: Path
) -> None:
    warehouse, journal = shipped

    result = materialise(reports, warehouse, journal, tmp_path / "out")

    assert result.success
    assert check_results(result) == {
        "daily_pnl_reconciles_with_service": True,
        "tax_lots_match_average_cost": True,
        "compliance_findings_no_restricted_trade": True,
    }
    rows = warehouse.query("SELECT * FROM daily_pnl ORDER BY account, symbol")
    service = replayed_positions(journal.path, pd.Timestamp(DAY) + pd.Timedelta(days=1))
    booked = service[service["quantity"] != 0].sort_values(["account", "symbol"])
    assert rows[rows["end_quantity"] != 0]["end_quantity"].tolist() == booked["quantity"].tolist()
    assert int(rows["fill_count"].sum()) == int(
        warehouse.query("SELECT count(*) AS n FROM fills")["n"][0]
    )


def test_day_when_a_stored_fill_differs_from_the_journal_then_the_check_names_the_pair(
    reports: ReportDefinitions, shipped: tuple[DuckDBWarehouse, JournalSource], tmp_path: Path
) -> None:
    warehouse, journal = shipped
    target = warehouse.query("SELECT account, symbol, seq FROM fills ORDER BY seq LIMIT 1")
    warehouse.close()
    with duckdb.connect(warehouse.path) as con:
        con.execute(f"UPDATE fills SET price = price + 0.05 WHERE seq = {int(target['seq'][0])}")

    result = materialise(reports, warehouse, journal, tmp_path / "out")

    evaluation = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "daily_pnl_reconciles_with_service"
    )
    assert not evaluation.passed
    pair = f"{target['account'][0]}/{target['symbol'][0]}"
    assert pair in (evaluation.description or "")


def test_day_when_nothing_traded_then_outputs_are_empty_and_checks_pass(
    reports: ReportDefinitions, shipped: tuple[DuckDBWarehouse, JournalSource], tmp_path: Path
) -> None:
    warehouse, journal = shipped

    result = materialise(reports, warehouse, journal, tmp_path / "out", day="2026-11-20")

    assert result.success
    assert set(check_results(result).values()) == {True}
    assert warehouse.query("SELECT count(*) AS n FROM daily_pnl")["n"][0] == 0


def test_day_when_engine_traded_then_exposure_and_findings_are_written(
    reports: ReportDefinitions, shipped: tuple[DuckDBWarehouse, JournalSource], tmp_path: Path
) -> None:
    warehouse, journal = shipped

    assert materialise(reports, warehouse, journal, tmp_path / "out").success

    totals = warehouse.query("SELECT * FROM exposure WHERE symbol = '*' ORDER BY account")
    assert totals["account"].tolist() == ["alice", "bob"]
    assert (totals["gross"] > 0).all()
    rules = set(warehouse.query("SELECT rule_id FROM compliance_findings")["rule_id"])
    # The engine's day has one order rejected by risk for its price collar.
    assert {"RISK_REJECTIONS", "PRICE_COLLAR"} <= rules
    assert "RESTRICTED_TRADE" not in rules
