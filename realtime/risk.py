"""Pre-trade risk: pure checks over (order, context), evaluated in a fixed order.

Each check returns a `Rejection` (stable reason code plus a human detail) or
None. The first failing check decides; a rejection is a value the engine
journals, never an exception. `RiskContext` is a read-only snapshot of exactly
the numbers the checks need, built in O(1) from the engine's indexed state, so
the cost of a check does not grow with open orders, positions or symbols.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import msgspec

from realtime.domain import (
    TICK_TOLERANCE,
    Instrument,
    OrderRequest,
    OrderType,
    Side,
    TradingState,
)
from realtime.limits import AccountLimits


class RejectReason(StrEnum):
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    SYMBOL_NOT_TRADABLE = "SYMBOL_NOT_TRADABLE"
    TRADING_HALTED = "TRADING_HALTED"
    REDUCE_ONLY = "REDUCE_ONLY"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    LOT_SIZE_VIOLATION = "LOT_SIZE_VIOLATION"
    MAX_ORDER_QUANTITY = "MAX_ORDER_QUANTITY"
    MISSING_LIMIT_PRICE = "MISSING_LIMIT_PRICE"
    UNEXPECTED_LIMIT_PRICE = "UNEXPECTED_LIMIT_PRICE"
    INVALID_PRICE = "INVALID_PRICE"
    OFF_TICK_PRICE = "OFF_TICK_PRICE"
    NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"
    PRICE_OUTSIDE_COLLAR = "PRICE_OUTSIDE_COLLAR"
    MAX_ORDER_NOTIONAL = "MAX_ORDER_NOTIONAL"
    POSITION_LIMIT = "POSITION_LIMIT"
    GROSS_EXPOSURE_LIMIT = "GROSS_EXPOSURE_LIMIT"
    INSUFFICIENT_BUYING_POWER = "INSUFFICIENT_BUYING_POWER"
    RATE_LIMITED = "RATE_LIMITED"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    RESTRICTED_SYMBOL = "RESTRICTED_SYMBOL"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: RejectReason
    detail: str


class RiskContext(msgspec.Struct, gc=False):
    """What the checks may look at for one (account, symbol).

    A msgspec struct built positionally (`EngineState.risk_context`): constructing it
    is a fraction of a dataclass's cost, and it is built once per pre-trade check."""

    instrument: Instrument | None
    limits: AccountLimits
    trading_state: TradingState  # the stricter of the global and the account switch
    reference_price: float | None  # mid of the latest quote
    position: int  # signed
    open_buy: int  # leaves quantity of the account's open buys in this symbol
    open_sell: int
    gross_exposure: float  # account: sum |position| x mark
    open_notional: float  # account: sum leaves x risk price of open orders
    equity: float  # starting cash + realized + unrealized P&L
    throttle_ok: bool  # the account's submit-rate bucket has a token
    restricted: bool


# Members bound once: a module global is cheaper to read than an enum class attribute,
# and the checks run on every order.
_BUY: Final = Side.BUY
_SELL: Final = Side.SELL
_LIMIT: Final = OrderType.LIMIT
_MARKET: Final = OrderType.MARKET
_ACTIVE: Final = TradingState.ACTIVE
_HALTED: Final = TradingState.HALTED
_isfinite: Final = math.isfinite


def order_price(req: OrderRequest, ctx: RiskContext) -> float | None:
    """The price that values the order: its limit, else the reference price."""
    return req.limit_price if req.order_type is _LIMIT else ctx.reference_price


def reduces_position(req: OrderRequest, ctx: RiskContext) -> bool:
    """True when the order, with the same-side orders already open, only shrinks |position|."""
    position = ctx.position
    if req.side is _SELL:
        return position > 0 and ctx.open_sell + req.quantity <= position
    return position < 0 and ctx.open_buy + req.quantity <= -position


# --- the checks, in evaluation order ---------------------------------------


def check_instrument(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    instrument = ctx.instrument
    if instrument is None:
        return Rejection(RejectReason.UNKNOWN_SYMBOL, f"unknown symbol {req.symbol!r}")
    if not instrument.tradable:
        return Rejection(RejectReason.SYMBOL_NOT_TRADABLE, f"{req.symbol} is not tradable")
    return None


def check_trading_state(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    state = ctx.trading_state
    if state is _ACTIVE:
        return None
    if state is _HALTED:
        return Rejection(RejectReason.TRADING_HALTED, "trading is halted")
    if not reduces_position(req, ctx):  # REDUCING
        return Rejection(
            RejectReason.REDUCE_ONLY,
            f"trading is reduce-only and this order does not reduce the {req.symbol} position",
        )
    return None


def check_quantity(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    assert ctx.instrument is not None  # check_instrument runs first
    quantity = req.quantity
    if quantity <= 0:
        return Rejection(RejectReason.INVALID_QUANTITY, "quantity must be positive")
    lot = ctx.instrument.lot_size
    if quantity % lot:
        return Rejection(
            RejectReason.LOT_SIZE_VIOLATION,
            f"quantity {quantity} is not a multiple of the lot size {lot}",
        )
    if quantity > ctx.limits.max_order_quantity:
        return Rejection(
            RejectReason.MAX_ORDER_QUANTITY,
            f"quantity {quantity} exceeds the maximum {ctx.limits.max_order_quantity}",
        )
    return None


def check_price(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    assert ctx.instrument is not None
    price = req.limit_price
    if req.order_type is _MARKET:
        if price is not None:
            return Rejection(
                RejectReason.UNEXPECTED_LIMIT_PRICE, "a market order takes no limit price"
            )
    elif price is None:
        return Rejection(RejectReason.MISSING_LIMIT_PRICE, "a limit order needs a limit price")
    elif not (price > 0 and _isfinite(price)):
        return Rejection(RejectReason.INVALID_PRICE, "limit price must be positive and finite")
    else:
        # on_tick_grid (realtime.domain), inlined: this runs on every limit order.
        tick = ctx.instrument.tick_size
        steps = price / tick
        if abs(steps - round(steps)) > TICK_TOLERANCE:
            return Rejection(
                RejectReason.OFF_TICK_PRICE,
                f"limit price {price} is not a multiple of the tick size {tick}",
            )
    decision = req.decision_price
    if decision is not None and not (decision > 0 and _isfinite(decision)):
        return Rejection(RejectReason.INVALID_PRICE, "decision price must be positive and finite")
    ref = ctx.reference_price
    if ref is None:
        return Rejection(RejectReason.NO_REFERENCE_PRICE, f"no market price for {req.symbol} yet")
    if price is not None and abs(price - ref) > ref * ctx.limits.price_collar_pct / 100.0:
        return Rejection(
            RejectReason.PRICE_OUTSIDE_COLLAR,
            f"limit price {price} is more than {ctx.limits.price_collar_pct}% "
            f"from the reference price {ref}",
        )
    return None


def _notional(req: OrderRequest, ctx: RiskContext) -> float:
    # check_price guarantees a price: the limit, or the reference for a market order;
    # check_instrument an instrument, whose contract multiplier turns price into money.
    price = req.limit_price if req.order_type is _LIMIT else ctx.reference_price
    return req.quantity * price * ctx.instrument.multiplier  # type: ignore[operator,union-attr]


def check_notional(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    notional = _notional(req, ctx)
    if notional > ctx.limits.max_order_notional:
        return Rejection(
            RejectReason.MAX_ORDER_NOTIONAL,
            f"notional {notional:.2f} exceeds the maximum {ctx.limits.max_order_notional:.2f}",
        )
    return None


def check_position_limit(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    # Worst case: every open order on the same side fills as well as this one.
    if req.side is _BUY:
        worst = ctx.position + ctx.open_buy + req.quantity
    else:
        worst = ctx.position - ctx.open_sell - req.quantity
    if abs(worst) > ctx.limits.max_position and not reduces_position(req, ctx):
        return Rejection(
            RejectReason.POSITION_LIMIT,
            f"worst-case position {worst} in {req.symbol} would exceed {ctx.limits.max_position}",
        )
    return None


def check_gross_exposure(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    exposure = ctx.gross_exposure + ctx.open_notional + _notional(req, ctx)
    # Within the limit needs no reduce test; over it, an order that only reduces passes.
    if exposure > ctx.limits.max_gross_exposure and not reduces_position(req, ctx):
        return Rejection(
            RejectReason.GROSS_EXPOSURE_LIMIT,
            f"gross exposure {exposure:.2f} would exceed {ctx.limits.max_gross_exposure:.2f}",
        )
    return None


def check_buying_power(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    available = ctx.equity * ctx.limits.max_leverage - ctx.gross_exposure - ctx.open_notional
    notional = _notional(req, ctx)
    if notional > available and not reduces_position(req, ctx):
        return Rejection(
            RejectReason.INSUFFICIENT_BUYING_POWER,
            f"notional {notional:.2f} exceeds buying power {max(available, 0.0):.2f}",
        )
    return None


def check_rate(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    if not ctx.throttle_ok:
        return Rejection(
            RejectReason.RATE_LIMITED,
            f"more than {ctx.limits.max_orders_per_second:g} orders/s (burst "
            f"{ctx.limits.order_burst}); retry later",
        )
    return None


def duplicate_client_order_id(req: OrderRequest) -> Rejection:
    """The rejection of a request that reuses a client_order_id with different terms.

    Decided by the engine's idempotency lookup before any check runs (a conflicting
    retry is not a new order), so it is not one of `CHECKS`."""
    return Rejection(
        RejectReason.DUPLICATE_CLIENT_ORDER_ID,
        f"client_order_id {req.client_order_id!r} was already used for a different order",
    )


def check_restricted(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    if ctx.restricted:
        return Rejection(RejectReason.RESTRICTED_SYMBOL, f"{req.symbol} is on a restricted list")
    return None


Check = Callable[[OrderRequest, RiskContext], Rejection | None]

CHECKS: Final[Sequence[Check]] = (
    check_instrument,
    check_trading_state,
    check_quantity,
    check_price,
    check_notional,
    check_position_limit,
    check_gross_exposure,
    check_buying_power,
    check_rate,
    check_restricted,
)


def evaluate(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    """Run every check in `CHECKS` order; the first rejection wins.

    Written out as one `or` chain rather than a loop over `CHECKS`: a Rejection is
    always truthy, and the chain saves the loop's per-check overhead on the hot path.
    A test holds it to the same result as the loop, case by case."""
    return (
        check_instrument(req, ctx)
        or check_trading_state(req, ctx)
        or check_quantity(req, ctx)
        or check_price(req, ctx)
        or check_notional(req, ctx)
        or check_position_limit(req, ctx)
        or check_gross_exposure(req, ctx)
        or check_buying_power(req, ctx)
        or check_rate(req, ctx)
        or check_restricted(req, ctx)
    )
