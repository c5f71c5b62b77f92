from __future__ import annotations

import pandas as pd
import pytest

from assets.reports.fills import FillsError, canonical_fills, empty_fills
from assets.reports.pnl import MARK_FROM_FILL, MARK_FROM_QUOTE, daily_pnl, marks_at
from tests.assets.reports.fills_builder import fills

DAY = pd.Timestamp("2026-03-02")
END = DAY + pd.Timedelta(days=1)

# A/AAPL: 100 @ 10.00 bought the day before (fee 1.00). On the day an order for
# 100 fills 50 @ 11.00 and 50 @ 12.00 (fees 0.50 each), then 120 are sold @ 11.50
# (fee 1.20), then 130 @ 12.50 (fee 1.30), which closes the last 80 and opens a
# short of 50. B/MSFT holds 10 all day with no fill.
SCENE = fills(
    ("f0", "2026-03-01 15:00", "A/AAPL", "BUY", 100, 10.00, 1.00),
    ("m0", "2026-03-01 16:00", "B/MSFT", "BUY", 10, 100.00),
    ("f1", "2026-03-02 14:30", "A/AAPL", "BUY", 50, 11.00, 0.50),
    ("f2", "2026-03-02 14:31", "A/AAPL", "BUY", 50, 12.00, 0.50),
    ("f3", "2026-03-02 15:00", "A/AAPL", "SELL", 120, 11.50, 1.20),
    ("f4", "2026-03-02 16:00", "A/AAPL", "SELL", 130, 12.50, 1.30),
    ("n1", "2026-03-03 10:00", "A/AAPL", "BUY", 50, 13.00),
)


def test_daily_pnl_when_a_day_adds_reduces_and_flips_then_numbers_are_hand_computed() -> None:
    rows = daily_pnl(
        SCENE, DAY, END, {"AAPL": 10.50, "MSFT": 101.0}, {"AAPL": 12.00, "MSFT": 103.0}
    )

    aapl = rows[rows["symbol"] == "AAPL"].iloc[0]
    assert (aapl["start_quantity"], aapl["start_average_cost"]) == (100, 10.00)
    assert aapl["end_quantity"] == -50
    assert aapl["end_average_cost"] == pytest.approx(12.50)
    # (11.50 - 10.75) * 120 + (12.50 - 10.75) * 80, the average after the buys being
    # (1000 + 550 + 600) / 200 = 10.75.
    assert aapl["realized_pnl"] == pytest.approx(230.00)
    assert aapl["fees"] == pytest.approx(3.50)
    assert aapl["unrealized_start"] == pytest.approx(50.00)  # (10.50 - 10.00) * 100
    assert aapl["unrealized_pnl"] == pytest.approx(25.00)  # (12.00 - 12.50) * -50
    assert aapl["net_pnl"] == pytest.approx(201.50)  # 230 + (25 - 50) - 3.50
    assert aapl["cumulative_realized"] == pytest.approx(225.50)  # net of all 4.50 of fees
    assert (aapl["fill_count"], aapl["bought_quantity"], aapl["sold_quantity"]) == (4, 100, 250)
    assert aapl["buy_notional"] == pytest.approx(1150.00)
    assert aapl["sell_notional"] == pytest.approx(3005.00)

    msft = rows[rows["symbol"] == "MSFT"].iloc[0]
    assert (msft["start_quantity"], msft["end_quantity"], msft["fill_count"]) == (10, 10, 0)
    assert msft["realized_pnl"] == 0.0
    assert msft["net_pnl"] == pytest.approx(20.0)  # (103 - 100) * 10 - (101 - 100) * 10
    assert list(rows["account"]) == ["A", "B"]


def test_daily_pnl_when_a_pair_is_flat_all_day_without_fills_then_it_has_no_row() -> None:
    scene = fills(
        ("a", "2026-03-01 10:00", "A/AAPL", "BUY", 10, 10.0),
        ("b", "2026-03-01 11:00", "A/AAPL", "SELL", 10, 11.0),
    )

    rows = daily_pnl(scene, DAY, END, {}, {})

    assert rows.empty
    assert list(rows.columns)[:3] == ["account", "symbol", "start_quantity"]


def test_daily_pnl_when_there_are_no_fills_then_the_frame_is_empty_and_typed() -> None:
    rows = daily_pnl(empty_fills(), DAY, END, {}, {})

    assert rows.empty
    assert rows["end_quantity"].dtype == "int64"
    assert rows["net_pnl"].dtype == "float64"


def test_marks_at_when_a_symbol_has_no_quote_then_its_first_fill_price_marks_it() -> None:
    marks, sources = marks_at({"AAPL": 12.0}, SCENE, END)

    assert marks == {"AAPL": 12.0, "MSFT": 100.0}
    assert sources == {"AAPL": MARK_FROM_QUOTE, "MSFT": MARK_FROM_FILL}


def test_canonical_fills_when_fee_is_missing_or_null_then_it_is_zero() -> None:
    frame = SCENE.drop(columns=["fee"])
    assert canonical_fills(frame)["fee"].sum() == 0.0
    with_nulls = SCENE.assign(fee=[None] * len(SCENE))
    assert canonical_fills(with_nulls)["fee"].sum() == 0.0


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("side", "HOLD", "FILL_BAD_SIDE"),
        ("quantity", 0, "FILL_BAD_QUANTITY"),
        ("price", -1.0, "FILL_BAD_PRICE"),
    ],
)
def test_canonical_fills_when_a_fill_is_malformed_then_the_error_has_a_stable_code(
    column: str, value: object, code: str
) -> None:
    bad = SCENE.copy()
    bad.loc[2, column] = value

    with pytest.raises(FillsError) as error:
        canonical_fills(bad)

    assert error.value.code == code
    assert "f1" in str(error.value)
