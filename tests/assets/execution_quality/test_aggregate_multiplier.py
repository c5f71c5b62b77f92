"""The TCA aggregates with a contract multiplier (issue 12): a 50x future (ESZ6)
beside a share (AAPL, 1x). Every weight, notional and paper sum is in currency
(P * qty * k), so the day's weighted means are the money-weighted ones; the figures
are worked out by hand below.

ESZ6 BUY 2 LIMIT, decided at 6000.00, quote 5999.75 / 6000.25 (mid 6000.00) all day;
     2 @ 6000.50 at 2 s: FILLED. Cost 2 * 0.50 * 50 = 50.00 on 2 * 6000 * 50 = 600,000.
AAPL BUY 200 LIMIT, decided at 100.00, quote 99.99 / 100.01 (mid 100.00) all day;
     100 @ 100.02 at 2 s, the rest cancelled at 3 s at the same mid (no opportunity
     cost). Cost 100 * 0.02 = 2.00 on 100 * 100 = 10,000 traded, 200 * 100 = 20,000 paper.
"""

from __future__ import annotations

import math

import pandas as pd

from assets.execution_quality.charts import decomposition_by_symbol, fill_rates
from assets.execution_quality.report import headline
from assets.execution_quality.summary import daily_summary, outlier_orders
from assets.execution_quality.tca import compute_tca
from tests.assets.execution_quality.scene import at

MULTIPLIERS = {"ESZ6": 50.0}  # AAPL is not listed: 1x


def tca_rows(multipliers: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    orders = pd.DataFrame(
        {
            "order_id": ["F", "S"],
            "account": ["alice", "alice"],
            "symbol": ["ESZ6", "AAPL"],
            "side": ["BUY", "BUY"],
            "quantity": [2, 200],
            "order_type": ["LIMIT", "LIMIT"],
            "decision_price": [6000.00, 100.00],
            "submit_time": [at(1), at(1)],
            "end_time": [at(2), at(3)],
            "end_status": ["FILLED", "CANCELED"],
        }
    )
    fills = pd.DataFrame(
        {
            "fill_id": ["F1", "S1"],
            "order_id": ["F", "S"],
            "time": [at(2), at(2)],
            "price": [6000.50, 100.02],
            "quantity": [2, 100],
            "fee": [0.0, 0.0],
        }
    )
    quotes = pd.DataFrame(
        {
            "symbol": ["ESZ6", "AAPL"],
            "time": [at(0), at(0)],
            "bid": [5999.75, 99.99],
            "ask": [6000.25, 100.01],
        }
    )
    trades = pd.DataFrame(
        {"symbol": ["ESZ6", "AAPL"], "time": [at(1.5), at(1.5)], "price": [6000.0, 100.0]}
    ).assign(quantity=[10, 1_000])
    result = compute_tca(orders, fills, quotes, trades, cutoff=at(120), multipliers=multipliers)
    return result.orders, result.fills


def whole_day(multipliers: dict[str, float]) -> pd.DataFrame:
    o, f = tca_rows(multipliers)
    summary = daily_summary(o, f, multipliers=multipliers)
    return summary[summary["group_by"] == "all"].set_index("metric")


def close(actual: object, expected: float) -> bool:
    return math.isclose(float(actual), expected, rel_tol=1e-12, abs_tol=1e-9)  # type: ignore[arg-type]


def test_daily_summary_when_one_order_is_50x_then_weights_are_currency_notional() -> None:
    whole = whole_day(MULTIPLIERS)

    # arrival slippage: (50.00 + 2.00) / (600,000 + 10,000) * 1e4
    assert close(whole.loc["arrival_slippage_bps", "weight"], 610_000.0)
    assert close(whole.loc["arrival_slippage_bps", "vw_mean"], 52.0 / 610_000.0 * 1e4)
    # IS over paper: (50.00 + 2.00) / (2 * 6000 * 50 + 200 * 100) * 1e4
    assert close(whole.loc["is_bps", "weight"], 620_000.0)
    assert close(whole.loc["is_bps", "vw_mean"], 52.0 / 620_000.0 * 1e4)
    # notional fill rate: (600,000 + 100 * 100) / 620,000
    assert close(whole.loc["fill_rate", "vw_mean"], 610_000.0 / 620_000.0)
    # effective spread: 2 * 0.50 * 2 * 50 + 2 * 0.02 * 100 = 104.00 over 610,000 at the mid
    assert close(whole.loc["effective_spread_bps", "vw_mean"], 104.0 / 610_000.0 * 1e4)
    # markout at 60 s (the mids do not move): -(50.00 + 2.00) over P * q * k = 610,052
    assert close(whole.loc["markout_bps_60s", "weight"], 610_052.0)
    assert close(whole.loc["markout_bps_60s", "vw_mean"], -52.0 / 610_052.0 * 1e4)
    # participation is contracts over contracts: no k in its weight (10 + 1,000)
    assert close(whole.loc["participation_rate", "weight"], 1_010.0)


def test_daily_summary_when_read_at_1x_then_the_future_weighs_as_one_share_per_contract() -> None:
    # The figures the aggregates gave before issue 12: ESZ6 is 2 * 6000 = 12,000.
    whole = whole_day({})

    assert close(whole.loc["arrival_slippage_bps", "vw_mean"], (1.0 + 2.0) / 22_000.0 * 1e4)
    assert close(whole.loc["fill_rate", "vw_mean"], 22_000.0 / 32_000.0)


def test_headline_when_one_order_is_50x_then_traded_notional_is_currency() -> None:
    o, f = tca_rows(MULTIPLIERS)
    summary = daily_summary(o, f, multipliers=MULTIPLIERS)
    figures = headline(o, f, summary, outlier_orders(o, ["is_bps"]), multipliers=MULTIPLIERS)

    # 2 * 6000.50 * 50 + 100 * 100.02
    assert close(figures["traded_notional"], 610_052.0)
    assert close(figures["implementation_shortfall"], 52.0)
    assert close(figures["is_bps"], 52.0 / 620_000.0 * 1e4)
    assert close(figures["fill_rate"], 610_000.0 / 620_000.0)


def test_report_tables_when_one_order_is_50x_then_paper_and_fill_rate_are_currency() -> None:
    o, _ = tca_rows(MULTIPLIERS)

    by_symbol = decomposition_by_symbol(o, MULTIPLIERS)
    # ranked by money: the future's 600,000 before the share's 20,000
    assert list(by_symbol.index) == ["ESZ6", "AAPL"]
    assert close(by_symbol.loc["ESZ6", "paper"], 600_000.0)
    assert close(by_symbol.loc["ESZ6", "is_bps"], 50.0 / 600_000.0 * 1e4)
    assert close(by_symbol.loc["AAPL", "is_bps"], 2.0 / 20_000.0 * 1e4)
    rates = fill_rates(o, MULTIPLIERS)
    assert close(rates.loc["LIMIT", "fill_rate"], 610_000.0 / 620_000.0)
