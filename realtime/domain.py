"""Domain types of the trading core, declared once.

Structs that hold only scalars are declared `gc=False`: they can never be in
a reference cycle, and keeping hundreds of thousands of orders out of the
cyclic garbage collector's scans removes its multi-millisecond pauses.

Quantities are whole units (shares, contracts or lots of the smallest tradable
unit) so that positions and fills add up exactly; prices are floats on the
instrument's tick grid.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import msgspec


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrderStatus(StrEnum):
    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PENDING_REPLACE = "PENDING_REPLACE"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class TradingState(StrEnum):
    """Kill-switch levels, ordered by severity."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that shrink a position are admitted
    HALTED = "HALTED"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def stricter(a: TradingState, b: TradingState) -> TradingState:
    return a if a.severity >= b.severity else b


# Prices are floats: a price is on the grid when it is within this many ticks of a
# whole number of ticks (190.01 / 0.01 is 19000.999999999996).
TICK_TOLERANCE: Final = 1e-6


def on_tick_grid(price: float, tick_size: float) -> bool:
    steps = price / tick_size
    return abs(steps - round(steps)) <= TICK_TOLERANCE


class Instrument(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One tradable instrument. Money is `quantity x price x multiplier`, in `currency`:
    a future's contract multiplier (ESZ6: 50 dollars per index point) enters notional,
    exposure, fees and P&L everywhere, prices stay quoted per unit."""

    symbol: str
    tick_size: float
    lot_size: int = 1
    tradable: bool = True
    multiplier: float = 1.0
    currency: str = "USD"


class OrderRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """What a client asks for. `client_order_id` is the idempotency key."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: int
    order_type: OrderType = OrderType.LIMIT
    limit_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    # The price when the trader decided (the implementation shortfall benchmark);
    # None: the arrival mid, which the engine records on the order. Last, so that a
    # request without one encodes as requests did before the field existed.
    decision_price: float | None = None


class Order(msgspec.Struct, kw_only=True, gc=False):
    """The OMS's view of one order. Mutated only by `EngineState.apply`."""

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
    filled_quantity: int = 0
    average_fill_price: float | None = None
    reject_reason: str | None = None
    reject_detail: str | None = None
    # Price used for risk notional of open quantity (limit price, else the reference).
    risk_price: float = 0.0
    # The request's decision price, else the arrival mid (None: no quote at submit).
    decision_price: float | None = None
    fees: float = 0.0  # sum of the fills' fees
    created_ns: int
    updated_ns: int

    @property
    def leaves_quantity(self) -> int:
        if self.status.is_terminal:
            return 0
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal


class Fill(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    fill_id: str
    order_id: str
    account: str
    symbol: str
    side: Side
    quantity: int
    price: float
    liquidity: str  # "TAKER" or "MAKER"
    ts_ns: int
    fee: float = 0.0  # charged by the venue; deducted from realized P&L


class Position(msgspec.Struct, kw_only=True, gc=False):
    account: str
    symbol: str
    quantity: int = 0  # signed: long > 0, short < 0
    average_cost: float = 0.0
    realized_pnl: float = 0.0  # net of fees


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    ts_ns: int

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


class Trade(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    price: float
    size: int
    ts_ns: int
