"""The TCA with a contract multiplier (issue 12, on issue 10's definitions): currency
amounts are quantity x price x k, bps are not (k cancels), fees are currency already.
The scene's AAPL is treated as a 50x contract here; MSFT and NEWCO are not listed (1x)."""

from __future__ import annotations

import math

import pandas as pd

from assets.execution_quality.checks import identity_violations
from assets.execution_quality.tca import compute_tca
from tests.assets.execution_quality.scene import at, fills, orders, quotes, trades

K = 50.0
TOL = 1e-9


def run(multipliers: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    result = compute_tca(
        orders(), fills(), quotes(), trades(), cutoff=at(80), multipliers=multipliers
    )
    return result.orders.set_index("order_id"), result.fills.set_index("fill_id")


def close(actual: object, expected: float) -> bool:
    return math.isclose(float(actual), expected, rel_tol=1e-12, abs_tol=TOL)  # type: ignore[arg-type]


def test_is_when_the_symbol_is_50x_then_currency_terms_scale_and_bps_keep_price_parts() -> None:
    o, _ = run({"AAPL": K})
    b = o.loc["B"]

    # Order B of test_tca, by hand, with every price term in currency at k = 50.
    q, big_q, pd_, m0, pc, fees = 80, 200, 100.50, 100.10, 100.20, 0.80
    avg = (50 * 100.06 + 30 * 100.04) / 80
    delay = -1 * q * (m0 - pd_) * K  # 1600.0
    execution = -1 * q * (avg - m0) * K  # 190.0
    opportunity = -1 * (big_q - q) * (pc - pd_) * K  # 1800.0
    total = fees + delay + execution + opportunity  # 3590.8
    paper = big_q * pd_ * K  # the order's money notional
    assert close(delay, 1600.0) and close(execution, 190.0) and close(opportunity, 1800.0)
    expected = {
        "is_delay": delay,
        "is_execution": execution,
        "is_opportunity": opportunity,
        "is_fees": fees,
        "implementation_shortfall": total,
        "is_delay_bps": -1 * q * (m0 - pd_) / (big_q * pd_) * 1e4,  # as at 1x
        "is_execution_bps": -1 * q * (avg - m0) / (big_q * pd_) * 1e4,
        "is_opportunity_bps": -1 * (big_q - q) * (pc - pd_) / (big_q * pd_) * 1e4,
        "is_fees_bps": fees / paper * 1e4,  # the fee over the money notional
        "is_bps": total / paper * 1e4,
        "arrival_slippage_bps": -1 * (avg - m0) / m0 * 1e4,  # prices only: unchanged
        "avg_price": avg,
    }
    for column, value in expected.items():
        assert close(b[column], value), (column, b[column], value)


def test_is_when_a_symbol_is_not_listed_then_it_is_1x() -> None:
    listed, _ = run({"AAPL": K})
    plain, _ = run({})

    # C (MSFT) and D (NEWCO) are not in the multipliers: the same as with none.
    for order_id in ("C", "D"):
        for column in ("implementation_shortfall", "is_opportunity", "is_bps"):
            a, b = listed.loc[order_id, column], plain.loc[order_id, column]
            assert (pd.isna(a) and pd.isna(b)) or a == b, (order_id, column)


def test_fills_when_the_symbol_is_50x_then_notional_scales_and_spreads_stay_in_price() -> None:
    _, listed = run({"AAPL": K})
    _, plain = run({})

    assert close(listed.loc["b1", "notional"], 50 * 100.06 * K)
    assert listed.loc["d1", "notional"] == plain.loc["d1", "notional"]  # NEWCO, 1x
    for column in ("effective_spread", "effective_spread_bps", "markout_bps_1s"):
        assert listed.loc["b1", column] == plain.loc["b1", column]


def test_identity_check_when_rows_are_50x_then_it_holds_at_the_same_multipliers() -> None:
    o, _ = run({"AAPL": K})
    rows = o.reset_index()

    assert identity_violations(rows, {"AAPL": K}).empty
    # Checked at 1x, the 50x rows' Perold formula disagrees: the multiplier matters.
    assert set(identity_violations(rows)["order_id"]) >= {"A", "B"}
