"""An ESZ6 day in the reports: every money figure at the contract multiplier (50x),
shares and symbols the instruments config does not know at 1x. Expected numbers by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from assets.instruments import load_multipliers, multiplier_of
from assets.reports.exposure import TOTAL, exposure
from assets.reports.pnl import daily_pnl
from assets.reports.relief import relief_reconciliation
from assets.reports.tax_lots import compute_lots
from realtime.instruments import InstrumentsError
from realtime.layout import PROJECT_ROOT
from tests.assets.reports.fills_builder import fills

DAY = pd.Timestamp("2026-12-03")
END = DAY + pd.Timedelta(days=1)
NEXT_END = END + pd.Timedelta(days=1)
ESZ6_50X = {"ESZ6": 50.0}  # AAPL not listed: 1x

# A/ESZ6: 2 @ 5600.00 and 1 @ 5603.00 (average 5601.00), then 2 sold @ 5610.00 with
# a fee of 2.00; 1 contract is held overnight and sold the next day @ 5620.00.
# A/AAPL: a round trip, 10 @ 190.00 then @ 191.00. W/ESZ6: a wash sale, 1 @ 5600.00
# sold @ 5590.00 and bought back @ 5595.00 within the window.
SCENE = fills(
    ("w1", "2026-12-03 09:00", "W/ESZ6", "BUY", 1, 5600.00),
    ("e1", "2026-12-03 09:30", "A/ESZ6", "BUY", 2, 5600.00),
    ("e2", "2026-12-03 10:00", "A/ESZ6", "BUY", 1, 5603.00),
    ("a1", "2026-12-03 10:30", "A/AAPL", "BUY", 10, 190.00),
    ("a2", "2026-12-03 10:45", "A/AAPL", "SELL", 10, 191.00),
    ("e3", "2026-12-03 11:00", "A/ESZ6", "SELL", 2, 5610.00, 2.00),
    ("w2", "2026-12-03 13:00", "W/ESZ6", "SELL", 1, 5590.00),
    ("w3", "2026-12-03 14:00", "W/ESZ6", "BUY", 1, 5595.00),
    ("e4", "2026-12-04 10:00", "A/ESZ6", "SELL", 1, 5620.00),
)


def row(frame: pd.DataFrame, account: str, symbol: str) -> pd.Series:
    return frame[(frame["account"] == account) & (frame["symbol"] == symbol)].iloc[0]


def test_multiplier_when_the_config_lists_esz6_then_it_is_50x_and_an_unknown_symbol_1x() -> None:
    multipliers = load_multipliers(PROJECT_ROOT / "config" / "instruments.toml")

    assert multiplier_of(multipliers, "ESZ6") == 50.0
    assert multiplier_of(multipliers, "AAPL") == 1.0
    assert multiplier_of(multipliers, "NOT_LISTED") == 1.0


def test_multiplier_when_the_instruments_file_is_bad_then_its_code_names_the_field(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "instruments.toml"
    bad.write_text("[instruments.ESZ6]\ntick_size = 0.25\nmultiplier = -50\n")

    with pytest.raises(InstrumentsError) as raised:
        load_multipliers(bad)

    assert raised.value.code == "INVALID_INSTRUMENTS"
    assert "multiplier" in str(raised.value)


def test_daily_pnl_when_esz6_trades_then_realized_unrealized_and_notional_are_50x() -> None:
    rows = daily_pnl(SCENE, DAY, END, {}, {"ESZ6": 5604.50, "AAPL": 191.0}, None, ESZ6_50X)

    es = row(rows, "A", "ESZ6")
    assert (es["end_quantity"], es["end_average_cost"]) == (1, pytest.approx(5601.00))
    assert es["realized_pnl"] == pytest.approx(900.00)  # (5610 - 5601) * 2 * 50
    assert es["unrealized_pnl"] == pytest.approx(175.00)  # (5604.50 - 5601) * 1 * 50
    assert es["fees"] == pytest.approx(2.00)
    assert es["net_pnl"] == pytest.approx(1073.00)  # 900 + 175 - 2
    assert es["cumulative_realized"] == pytest.approx(898.00)
    assert es["buy_notional"] == pytest.approx(840_150.00)  # (2 * 5600 + 5603) * 50
    assert es["sell_notional"] == pytest.approx(561_000.00)  # 2 * 5610 * 50
    aapl = row(rows, "A", "AAPL")
    assert aapl["realized_pnl"] == pytest.approx(10.00)  # 1x: not in the multipliers
    assert aapl["buy_notional"] == pytest.approx(1_900.00)
    assert row(rows, "W", "ESZ6")["realized_pnl"] == pytest.approx(-500.00)  # -10 * 50


def test_daily_pnl_when_esz6_is_held_overnight_then_the_start_unrealized_is_50x() -> None:
    rows = daily_pnl(SCENE, END, NEXT_END, {"ESZ6": 5604.50}, {"ESZ6": 5625.00}, None, ESZ6_50X)

    es = row(rows, "A", "ESZ6")
    assert es["start_quantity"] == 1
    assert es["unrealized_start"] == pytest.approx(175.00)
    assert es["realized_pnl"] == pytest.approx(950.00)  # (5620 - 5601) * 50
    assert es["net_pnl"] == pytest.approx(775.00)  # 950 + (0 - 175)
    assert es["cumulative_realized"] == pytest.approx(1848.00)  # 900 + 950 - 2


def test_exposure_when_esz6_is_held_then_market_value_gross_and_equity_are_50x() -> None:
    quotes = pd.DataFrame(
        [
            ("ESZ6", pd.Timestamp("2026-12-03 12:00"), 5589.75, 5590.25),  # mid 5590
            ("ESZ6", pd.Timestamp("2026-12-03 15:00"), 5604.25, 5604.75),  # mid 5604.50
        ],
        columns=["symbol", "ts", "bid", "ask"],
    )

    rows = exposure(
        SCENE, DAY, END, {}, {"ESZ6": 5604.50}, quotes, sample_seconds=3600, multipliers=ESZ6_50X
    )

    a = rows[rows["account"] == "A"].set_index("symbol")
    assert a.loc["ESZ6", "market_value"] == pytest.approx(280_225.00)  # 1 * 5604.50 * 50
    assert a.loc[TOTAL, "gross"] == pytest.approx(280_225.00)
    # Equity: realized 900 + 10, fees 2, then the held contract marked at 50x: at the
    # 12:00 sample (5590 - 5601) * 50 = -550 gives 358, at the day's end +175 gives 1083.
    assert a.loc[TOTAL, "equity_end"] == pytest.approx(1083.00)
    assert a.loc[TOTAL, "equity_high_water"] == pytest.approx(1083.00)
    assert a.loc[TOTAL, "max_drawdown"] == pytest.approx(550.00)  # 908 -> 358


def test_tax_lots_when_esz6_lots_close_then_gains_and_bases_are_50x() -> None:
    result = compute_lots(SCENE, cutoff=END, checkpoint=DAY, multipliers=ESZ6_50X)

    slices = result.slices.set_index("slice_id")
    e1 = slices.loc["e1:e3"]  # FIFO: both closed contracts from e1
    assert (e1["quantity"], e1["open_price"], e1["close_price"]) == (2, 5600.00, 5610.00)
    assert e1["gross_gain"] == pytest.approx(1000.00)  # (5610 - 5600) * 2 * 50
    assert e1["proceeds"] == pytest.approx(560_998.00)  # 2 * 5610 * 50 - the 2.00 fee
    assert e1["cost_basis"] == pytest.approx(560_000.00)
    assert e1["gain"] == pytest.approx(998.00)
    assert slices.loc["a1:a2", "gross_gain"] == pytest.approx(10.00)  # AAPL at 1x
    # The wash sale: the 500 loss is disallowed and moves into the replacement lot.
    w1 = slices.loc["w1:w2"]
    assert w1["gain"] == pytest.approx(-500.00)
    assert w1["disallowed_loss"] == pytest.approx(500.00)
    assert w1["reportable_gain"] == pytest.approx(0.0)
    lots = result.open_lots.set_index("lot_id")
    assert lots.loc["e2", "cost_basis"] == pytest.approx(280_150.00)  # 5603 * 50
    assert lots.loc["w3", "cost_basis"] == pytest.approx(280_250.00)  # 5595 * 50 + 500


def test_relief_when_esz6_lots_and_the_book_differ_then_the_open_basis_explains_it_at_50x() -> None:
    pnl = daily_pnl(SCENE, DAY, END, {}, {"ESZ6": 5604.50}, None, ESZ6_50X)
    lots = compute_lots(SCENE, cutoff=END, checkpoint=DAY, multipliers=ESZ6_50X)
    closed = lots.slices[lots.slices["close_time"] >= DAY]
    assert lots.open_lots_at_checkpoint is not None

    relief = relief_reconciliation(
        pnl, closed, lots.open_lots_at_checkpoint, lots.open_lots, ESZ6_50X
    ).set_index(["account", "symbol"])

    es = relief.loc[("A", "ESZ6")]
    assert es["lot_gross_gain"] == pytest.approx(1000.00)
    assert es["average_cost_realized"] == pytest.approx(900.00)
    # The open lot is e2 @ 5603, the book's contract @ 5601: (5603 - 5601) * 50.
    assert es["explained_by_open_basis"] == pytest.approx(100.00)
    assert relief["unexplained"].abs().max() == pytest.approx(0.0, abs=1e-6)
