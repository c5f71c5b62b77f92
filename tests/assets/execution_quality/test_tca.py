"""The TCA library on hand-computed cases: every expected value is worked out here,
on the scene of `tests.assets.execution_quality.scene`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assets.execution_quality.tca import (
    ORDER_COLUMNS,
    TcaInputError,
    asof_mid,
    compute_tca,
    fill_columns,
)
from tests.assets.execution_quality.scene import US, T, at, fills, orders, quotes, trades

TOL = 1e-9


def run(**overrides: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    inputs: dict[str, object] = {
        "orders": orders(),
        "fills": fills(),
        "quotes": quotes(),
        "trades": trades(),
        "cutoff": at(80),
    }
    inputs.update(overrides)
    result = compute_tca(**inputs)  # type: ignore[arg-type]
    return result.orders.set_index("order_id"), result.fills.set_index("fill_id")


def close(actual: object, expected: float) -> bool:
    return math.isclose(float(actual), expected, rel_tol=0.0, abs_tol=TOL)  # type: ignore[arg-type]


def assert_values(row: pd.Series, expected: dict[str, float | None]) -> None:
    for column, value in expected.items():
        if value is None:
            assert pd.isna(row[column]), (column, row[column])
        else:
            assert close(row[column], value), (column, row[column], value)


# --- per order --------------------------------------------------------------------


def test_buy_filled_when_no_decision_price_then_benchmarks_are_the_arrival_mid() -> None:
    o, _ = run()
    a = o.loc["A"]

    avg = (60 * 100.12 + 40 * 100.10) / 100  # 100.112
    twap = (100.00 * 5 + 100.10 * 2) / 7  # mid 100.00 over 5..10 s, 100.10 over 10..12 s
    vwap = (100 * 100.00 + 200 * 100.05 + 100 * 100.10) / 400  # prints at 5, 8 and 12 s
    assert a["decision_price_source"] == "ARRIVAL_MID"
    assert a["arrival_quote_time"] == at(0)
    assert a["window_end"] == at(12)  # the last fill
    assert pd.isna(a["opportunity_time"])
    assert a["flags"] == ""
    assert_values(
        a,
        {
            "avg_price": avg,
            "arrival_mid": 100.00,
            "decision_price": 100.00,
            "fill_rate": 1.0,
            "arrival_slippage_bps": (avg - 100.00) / 100.00 * 1e4,  # +11.2: paid up
            "arrival_spread_bps": 0.04 / 100.00 * 1e4,
            "is_delay": 0.0,
            "is_execution": 100 * (avg - 100.00),  # 11.2
            "is_opportunity": 0.0,
            "is_fees": 0.0,
            "implementation_shortfall": 11.2,
            "is_bps": 11.2 / (100 * 100.00) * 1e4,
            "end_mid": None,
            "market_volume": 400,
            "market_vwap": vwap,
            "vwap_slippage_bps": (avg - vwap) / vwap * 1e4,
            "twap_mid": twap,
            "twap_slippage_bps": (avg - twap) / twap * 1e4,
            "participation_rate": 100 / 400,
        },
    )


def test_sell_partial_when_decision_price_stale_then_every_is_component_is_nonzero() -> None:
    o, _ = run()
    b = o.loc["B"]

    q, big_q, pd_, m0, pc, fees = 80, 200, 100.50, 100.10, 100.20, 0.80
    avg = (50 * 100.06 + 30 * 100.04) / 80  # 100.0525
    delay = -1 * q * (m0 - pd_)  # +32.0: the price fell between decision and arrival
    execution = -1 * q * (avg - m0)  # +3.8
    opportunity = -1 * (big_q - q) * (pc - pd_)  # +36.0: the unsold 120 are worth less
    total = fees + delay + execution + opportunity  # 72.6
    perold = fees + -1 * q * (avg - pd_) + -1 * (big_q - q) * (pc - pd_)
    # mid 100.10 for 1 us, 100.05 over 15..20 s, 100.20 over 20..25 s; 10.000001 s in all
    twap = (100.10 * 1e-6 + 100.05 * 5 + 100.20 * 5) / 10.000001
    vwap = (300 * 100.05 + 100 * 100.20) / 400  # prints at 15 s and 25 s (both ends in)
    assert b["arrival_quote_time"] == at(10)  # not the quote 1 us after the submit
    assert b["opportunity_time"] == at(25)
    assert b["end_quote_time"] == at(20)
    assert b["window_end"] == at(25)  # the cancel
    assert b["decision_price_source"] == "ORDER"
    assert b["flags"] == ""
    assert close(total, 72.6) and close(perold, 72.6)
    assert_values(
        b,
        {
            "filled_quantity": q,
            "fill_rate": 0.4,
            "avg_price": avg,
            "fees": fees,
            "arrival_mid": m0,
            "end_mid": pc,
            "arrival_slippage_bps": -1 * (avg - m0) / m0 * 1e4,
            "is_delay": delay,
            "is_execution": execution,
            "is_opportunity": opportunity,
            "is_fees": fees,
            "implementation_shortfall": total,
            "is_bps": total / (big_q * pd_) * 1e4,
            "is_delay_bps": delay / (big_q * pd_) * 1e4,
            "is_execution_bps": execution / (big_q * pd_) * 1e4,
            "is_opportunity_bps": opportunity / (big_q * pd_) * 1e4,
            "is_fees_bps": fees / (big_q * pd_) * 1e4,
            "market_volume": 400,
            "market_vwap": vwap,
            "vwap_slippage_bps": -1 * (avg - vwap) / vwap * 1e4,
            "twap_mid": twap,
            "twap_slippage_bps": -1 * (avg - twap) / twap * 1e4,
            "participation_rate": 80 / 400,
        },
    )
    for component in ("is_delay", "is_execution", "is_opportunity", "is_fees"):
        assert b[component] != 0


def test_order_when_no_fills_then_shortfall_is_opportunity_and_slippages_are_null() -> None:
    o, _ = run()
    c = o.loc["C"]

    assert c["flags"] == "NO_FILLS,NO_MARKET_VOLUME"
    assert c["fill_count"] == 0
    assert c["window_start"] == c["window_end"] == at(30)
    assert_values(
        c,
        {
            "filled_quantity": 0,
            "fill_rate": 0.0,
            "avg_price": None,
            "arrival_slippage_bps": None,
            "vwap_slippage_bps": None,
            "twap_slippage_bps": None,
            "arrival_mid": 200.20,
            "end_mid": 200.20,  # as of the rejection, the same instant
            "is_delay": 0.0,
            "is_execution": 0.0,
            "is_opportunity": 50 * (200.20 - 199.80),  # 20.0
            "implementation_shortfall": 20.0,
            "is_bps": 20.0 / (50 * 199.80) * 1e4,
            "twap_mid": 200.20,  # a zero-length window: the mid at its start
            "market_volume": 0,
            "market_vwap": None,
            "participation_rate": None,
        },
    )


def test_order_when_no_quote_before_submit_then_arrival_is_null_and_flagged() -> None:
    o, _ = run()
    d = o.loc["D"]

    assert d["flags"] == "NO_ARRIVAL_QUOTE,NO_MARKET_VOLUME"
    assert pd.isna(d["arrival_quote_time"])
    assert d["end_quote_time"] == at(1) + US  # the remainder is priced at expiry (3 s)
    assert_values(
        d,
        {
            "arrival_mid": None,
            "decision_price": None,
            "arrival_slippage_bps": None,
            "is_delay": None,
            "is_execution": None,
            "implementation_shortfall": None,
            "is_bps": None,
            "twap_mid": None,
            "avg_price": 50.0,
            "fill_rate": 0.5,
            "end_mid": 50.0,
        },
    )


def test_order_when_no_arrival_quote_but_decision_price_given_then_is_is_perold() -> None:
    given = orders()
    given.loc[given["order_id"] == "D", "decision_price"] = 49.0
    o, _ = run(orders=given)
    d = o.loc["D"]

    # fees 0 + s q (avg - Pd) + s (Q - q)(Pc - Pd) = 5 * 1.0 + 5 * 1.0
    assert_values(
        d,
        {
            "implementation_shortfall": 10.0,
            "is_bps": 10.0 / (10 * 49.0) * 1e4,
            "is_delay": None,
            "is_execution": None,
            "is_opportunity": 5 * (50.0 - 49.0),
        },
    )
    assert "NO_ARRIVAL_QUOTE" in d["flags"]


def test_order_when_open_at_cutoff_then_remainder_is_marked_at_the_cutoff_mid() -> None:
    o, _ = run()
    e = o.loc["E"]

    assert e["flags"] == "NO_FILLS,OPEN_AT_CUTOFF,NO_MARKET_VOLUME"
    assert e["opportunity_time"] == at(80)
    assert e["window_end"] == at(80)
    assert e["end_quote_time"] == at(70)
    # A sell whose price then rose 10 cents: a gain of 1.00, negative IS.
    assert_values(
        e,
        {
            "arrival_mid": 100.20,
            "end_mid": 100.30,
            "is_opportunity": -1 * 10 * (100.30 - 100.20),
            "implementation_shortfall": -1.0,
            "is_bps": -1.0 / (10 * 100.20) * 1e4,
            "twap_mid": (100.20 * 10 + 100.30 * 10) / 20,  # 60..70 s and 70..80 s
        },
    )


def test_orders_when_computed_then_columns_and_is_identity_hold_exactly() -> None:
    result = compute_tca(orders(), fills(), quotes(), trades(), cutoff=at(80))
    o = result.orders

    assert tuple(o.columns) == ORDER_COLUMNS
    assert list(o["order_id"]) == ["A", "B", "C", "D", "E"]
    parts = o["is_fees"] + o["is_delay"] + o["is_execution"] + o["is_opportunity"]
    defined = parts.notna()
    assert (o.loc[defined, "implementation_shortfall"] == parts[defined]).all()  # exact
    assert (o.loc[~defined, "flags"].str.contains("NO_ARRIVAL_QUOTE")).all()


def test_fees_when_column_absent_or_null_then_zero() -> None:
    o, f = run(fills=fills(with_fees=False))

    assert (f["fee"] == 0.0).all()
    assert o.loc["B", "fees"] == 0.0
    assert close(o.loc["B", "implementation_shortfall"], 32.0 + 3.8 + 36.0)


def test_decision_price_when_column_absent_then_arrival_mid() -> None:
    o, _ = run(orders=orders().drop(columns=["decision_price"]))

    assert (o["decision_price_source"] == "ARRIVAL_MID").all()
    assert close(o.loc["B", "decision_price"], 100.10)
    assert o.loc["B", "is_delay"] == 0.0


# --- per fill ---------------------------------------------------------------------


def test_buy_fill_when_quote_at_exactly_the_fill_time_then_it_is_the_as_of_quote() -> None:
    _, f = run()
    a1 = f.loc["a1"]

    p, m_t = 100.12, 100.10
    assert a1["quote_time"] == at(10)
    assert a1["quote_time_5s"] == at(15)  # exactly t + 5 s
    assert a1["quote_time_60s"] == at(70)  # exactly t + 60 s
    assert a1["quote_time_30s"] == at(20)
    expected_mids = {"1s": 100.10, "5s": 100.05, "30s": 100.20, "60s": 100.30}
    values: dict[str, float | None] = {
        "mid": m_t,
        "effective_spread": 2 * (p - m_t),  # 0.04
        "effective_spread_bps": 2 * (p - m_t) / m_t * 1e4,
        "notional": 60 * p,
    }
    for label, m_h in expected_mids.items():
        values[f"mid_{label}"] = m_h
        values[f"realized_spread_{label}"] = 2 * (p - m_h)
        values[f"price_impact_bps_{label}"] = (m_h - m_t) / m_t * 1e4
        values[f"markout_bps_{label}"] = (m_h - p) / p * 1e4
    assert_values(a1, values)
    assert a1["markout_bps_5s"] < 0 < a1["markout_bps_60s"]  # adverse, then favourable


def test_sell_fill_when_priced_above_mid_then_effective_spread_is_negative() -> None:
    _, f = run()
    b1 = f.loc["b1"]

    p, m_t, s = 100.06, 100.05, -1
    assert b1["side"] == "SELL" and b1["account"] == "bob" and b1["order_type"] == "LIMIT"
    assert_values(
        b1,
        {
            "fee": 0.50,
            "mid": m_t,
            "effective_spread": 2 * s * (p - m_t),  # -0.02: sold above the mid
            "effective_spread_bps": 2 * s * (p - m_t) / m_t * 1e4,
            "mid_1s": 100.05,
            "mid_5s": 100.20,  # 21 s: the 20 s quote
            "realized_spread_5s": 2 * s * (p - 100.20),
            "price_impact_bps_5s": s * (100.20 - m_t) / m_t * 1e4,
            "markout_bps_5s": s * (100.20 - p) / p * 1e4,  # negative: it rose after we sold
            "markout_bps_60s": s * (100.30 - p) / p * 1e4,
        },
    )


def test_fills_when_computed_then_effective_is_realized_plus_twice_impact() -> None:
    result = compute_tca(orders(), fills(), quotes(), trades(), cutoff=at(80))
    f = result.fills

    assert tuple(f.columns) == fill_columns()
    for label in ("1s", "5s", "30s", "60s"):
        rebuilt = (
            f[f"realized_spread_{label}"] + 2 * f[f"price_impact_bps_{label}"] * f["mid"] / 1e4
        )
        assert np.allclose(rebuilt, f["effective_spread"], rtol=0, atol=TOL)


def test_fills_when_horizons_configured_then_columns_follow_them() -> None:
    result = compute_tca(orders(), fills(), quotes(), trades(), horizons_s=(0.5, 2), cutoff=at(80))
    f = result.fills.set_index("fill_id")

    assert tuple(result.fills.columns) == fill_columns((0.5, 2))
    assert "markout_bps_500ms" in f.columns and "markout_bps_2s" in f.columns
    assert f.loc["b1", "quote_time_2s"] == at(15)  # 18 s: still the 15 s quote
    assert close(f.loc["d1", "markout_bps_500ms"], 0.0)


def test_fill_when_no_quote_yet_then_null_and_flagged() -> None:
    early = quotes()
    early = early[early["symbol"] != "NEWCO"]
    _, f = run(quotes=early)

    assert f.loc["d1", "flags"] == "NO_QUOTE"
    assert pd.isna(f.loc["d1", "mid"]) and pd.isna(f.loc["d1", "markout_bps_60s"])


# --- as-of lookups ----------------------------------------------------------------


def test_asof_when_symbols_interleave_then_each_lookup_uses_its_own_latest_quote() -> None:
    rng = np.random.default_rng(7)
    n = 3_000
    symbols = rng.choice(["AAA", "BBB", "CCC"], size=n)
    offsets = np.sort(rng.integers(0, 50_000, size=n))  # microseconds, with ties
    book = pd.DataFrame(
        {
            "symbol": symbols,
            "time": T + pd.to_timedelta(offsets, unit="us"),
            "bid": 100 + rng.random(n),
            "ask": 101 + rng.random(n),
        }
    )
    probe_symbols = rng.choice(["AAA", "BBB", "CCC", "ZZZ"], size=500)
    probe_times = T + pd.to_timedelta(rng.integers(-100, 50_100, size=500), unit="us")

    found = asof_mid(book, list(probe_symbols), list(probe_times))

    for i, (symbol, time) in enumerate(zip(probe_symbols, probe_times, strict=True)):
        mine = book[(book["symbol"] == symbol) & (book["time"] <= time)]
        if mine.empty:
            assert pd.isna(found.loc[i, "mid"]) and pd.isna(found.loc[i, "quote_time"])
            continue
        latest = mine.iloc[-1]  # the last in frame order among equal times
        assert found.loc[i, "quote_time"] == latest["time"] <= time
        assert found.loc[i, "mid"] == (latest["bid"] + latest["ask"]) / 2


def test_asof_when_quotes_arrive_unsorted_then_results_are_the_same() -> None:
    shuffled = quotes().sample(frac=1.0, random_state=3)
    ordered = run()
    reshuffled = run(quotes=shuffled)

    pd.testing.assert_frame_equal(ordered[0], reshuffled[0])
    pd.testing.assert_frame_equal(ordered[1], reshuffled[1])


def test_quotes_when_not_positive_then_skipped_and_counted() -> None:
    bad = pd.concat(
        [quotes(), pd.DataFrame([("AAPL", at(11), 0.0, 100.5)], columns=quotes().columns)]
    )
    result = compute_tca(orders(), fills(), bad, trades(), cutoff=at(80))

    assert result.quotes_skipped == 1
    assert result.fills.set_index("fill_id").loc["a2", "quote_time"] == at(10)


# --- malformed input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda o, f: (o.drop(columns=["side"]), f), "MISSING_COLUMNS"),
        (lambda o, f: (o.assign(side="buy"), f), "BAD_SIDE"),
        (lambda o, f: (o.assign(end_status="DONE"), f), "BAD_END_STATUS"),
        (lambda o, f: (o.assign(quantity=0), f), "BAD_QUANTITY"),
        (lambda o, f: (pd.concat([o, o.head(1)]), f), "DUPLICATE_ORDER_ID"),
        (lambda o, f: (o, pd.concat([f, f.head(1)])), "DUPLICATE_FILL_ID"),
        (lambda o, f: (o, f.assign(order_id="nope")), "UNKNOWN_ORDER"),
        (lambda o, f: (o, f.assign(price=-1.0)), "BAD_PRICE"),
        (lambda o, f: (o.assign(end_time=pd.NaT), f), "BAD_TIME"),
        (lambda o, f: (o.assign(end_time=at(0)), f), "BAD_TIME"),
    ],
)
def test_input_when_malformed_then_error_with_stable_code(change: object, code: str) -> None:
    bad_orders, bad_fills = change(orders(), fills())  # type: ignore[operator]

    with pytest.raises(TcaInputError) as raised:
        compute_tca(bad_orders, bad_fills, quotes(), trades())

    assert raised.value.code == code


@pytest.mark.parametrize("horizons", [(0,), (-1,), (0.0001,), (1, 1.0)])
def test_horizons_when_not_positive_whole_ms_or_repeated_then_bad_horizon(
    horizons: tuple[float, ...],
) -> None:
    with pytest.raises(TcaInputError) as raised:
        compute_tca(orders(), fills(), quotes(), trades(), horizons_s=horizons)

    assert raised.value.code == "BAD_HORIZON"


def test_inputs_when_empty_then_empty_frames_with_every_column() -> None:
    result = compute_tca(orders().head(0), fills().head(0), quotes().head(0), trades().head(0))

    assert result.orders.empty and tuple(result.orders.columns) == ORDER_COLUMNS
    assert result.fills.empty and tuple(result.fills.columns) == fill_columns()
