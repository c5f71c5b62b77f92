"""Daily summaries and robust outliers on small hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from assets.execution_quality.summary import (
    SUMMARY_COLUMNS,
    daily_summary,
    outlier_orders,
    robust_outliers,
)
from assets.execution_quality.tca import compute_tca
from tests.assets.execution_quality.scene import at, fills, orders, quotes, trades


def tca_rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    result = compute_tca(orders(), fills(), quotes(), trades(), cutoff=at(80))
    return result.orders, result.fills


def test_summary_when_weighted_then_vw_mean_is_the_aggregate_ratio() -> None:
    o, f = tca_rows()
    summary = daily_summary(o, f)
    whole = summary[summary["group_by"] == "all"].set_index("metric")

    assert tuple(summary.columns) == SUMMARY_COLUMNS
    # IS bps weighted by Q * Pd is total IS over total paper notional (D has no IS).
    defined = o.dropna(subset=["implementation_shortfall"])
    paper = (defined["quantity"] * defined["decision_price"]).sum()
    expected = defined["implementation_shortfall"].sum() / paper * 1e4
    assert math.isclose(whole.loc["is_bps", "vw_mean"], expected, abs_tol=1e-9)
    assert whole.loc["is_bps", "n"] == 4
    # Arrival slippage weighted by q * M0: A and B only (C and E have no fills, D no M0).
    a, b = o.set_index("order_id").loc["A"], o.set_index("order_id").loc["B"]
    cost = 100 * (a["avg_price"] - 100.00) + -1 * 80 * (b["avg_price"] - 100.10)
    assert math.isclose(
        whole.loc["arrival_slippage_bps", "vw_mean"],
        cost / (100 * 100.00 + 80 * 100.10) * 1e4,
        abs_tol=1e-9,
    )
    assert math.isclose(
        whole.loc["arrival_slippage_bps", "median"],
        (a["arrival_slippage_bps"] + b["arrival_slippage_bps"]) / 2,
        abs_tol=1e-9,
    )
    assert whole.loc["markout_bps_60s", "n"] == 5


def test_summary_when_grouped_then_every_dimension_and_value_appears() -> None:
    o, f = tca_rows()
    summary = daily_summary(o, f)

    fill_rate = summary[summary["metric"] == "fill_rate"]
    groups = {(g, v) for g, v in zip(fill_rate["group_by"], fill_rate["group_value"], strict=True)}
    assert groups == {
        ("all", "all"),
        ("symbol", "AAPL"),
        ("symbol", "MSFT"),
        ("symbol", "NEWCO"),  # D has no decision price, so no weight, but a fill rate
        ("account", "alice"),
        ("account", "bob"),
        ("side", "BUY"),
        ("side", "SELL"),
        ("order_type", "LIMIT"),
        ("order_type", "MARKET"),
    }
    sells = fill_rate[(fill_rate["group_by"] == "side") & (fill_rate["group_value"] == "SELL")]
    # B (80 of 200 at Pd 100.50) and E (0 of 10 at 100.20): notional fill rate.
    expected = (80 * 100.50) / (200 * 100.50 + 10 * 100.20)
    assert math.isclose(sells["vw_mean"].iloc[0], expected, abs_tol=1e-9)
    assert sells["n"].iloc[0] == 2


def test_outliers_when_one_value_is_far_then_only_it_is_flagged() -> None:
    values = pd.Series([1.0, 2.0, 3.0, 2.0, 1.0, 3.0, 2.0, 40.0])
    # median 2, |x - 2| = 1,0,1,0,1,1,0,38: MAD 1, robust std 1.4826; 3 x 1.4826 = 4.45
    assert list(robust_outliers(values)) == [False] * 7 + [True]


def test_outliers_when_most_values_equal_then_mean_deviation_scales_them() -> None:
    values = pd.Series([5.0] * 9 + [6.0])
    # MAD is 0; mean |x - 5| = 0.1, robust std 0.12533: 6 is 7.98 of them away.
    assert list(robust_outliers(values)) == [False] * 9 + [True]
    assert not robust_outliers(pd.Series([5.0] * 10)).any()
    assert not robust_outliers(pd.Series([np.nan, 1.0])).any()


def test_outlier_orders_when_day_has_one_then_it_is_listed_with_its_robust_z() -> None:
    frame = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(8)],
            "account": "a",
            "symbol": "S",
            "side": "BUY",
            "order_type": "LIMIT",
            "arrival_slippage_bps": [1.0, 2.0, 3.0, 2.0, 1.0, 3.0, 2.0, 40.0],
        }
    )

    found = outlier_orders(frame, ["arrival_slippage_bps"])

    assert list(found["order_id"]) == ["o7"]
    assert math.isclose(found["robust_z"].iloc[0], 38 / 1.4826, abs_tol=1e-9)


def test_summary_when_no_rows_then_empty_with_columns() -> None:
    o, f = tca_rows()
    summary = daily_summary(o.head(0), f.head(0))

    assert summary.empty and tuple(summary.columns) == SUMMARY_COLUMNS
