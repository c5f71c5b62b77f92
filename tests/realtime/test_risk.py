"""Pre-trade checks: one table row per reason code, plus the clean pass."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from realtime.domain import (
    Instrument,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    TradingState,
    on_tick_grid,
)
from realtime.limits import AccountLimits
from realtime.risk import (
    CHECKS,
    RejectReason,
    RiskContext,
    duplicate_client_order_id,
    evaluate,
)

LIMITS = AccountLimits(
    max_order_quantity=1_000,
    max_order_notional=100_000.0,
    max_position=2_000,
    max_gross_exposure=500_000.0,
    starting_cash=100_000.0,
    max_leverage=4.0,
    max_orders_per_second=10.0,
    order_burst=10,
    price_collar_pct=5.0,
)

BASE_CTX = RiskContext(
    instrument=Instrument(symbol="AAPL", tick_size=0.01, lot_size=10),
    limits=LIMITS,
    trading_state=TradingState.ACTIVE,
    reference_price=100.0,
    position=0,
    open_buy=0,
    open_sell=0,
    gross_exposure=0.0,
    open_notional=0.0,
    equity=100_000.0,
    throttle_ok=True,
    restricted=False,
)

BASE_REQ = OrderRequest(
    client_order_id="c1",
    symbol="AAPL",
    side=Side.BUY,
    quantity=100,
    order_type=OrderType.LIMIT,
    limit_price=100.0,
    time_in_force=TimeInForce.DAY,
)


def req(**changes: Any) -> OrderRequest:
    return msgspec.structs.replace(BASE_REQ, **changes)


def ctx(**changes: Any) -> RiskContext:
    return msgspec.structs.replace(BASE_CTX, **changes)


CASES = [
    (RejectReason.UNKNOWN_SYMBOL, req(), ctx(instrument=None)),
    (
        RejectReason.SYMBOL_NOT_TRADABLE,
        req(),
        ctx(instrument=Instrument(symbol="AAPL", tick_size=0.01, tradable=False)),
    ),
    (RejectReason.TRADING_HALTED, req(), ctx(trading_state=TradingState.HALTED)),
    (RejectReason.REDUCE_ONLY, req(), ctx(trading_state=TradingState.REDUCING)),
    (RejectReason.INVALID_QUANTITY, req(quantity=0), ctx()),
    (RejectReason.INVALID_QUANTITY, req(quantity=-10), ctx()),
    (RejectReason.LOT_SIZE_VIOLATION, req(quantity=105), ctx()),
    (RejectReason.MAX_ORDER_QUANTITY, req(quantity=1_010), ctx()),
    (RejectReason.MISSING_LIMIT_PRICE, req(limit_price=None), ctx()),
    (RejectReason.UNEXPECTED_LIMIT_PRICE, req(order_type=OrderType.MARKET), ctx()),
    (RejectReason.INVALID_PRICE, req(limit_price=-1.0), ctx()),
    (RejectReason.INVALID_PRICE, req(limit_price=float("nan")), ctx()),
    (RejectReason.INVALID_PRICE, req(limit_price=float("inf")), ctx()),
    (RejectReason.OFF_TICK_PRICE, req(limit_price=100.005), ctx()),
    (RejectReason.NO_REFERENCE_PRICE, req(), ctx(reference_price=None)),
    (RejectReason.PRICE_OUTSIDE_COLLAR, req(limit_price=105.01), ctx()),
    (RejectReason.PRICE_OUTSIDE_COLLAR, req(limit_price=94.99), ctx()),
    (RejectReason.MAX_ORDER_NOTIONAL, req(quantity=1_000, limit_price=101.0), ctx()),
    (RejectReason.POSITION_LIMIT, req(), ctx(position=1_950)),
    (RejectReason.POSITION_LIMIT, req(), ctx(open_buy=1_950)),
    (RejectReason.POSITION_LIMIT, req(side=Side.SELL), ctx(open_sell=1_950)),
    (RejectReason.GROSS_EXPOSURE_LIMIT, req(), ctx(gross_exposure=495_000.0)),
    (RejectReason.GROSS_EXPOSURE_LIMIT, req(), ctx(open_notional=495_000.0)),
    (RejectReason.INSUFFICIENT_BUYING_POWER, req(), ctx(equity=2_000.0)),
    (RejectReason.RATE_LIMITED, req(), ctx(throttle_ok=False)),
    (RejectReason.RESTRICTED_SYMBOL, req(), ctx(restricted=True)),
]


@pytest.mark.parametrize(("reason", "request_", "context"), CASES, ids=lambda v: str(v)[:40])
def test_evaluate_when_one_limit_breached_then_rejects_with_its_reason(
    reason: RejectReason, request_: OrderRequest, context: RiskContext
) -> None:
    rejection = evaluate(request_, context)
    assert rejection is not None
    assert rejection.reason is reason
    assert rejection.detail


def test_every_reason_code_has_a_table_row() -> None:
    # A duplicate client_order_id is decided by the engine's idempotency lookup, first.
    engine_decided = {RejectReason.DUPLICATE_CLIENT_ORDER_ID}
    assert {case[0] for case in CASES} == set(RejectReason) - engine_decided


def test_duplicate_client_order_id_when_built_then_stable_code_naming_the_id() -> None:
    rejection = duplicate_client_order_id(BASE_REQ)
    assert rejection.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
    assert repr(BASE_REQ.client_order_id) in rejection.detail


@pytest.mark.parametrize(("reason", "request_", "context"), CASES)
def test_evaluate_when_any_case_then_same_verdict_as_running_checks_in_order(
    reason: RejectReason, request_: OrderRequest, context: RiskContext
) -> None:
    looped = next(
        (r for r in (check(request_, context) for check in CHECKS) if r is not None), None
    )
    assert evaluate(request_, context) == looped


# One case per adjacent pair of CHECKS, breaching both: a single breach cannot tell
# the order of two checks apart, so these are what holds evaluate's `or` chain to
# CHECKS' order (swapping two neighbours in evaluate fails that pair's case).
UNTRADABLE = Instrument(symbol="AAPL", tick_size=0.01, lot_size=10, tradable=False)
PAIR_BREACHES = [
    (req(), ctx(instrument=UNTRADABLE, trading_state=TradingState.HALTED)),
    (req(quantity=1_010), ctx(trading_state=TradingState.HALTED)),
    (req(quantity=1_010, limit_price=105.01), ctx()),
    (req(quantity=1_000, limit_price=105.01), ctx()),
    (req(quantity=1_000, limit_price=101.0), ctx(position=1_950)),
    (req(), ctx(position=1_950, gross_exposure=495_000.0)),
    (req(), ctx(gross_exposure=495_000.0, equity=2_000.0)),
    (req(), ctx(equity=2_000.0, throttle_ok=False)),
    (req(), ctx(throttle_ok=False, restricted=True)),
]


def test_pair_breaches_cover_every_adjacent_pair_of_checks() -> None:
    assert len(PAIR_BREACHES) == len(CHECKS) - 1


@pytest.mark.parametrize("index", range(len(PAIR_BREACHES)))
def test_evaluate_when_two_adjacent_checks_breached_then_the_earlier_in_checks_wins(
    index: int,
) -> None:
    request_, context = PAIR_BREACHES[index]
    first, second = CHECKS[index], CHECKS[index + 1]
    earlier = first(request_, context)
    assert earlier is not None, f"case {index} does not breach {first.__name__}"
    assert second(request_, context) is not None, f"case {index} does not breach {second.__name__}"
    looped = next(r for r in (check(request_, context) for check in CHECKS) if r is not None)
    assert looped == earlier
    assert evaluate(request_, context) == looped


def test_evaluate_when_order_valid_then_passes_every_check() -> None:
    assert all(check(BASE_REQ, BASE_CTX) is None for check in CHECKS)
    assert evaluate(BASE_REQ, BASE_CTX) is None


def test_evaluate_when_market_order_then_valued_at_reference_price() -> None:
    market = req(order_type=OrderType.MARKET, limit_price=None, quantity=1_000)
    assert evaluate(market, ctx(reference_price=99.0)) is None
    rejection = evaluate(market, ctx(reference_price=101.0))
    assert rejection is not None and rejection.reason is RejectReason.MAX_ORDER_NOTIONAL


def test_evaluate_when_several_breached_then_first_in_order_wins() -> None:
    rejection = evaluate(req(quantity=105), ctx(trading_state=TradingState.HALTED, restricted=True))
    assert rejection is not None and rejection.reason is RejectReason.TRADING_HALTED


def test_reducing_state_when_order_shrinks_position_then_admitted() -> None:
    sell = req(side=Side.SELL, quantity=100)
    assert evaluate(sell, ctx(trading_state=TradingState.REDUCING, position=200)) is None
    # Same-side open orders count: 150 already working to sell leaves only 50 to reduce.
    rejection = evaluate(
        sell, ctx(trading_state=TradingState.REDUCING, position=200, open_sell=150)
    )
    assert rejection is not None and rejection.reason is RejectReason.REDUCE_ONLY


def test_exposure_checks_when_order_reduces_position_then_skipped() -> None:
    sell = req(side=Side.SELL, quantity=100)
    assert evaluate(sell, ctx(position=500, gross_exposure=600_000.0, equity=1.0)) is None


@pytest.mark.parametrize(
    ("price", "tick", "expected"),
    [(190.01, 0.01, True), (190.015, 0.01, False), (5600.25, 0.25, True), (5600.1, 0.25, False)],
)
def test_on_tick_grid(price: float, tick: float, expected: bool) -> None:
    assert on_tick_grid(price, tick) is expected
