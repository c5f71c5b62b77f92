"""The reports assets on a day the real engine traded: real journal, real DuckDB file,
real partitioned Dagster materialisations, reconciled against the journal's replay."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets.execution_quality.report_folder import ReportFolder
from assets.reports.assets import ReportDefinitions, build_report_definitions
from assets.reports.config import ReportsConfig
from assets.reports.replay import replayed_positions
from assets.reports.tables import (
    COMPLIANCE_FINDINGS,
    DAILY_PNL,
    EXPOSURE,
    OPEN_TAX_LOTS,
    TAX_LOTS,
    WASH_SALES,
)
from assets.resources import DuckDBWarehouse, JournalSource, ServiceBook
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
    service: ServiceBook | None = None,
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
            "service": service if service is not None else ServiceBook(),
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


REPORT_DAY_TABLES = (DAILY_PNL, TAX_LOTS, OPEN_TAX_LOTS, WASH_SALES, EXPOSURE, COMPLIANCE_FINDINGS)


def day_counts(warehouse: DuckDBWarehouse) -> dict[tuple[str, str], int]:
    counts = {}
    for table in REPORT_DAY_TABLES:
        frame = warehouse.query(
            f"SELECT strftime(trading_day, '%Y-%m-%d') AS day, count(*) AS n FROM {table.name} "
            "GROUP BY 1"
        )
        counts.update(
            {(table.name, d): int(n) for d, n in zip(frame["day"], frame["n"], strict=True)}
        )
    return counts


def test_day_when_rerun_then_its_rows_are_replaced_and_other_days_untouched(
    reports: ReportDefinitions, shipped: tuple[DuckDBWarehouse, JournalSource], tmp_path: Path
) -> None:
    warehouse, journal = shipped
    assert materialise(reports, warehouse, journal, tmp_path / "out").success
    before = day_counts(warehouse)
    # A row of the day a re-run no longer produces, and a row of another day.
    pnl = warehouse.query("SELECT * FROM daily_pnl LIMIT 1")
    other_day = pd.Timestamp(DAY) - pd.Timedelta(days=3)
    warehouse.write_frames(
        [
            (DAILY_PNL, pnl.assign(account="stale")),
            (DAILY_PNL, pnl.assign(account="other", trading_day=other_day)),
        ]
    )
    assert day_counts(warehouse)[("daily_pnl", DAY)] == before[("daily_pnl", DAY)] + 1

    assert materialise(reports, warehouse, journal, tmp_path / "out").success

    after = day_counts(warehouse)
    other_key = ("daily_pnl", other_day.strftime("%Y-%m-%d"))
    assert after.pop(other_key) == 1
    assert after == before
    assert before[("daily_pnl", DAY)] > 0 and before[("open_tax_lots", DAY)] > 0
    accounts = set(warehouse.query("SELECT account FROM daily_pnl")["account"])
    assert "stale" not in accounts and "other" in accounts


def test_day_when_it_stops_trading_then_a_rerun_empties_it(
    reports: ReportDefinitions, shipped: tuple[DuckDBWarehouse, JournalSource], tmp_path: Path
) -> None:
    warehouse, journal = shipped
    assert materialise(reports, warehouse, journal, tmp_path / "out").success
    warehouse.replace_partition(
        [(DAILY_PNL, pd.DataFrame())], pd.Timestamp("2026-11-20"), pd.Timestamp("2026-11-21")
    )

    # The day with no trading: every table valid (typed, queryable) and empty for it.
    assert materialise(reports, warehouse, journal, tmp_path / "out", day="2026-11-20").success

    assert not any(day == "2026-11-20" for _, day in day_counts(warehouse))
    for table in REPORT_DAY_TABLES:
        columns = warehouse.query(f"SELECT * FROM {table.name} LIMIT 0").columns
        assert list(columns) == list(table.column_names)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAGED_ASSETS = (*(t.name for t in REPORT_DAY_TABLES),)


class _Fetches(HTMLParser):
    """Every URL a page would fetch, and the elements that can fetch one."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.fetching_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "link", "iframe", "object", "embed", "base"}:
            self.fetching_tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in {"src", "href", "srcset", "data"}]


@pytest.mark.parametrize("day", [DAY, "2026-11-20"])
def test_pages_when_a_day_is_materialised_then_each_asset_has_a_page_with_figures_and_charts(
    reports: ReportDefinitions,
    shipped: tuple[DuckDBWarehouse, JournalSource],
    tmp_path: Path,
    day: str,
) -> None:
    warehouse, journal = shipped

    result = materialise(reports, warehouse, journal, tmp_path / "out", day=day)

    for asset in PAGED_ASSETS:
        metadata = result.asset_materializations_for_node(
            "tax_lots_and_wash_sales" if "lots" in asset or "wash" in asset else asset
        )
        entry = next(m for m in metadata if m.asset_key.to_user_string() == asset).metadata
        path = Path(str(entry["report_path"].value))
        assert path == (tmp_path / "out" / asset / f"{day}.html").resolve()
        page = path.read_text(encoding="utf-8")
        assert "<h2>Headline</h2>" in page and day in page
        assert "data:image/png;base64," in str(entry["chart"].value)
        parser = _Fetches()
        parser.feed(page)
        assert parser.fetching_tags == []
        assert parser.urls and all(u.startswith("data:image/png;base64,") for u in parser.urls)
        pngs = sorted(path.parent.glob(f"{day}-*.png"))
        assert pngs and all(p.read_bytes().startswith(PNG_SIGNATURE) for p in pngs)
    pnl = next(m for m in result.asset_materializations_for_node("daily_pnl")).metadata
    page = Path(str(pnl["report_path"].value)).read_text(encoding="utf-8")
    fills = pnl["fills_today"].value
    assert f"<th>fills_today</th><td class='num'>{fills:,}</td>" in page
