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

from realtime.domain import (
    Instrument,
    OrderRequest,
    OrderType,
    Side,
    TradingState,
    on_tick_grid,
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


@dataclass(slots=True)
class RiskContext:
    """What the checks may look at for one (account, symbol)."""

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


def order_price(req: OrderRequest, ctx: RiskContext) -> float | None:
    """The price that values the order: its limit, else the reference price."""
    if req.order_type is OrderType.LIMIT:
        return req.limit_price
    return ctx.reference_price


def reduces_position(req: OrderRequest, ctx: RiskContext) -> bool:
    """True when the order, with the same-side orders already open, only shrinks |position|."""
    if req.side is Side.SELL:
        return ctx.position > 0 and ctx.open_sell + req.quantity <= ctx.position
    return ctx.position < 0 and ctx.open_buy + req.quantity <= -ctx.position


# --- the checks, in evaluation order ---------------------------------------


def check_instrument(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    if ctx.instrument is None:
        return Rejection(RejectReason.UNKNOWN_SYMBOL, f"unknown symbol {req.symbol!r}")
    if not ctx.instrument.tradable:
        return Rejection(RejectReason.SYMBOL_NOT_TRADABLE, f"{req.symbol} is not tradable")
    return None


def check_trading_state(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    if ctx.trading_state is TradingState.HALTED:
        return Rejection(RejectReason.TRADING_HALTED, "trading is halted")
    if ctx.trading_state is TradingState.REDUCING and not reduces_position(req, ctx):
        return Rejection(
            RejectReason.REDUCE_ONLY,
            f"trading is reduce-only and this order does not reduce the {req.symbol} position",
        )
    return None


def check_quantity(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    assert ctx.instrument is not None  # check_instrument runs first
    if req.quantity <= 0:
        return Rejection(RejectReason.INVALID_QUANTITY, "quantity must be positive")
    if req.quantity % ctx.instrument.lot_size:
        return Rejection(
            RejectReason.LOT_SIZE_VIOLATION,
            f"quantity {req.quantity} is not a multiple of the lot size {ctx.instrument.lot_size}",
        )
    if req.quantity > ctx.limits.max_order_quantity:
        return Rejection(
            RejectReason.MAX_ORDER_QUANTITY,
            f"quantity {req.quantity} exceeds the maximum {ctx.limits.max_order_quantity}",
        )
    return None


def check_price(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    assert ctx.instrument is not None
    price = req.limit_price
    if req.order_type is OrderType.MARKET:
        if price is not None:
            return Rejection(
                RejectReason.UNEXPECTED_LIMIT_PRICE, "a market order takes no limit price"
            )
    elif price is None:
        return Rejection(RejectReason.MISSING_LIMIT_PRICE, "a limit order needs a limit price")
    elif not math.isfinite(price) or price <= 0:
        return Rejection(RejectReason.INVALID_PRICE, "limit price must be positive and finite")
    elif not on_tick_grid(price, ctx.instrument.tick_size):
        return Rejection(
            RejectReason.OFF_TICK_PRICE,
            f"limit price {price} is not a multiple of the tick size {ctx.instrument.tick_size}",
        )
    decision = req.decision_price
    if decision is not None and not (math.isfinite(decision) and decision > 0):
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
    price = order_price(req, ctx)
    assert price is not None  # check_price guarantees a price
    return req.quantity * price


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
    if req.side is Side.BUY:
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
    if reduces_position(req, ctx):
        return None
    exposure = ctx.gross_exposure + ctx.open_notional + _notional(req, ctx)
    if exposure > ctx.limits.max_gross_exposure:
        return Rejection(
            RejectReason.GROSS_EXPOSURE_LIMIT,
            f"gross exposure {exposure:.2f} would exceed {ctx.limits.max_gross_exposure:.2f}",
        )
    return None


def check_buying_power(req: OrderRequest, ctx: RiskContext) -> Rejection | None:
    if reduces_position(req, ctx):
        return None
    available = ctx.equity * ctx.limits.max_leverage - ctx.gross_exposure - ctx.open_notional
    notional = _notional(req, ctx)
    if notional > available:
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
    """Run every check in order; the first rejection wins."""
    for check in CHECKS:
        rejection = check(req, ctx)
        if rejection is not None:
            return rejection
    return None
