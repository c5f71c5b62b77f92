"""Response views of orders, fills, tickers, instruments and order events.

The domain structs (`realtime.domain`) are what the engine computes with and the
journal stores; these are what a client reads: prices rounded to the instrument's
precision, money to the cent, and every time as ISO-8601 UTC next to its `*_ns`
integer (`realtime.presentation`). Pure functions; the API and the WebSocket
streams answer through them, and the warehouse rounds with the same functions.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from realtime import events as ev
from realtime.domain import (
    Fill,
    Instrument,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from realtime.market import Ticker
from realtime.presentation import Precision, iso_utc, round_money


class OrderView(msgspec.Struct, kw_only=True):
    """An order as the API answers it. Prices in the instrument's precision, `fees` in
    cents; `created_at`/`updated_at` are ISO-8601 UTC, `created_ns`/`updated_ns` the
    same instants as epoch nanoseconds."""

    order_id: str
    account: str
    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit_price: float | None
    status: OrderStatus
    filled_quantity: int
    leaves_quantity: int
    average_fill_price: float | None
    reject_reason: str | None
    reject_detail: str | None
    risk_price: float  # values the open quantity for risk: the limit, else the reference
    decision_price: float | None
    fees: float
    created_at: str
    created_ns: int
    updated_at: str
    updated_ns: int


class FillView(msgspec.Struct, kw_only=True):
    """A fill: `notional` is quantity x price x the contract multiplier, in cents."""

    fill_id: str
    order_id: str
    account: str
    symbol: str
    side: Side
    quantity: int
    price: float
    notional: float
    liquidity: str
    fee: float
    ts: str
    ts_ns: int


class TickerView(msgspec.Struct, kw_only=True):
    symbol: str
    bid: float | None
    ask: float | None
    bid_size: int
    ask_size: int
    last: float | None
    last_size: int
    volume: int  # traded units seen since start-up
    ts: str | None  # None until the first quote or trade
    ts_ns: int


class InstrumentView(msgspec.Struct, kw_only=True):
    """One instrument of the universe and whether it trades now."""

    symbol: str
    tick_size: float
    price_decimals: int  # prices in responses are rounded to this many decimals
    lot_size: int
    multiplier: float  # money per price point per unit: notional = qty x price x this
    currency: str
    tradable: bool  # listed as tradable in the instruments file
    restricted: bool  # on a restricted list for the calling account
    trading_state: str  # the calling account's effective kill switch
    trades: bool  # an order in it can pass the instrument checks now


def order_view(order: Order, precision: Precision) -> OrderView:
    symbol = order.symbol
    price = precision.optional_price
    return OrderView(
        order_id=order.order_id,
        account=order.account,
        client_order_id=order.client_order_id,
        symbol=symbol,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        quantity=order.quantity,
        limit_price=price(symbol, order.limit_price),
        status=order.status,
        filled_quantity=order.filled_quantity,
        leaves_quantity=order.leaves_quantity,
        average_fill_price=price(symbol, order.average_fill_price),
        reject_reason=order.reject_reason,
        reject_detail=order.reject_detail,
        risk_price=precision.price(symbol, order.risk_price),
        decision_price=price(symbol, order.decision_price),
        fees=round_money(order.fees),
        created_at=iso_utc(order.created_ns),
        created_ns=order.created_ns,
        updated_at=iso_utc(order.updated_ns),
        updated_ns=order.updated_ns,
    )


def fill_view(fill: Fill, precision: Precision, multiplier: float = 1.0) -> FillView:
    return FillView(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        account=fill.account,
        symbol=fill.symbol,
        side=fill.side,
        quantity=fill.quantity,
        price=precision.price(fill.symbol, fill.price),
        notional=round_money(fill.quantity * fill.price * multiplier),
        liquidity=fill.liquidity,
        fee=round_money(fill.fee),
        ts=iso_utc(fill.ts_ns),
        ts_ns=fill.ts_ns,
    )


def ticker_view(ticker: Ticker, precision: Precision) -> TickerView:
    symbol = ticker.symbol
    price = precision.optional_price
    return TickerView(
        symbol=symbol,
        bid=price(symbol, ticker.bid),
        ask=price(symbol, ticker.ask),
        bid_size=ticker.bid_size,
        ask_size=ticker.ask_size,
        last=price(symbol, ticker.last),
        last_size=ticker.last_size,
        volume=ticker.volume,
        ts=iso_utc(ticker.ts_ns) if ticker.ts_ns else None,
        ts_ns=ticker.ts_ns,
    )


# --- order events, as /ws/orders streams them ------------------------------------------

_PRICE_FIELDS: Final = ("price", "limit_price", "reference_price", "decision_price")
_MONEY_FIELDS: Final = ("fee",)


def event_view(event: ev.Event, symbol: str | None, precision: Precision) -> dict[str, Any]:
    """A journal event as a client reads it: the event's own fields (and `type`), its
    prices in `symbol`'s precision, money in cents, and `ts` (ISO-8601 UTC) beside
    `ts_ns`. `symbol` is the order's, for events that do not name it."""
    body: dict[str, Any] = msgspec.to_builtins(event)
    decimals = precision.decimals(symbol) if symbol is not None else None
    _round_fields(body, decimals)
    request = body.get("request")
    if isinstance(request, dict):
        _round_fields(request, decimals)
    ts_ns = body.get("ts_ns")
    if isinstance(ts_ns, int):
        body["ts"] = iso_utc(ts_ns)
    return body


def _round_fields(body: dict[str, Any], decimals: int | None) -> None:
    if decimals is not None:
        for name in _PRICE_FIELDS:
            value = body.get(name)
            if isinstance(value, float):
                body[name] = round(value, decimals)
    for name in _MONEY_FIELDS:
        value = body.get(name)
        if isinstance(value, float):
            body[name] = round_money(value)


def instrument_view(
    instrument: Instrument, precision: Precision, *, restricted: bool, trading_state: str
) -> InstrumentView:
    return InstrumentView(
        symbol=instrument.symbol,
        tick_size=instrument.tick_size,
        price_decimals=precision.decimals(instrument.symbol),
        lot_size=instrument.lot_size,
        multiplier=instrument.multiplier,
        currency=instrument.currency,
        tradable=instrument.tradable,
        restricted=restricted,
        trading_state=trading_state,
        trades=instrument.tradable and not restricted and trading_state != "HALTED",
    )
