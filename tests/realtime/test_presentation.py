"""The presentation boundary (realtime.presentation, realtime.views) and the contract
multiplier in the state's money figures."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from realtime import events as ev
from realtime.domain import Instrument, OrderRequest, OrderType, Side
from realtime.instruments import load_universe
from realtime.presentation import (
    Precision,
    iso_utc,
    price_decimals,
    round_money,
    round_warehouse_prices,
)
from realtime.snapshot_format import decode_snapshot, encode_snapshot
from realtime.state import EngineState
from realtime.views import event_view
from tests.realtime.harness import make_limits

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_795_703_400_000_000_000  # 2026-11-26 14:30:00 UTC


@pytest.mark.parametrize(("tick", "decimals"), [(0.01, 3), (0.25, 3), (0.5, 2), (1.0, 1), (5.0, 1)])
def test_price_decimals_when_tick_given_then_half_a_tick_is_exact(
    tick: float, decimals: int
) -> None:
    assert price_decimals(tick) == decimals


def test_round_when_binary_noise_then_the_decimal_a_person_expects() -> None:
    aapl = Precision({"AAPL": Instrument(symbol="AAPL", tick_size=0.01)})
    assert aapl.price("AAPL", 191.07999999999998) == 191.08
    assert aapl.price("AAPL", 190.01 + 0.005) == 190.015  # a mid stays exact
    assert round_money(-43.44000000000017) == -43.44
    assert aapl.price("ZZZ", 1.0000000000000002) == 1.0  # unknown symbol: noise only


def test_iso_utc_when_nanoseconds_then_utc_with_microseconds() -> None:
    assert iso_utc(T0 + 123_456_789) == "2026-11-26T14:30:00.123456Z"
    assert iso_utc(0) == "1970-01-01T00:00:00.000000Z"


def test_warehouse_rounding_when_price_on_grid_or_a_mid_then_equals_the_api_rounding() -> None:
    """The warehouse has no universe; for the prices it holds (grid prices and mids) its
    rounding gives the same float as the API's tick-precision rounding."""
    instruments = load_universe(ROOT / "config" / "instruments.toml").by_symbol()
    precision = Precision(instruments)
    rng = random.Random(12)
    for symbol, instrument in instruments.items():
        tick = instrument.tick_size
        values = []
        for _ in range(500):
            steps = rng.randrange(1, 2_000_000)
            values += [steps * tick, (steps * tick + (steps + 1) * tick) / 2.0]
        api = [precision.price(symbol, v) for v in values]
        warehouse = round_warehouse_prices(pd.Series(values)).tolist()
        assert api == warehouse, symbol


def test_event_view_when_fill_then_rounded_price_fee_and_iso_time() -> None:
    precision = Precision({"AAPL": Instrument(symbol="AAPL", tick_size=0.01)})
    fill = ev.OrderFilled(
        ts_ns=T0,
        order_id="O1",
        fill_id="F1",
        account="alice",
        symbol="AAPL",
        side=Side.BUY,
        quantity=3,
        price=190.01000000000002,
        liquidity="TAKER",
        fee=0.028501500000000003,
    )
    view = event_view(fill, "AAPL", precision)
    assert view["type"] == "OrderFilled"
    assert (view["price"], view["fee"]) == (190.01, 0.03)
    assert view["ts"] == "2026-11-26T14:30:00.000000Z" and view["ts_ns"] == T0


# --- the contract multiplier in the state ----------------------------------------------

ES = Instrument(symbol="ES", tick_size=0.25, multiplier=50.0)
# A fractional-lot instrument listed in its smallest unit: 0.001 BTC, priced per BTC.
BTC_MILLI = Instrument(symbol="BTCUSD.MILLI", tick_size=0.5, multiplier=0.001)


def _state() -> EngineState:
    return EngineState({"ES": ES, "BTCUSD.MILLI": BTC_MILLI}, make_limits())


def _buy(state: EngineState, order_id: str, symbol: str, quantity: int, price: float) -> None:
    request = OrderRequest(
        client_order_id=order_id,
        symbol=symbol,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=price,
    )
    state.apply(
        ev.OrderAccepted(
            ts_ns=T0, order_id=order_id, account="a", request=request, reference_price=price
        )
    )


def _fill(
    state: EngineState, order_id: str, symbol: str, side: Side, qty: int, price: float
) -> None:
    state.apply(
        ev.OrderFilled(
            ts_ns=T0,
            order_id=order_id,
            fill_id=f"F{order_id}",
            account="a",
            symbol=symbol,
            side=side,
            quantity=qty,
            price=price,
            liquidity="TAKER",
        )
    )


def test_state_when_future_bought_then_open_notional_exposure_and_pnl_are_50x() -> None:
    state = _state()
    _buy(state, "O1", "ES", 2, 5600.0)
    assert state.accounts["a"].open_notional == 2 * 5600.0 * 50
    _fill(state, "O1", "ES", Side.BUY, 2, 5600.0)
    book = state.accounts["a"]
    assert book.open_notional == 0.0
    assert book.gross_exposure == 2 * 5600.0 * 50
    state.apply(
        ev.PriceSampled(ts_ns=T0, symbol="ES", bid=5610.0, ask=5610.5, bid_size=1, ask_size=1)
    )
    assert book.unrealized_pnl == pytest.approx((5610.25 - 5600.0) * 2 * 50)
    assert book.gross_exposure == pytest.approx(2 * 5610.25 * 50)
    # Sell one at 5620: realizes 20 points x 50 on one contract.
    state.apply(
        ev.OrderAccepted(
            ts_ns=T0,
            order_id="O2",
            account="a",
            reference_price=5620.0,
            request=OrderRequest(
                client_order_id="O2",
                symbol="ES",
                side=Side.SELL,
                quantity=1,
                order_type=OrderType.LIMIT,
                limit_price=5620.0,
            ),
        )
    )
    _fill(state, "O2", "ES", Side.SELL, 1, 5620.0)
    assert book.realized_pnl == pytest.approx(20.0 * 50)
    # A snapshot rebuilds the same money.
    restored = EngineState.from_snapshot(
        decode_snapshot(encode_snapshot(state.snapshot())), state.instruments, state.limits
    )
    again = restored.accounts["a"]
    assert again.gross_exposure == pytest.approx(book.gross_exposure)
    assert again.unrealized_pnl == pytest.approx(book.unrealized_pnl)
    assert again.realized_pnl == pytest.approx(book.realized_pnl)


def test_state_when_milli_btc_units_traded_then_money_is_per_whole_btc() -> None:
    state = _state()
    _buy(state, "O1", "BTCUSD.MILLI", 250, 65000.0)  # 0.25 BTC
    _fill(state, "O1", "BTCUSD.MILLI", Side.BUY, 250, 65000.0)
    book = state.accounts["a"]
    assert book.gross_exposure == pytest.approx(0.25 * 65000.0)
    state.apply(
        ev.PriceSampled(
            ts_ns=T0, symbol="BTCUSD.MILLI", bid=66000.0, ask=66000.0, bid_size=1, ask_size=1
        )
    )
    assert book.unrealized_pnl == pytest.approx(0.25 * 1000.0)
