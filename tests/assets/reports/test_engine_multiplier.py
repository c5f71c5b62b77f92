"""An ESZ6 round trip through the real engine reaches the reports at 50x (issue 12):
engine (fake clock, simulated venue, the default universe's instruments) -> journal ->
warehouse shipping (the Dagster warehouse assets) -> daily_pnl (the reports' asset,
built with the instruments file's multipliers, as orchestration.definitions builds it).

The day, by hand: alice buys 2 ESZ6 at market against a 5599.75 / 5600.00 quote (filled
at the ask, 5600.00), the quote moves to 5610.00 / 5610.25, she sells 2 at market (filled
at the bid, 5610.00). Realized = (5610.00 - 5600.00) * 2 * 50 = 1,000.00, gross of fees;
the venue charges none here. Flat at the day's end: no unrealized P&L.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import dagster as dg
import pandas as pd

from assets.execution_quality.report_folder import ReportFolder
from assets.instruments import load_multipliers
from assets.reports.assets import build_report_definitions
from assets.reports.config import ReportsConfig
from assets.reports.tables import DAILY_PNL
from assets.resources import DuckDBWarehouse, ServiceBook
from assets.warehouse.assets import WAREHOUSE_ASSETS
from orchestration.settings import DEFAULT_INSTRUMENTS
from realtime.domain import Side
from tests.assets.conftest import journal_source
from tests.assets.execution_quality.journal import DAY
from tests.assets.results import check_results
from tests.realtime.harness import market, open_engine

SECOND = 1_000_000_000
BUY_AT, SELL_AT, CONTRACTS, K = 5600.00, 5610.00, 2, 50.0
REALIZED = (SELL_AT - BUY_AT) * CONTRACTS * K  # 1,000.00


def write_round_trip(path: Path) -> float:
    """The day above, through the engine; returns the engine's own realized P&L."""

    async def session() -> float:
        async with open_engine(path) as h:
            h.quote("ESZ6", 5599.75, BUY_AT)
            h.advance(SECOND)
            bought = await h.submit(market("es-buy", Side.BUY, CONTRACTS, symbol="ESZ6"))
            assert bought.rejection is None
            await h.settle()
            h.quote("ESZ6", SELL_AT, 5610.25)
            h.advance(SECOND)
            sold = await h.submit(market("es-sell", Side.SELL, CONTRACTS, symbol="ESZ6"))
            assert sold.rejection is None
            await h.settle()
            position = h.engine.state.account("alice").symbol("ESZ6").position
            assert position.quantity == 0
            await h.engine.journal.flush()
            return position.realized_pnl

    return asyncio.run(session())


def test_esz6_round_trip_when_shipped_and_reported_then_daily_pnl_is_at_50x(
    tmp_path: Path,
) -> None:
    journal_path = tmp_path / "journal.db"
    engine_realized = write_round_trip(journal_path)
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))
    journal = journal_source(journal_path)
    shipping = dg.materialize(
        WAREHOUSE_ASSETS, resources={"warehouse": warehouse, "journal": journal}
    )
    assert shipping.success
    reports = build_report_definitions(ReportsConfig(), load_multipliers(DEFAULT_INSTRUMENTS))
    (daily_pnl,) = [
        a for a in reports.assets if DAILY_PNL.name in {k.to_user_string() for k in a.keys}
    ]

    # Its check replays the journal through the engine's own books (at the same multipliers).
    reconcile = [
        c for c in reports.checks if c.check_key.name == "daily_pnl_reconciles_with_service"
    ]
    result = dg.materialize(
        [daily_pnl, *reconcile],
        partition_key=DAY,
        resources={
            "warehouse": warehouse,
            "journal": journal,
            "report_folder": ReportFolder(path=str(tmp_path / "reports")),
            "service": ServiceBook(),
        },
    )

    assert result.success
    assert check_results(result) == {"daily_pnl_reconciles_with_service": True}
    fills = warehouse.query("SELECT symbol, side, price, quantity FROM fills ORDER BY ts")
    assert fills.values.tolist() == [
        ["ESZ6", "BUY", BUY_AT, CONTRACTS],
        ["ESZ6", "SELL", SELL_AT, CONTRACTS],
    ]
    row = warehouse.query(f"SELECT * FROM {DAILY_PNL.name}").set_index(["account", "symbol"])
    esz6 = row.loc[("alice", "ESZ6")]
    assert engine_realized == REALIZED  # the engine books the contract at 50x
    assert esz6["realized_pnl"] == REALIZED
    assert esz6["cumulative_realized"] == REALIZED
    assert esz6["buy_notional"] == BUY_AT * CONTRACTS * K  # 560,000.00
    assert esz6["sell_notional"] == SELL_AT * CONTRACTS * K  # 561,000.00
    assert (esz6["end_quantity"], esz6["unrealized_pnl"], esz6["fees"]) == (0, 0.0, 0.0)
    assert esz6["net_pnl"] == REALIZED
    assert pd.Timestamp(esz6["trading_day"]) == pd.Timestamp(DAY)
