"""The simulated venue's order book: the price grid, its own copy of each order,
one heap per symbol and side, and the top of book with what is left of it.

Internal to `realtime.venue.simulated`; nothing here reports or journals.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, TypeAlias

import msgspec

from realtime.domain import (
    TICK_TOLERANCE,
    Instrument,
    Order,
    OrderType,
    Quote,
    Side,
    TimeInForce,
    on_tick_grid,
)

# --- price and size grid -----------------------------------------------------


def tick_decimals(tick: float) -> int:
    exponent = Decimal(repr(tick)).normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"tick size must be finite, got {tick}")
    return max(0, -exponent)


@dataclass(frozen=True, slots=True)
class Grid:
    tick: float
    lot: int
    decimals: int
    # tick x TICK_TOLERANCE, computed once: every order's price check reads it.
    epsilon: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epsilon", self.tick * TICK_TOLERANCE)

    @classmethod
    def of(cls, instrument: Instrument) -> Grid:
        if not (instrument.tick_size > 0.0 and math.isfinite(instrument.tick_size)):
            raise ValueError(f"{instrument.symbol}: tick size must be > 0")
        if instrument.lot_size < 1:
            raise ValueError(f"{instrument.symbol}: lot size must be >= 1")
        return cls(instrument.tick_size, instrument.lot_size, tick_decimals(instrument.tick_size))

    def round_up(self, price: float) -> float:
        # round() strips the float noise of n * tick so prices compare and print cleanly.
        return round(math.ceil(price / self.tick - TICK_TOLERANCE) * self.tick, self.decimals)

    def round_down(self, price: float) -> float:
        return round(math.floor(price / self.tick + TICK_TOLERANCE) * self.tick, self.decimals)

    def round_adverse(self, price: float, side: Side) -> float:
        return self.round_up(price) if side is Side.BUY else self.round_down(price)

    def is_valid_price(self, price: float) -> bool:
        return price > 0.0 and math.isfinite(price) and on_tick_grid(price, self.tick)

    def is_valid_quantity(self, quantity: int) -> bool:
        return quantity > 0 and quantity % self.lot == 0

    def floor_lot(self, quantity: int) -> int:
        return quantity - quantity % self.lot


# --- venue-side order state --------------------------------------------------


class VenueOrder(msgspec.Struct, eq=False, gc=False):
    """The venue's own copy of an order: the engine's `Order` is never mutated."""

    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit_price: float | None
    filled: int = 0
    seq: int = 0  # time priority; a new seq means the order lost its place
    expires_ns: int | None = None
    resting: bool = False

    @classmethod
    def of(cls, order: Order) -> VenueOrder:
        is_limit = order.order_type is OrderType.LIMIT
        return cls(
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.time_in_force,
            quantity=order.quantity,
            limit_price=order.limit_price if is_limit else None,
            filled=order.filled_quantity,
        )

    @property
    def leaves(self) -> int:
        return self.quantity - self.filled

    @property
    def is_market(self) -> bool:
        return self.order_type is OrderType.MARKET


HeapEntry: TypeAlias = tuple[float, int, VenueOrder]
ExpiryEntry: TypeAlias = tuple[int, int, VenueOrder]


class BookSide:
    """Resting orders of one symbol and side, best price first, then time.

    A heap with lazy deletion: removing an order only marks its entry stale, so
    cancel is O(1); stale entries are dropped when they surface, or all at once
    when they outnumber live ones, which bounds memory at about twice the live
    orders. Matching reads only the heap key of the best entry until it finds a
    crossing price, so a quote that crosses nothing touches no order at all.
    """

    _COMPACT_MIN_STALE: Final = 64

    def __init__(self, side: Side) -> None:
        self._side = side
        self._heap: list[HeapEntry] = []
        self._stale = 0
        self.examined = 0

    def push(self, order: VenueOrder) -> None:
        heapq.heappush(self._heap, (self._key(order), order.seq, order))

    def mark_stale(self) -> None:
        self._stale += 1
        if self._stale >= self._COMPACT_MIN_STALE and self._stale * 2 > len(self._heap):
            self._heap = [entry for entry in self._heap if is_live(entry)]
            heapq.heapify(self._heap)
            self._stale = 0

    def best_crossing(self, price: float, epsilon: float) -> VenueOrder | None:
        """The highest-priority live order whose limit `price` satisfies, if any."""
        while self._heap:
            key, _, order = entry = self._heap[0]
            if not self._key_crosses(key, price, epsilon):
                return None
            self.examined += 1
            if is_live(entry):
                return order
            heapq.heappop(self._heap)
            self._stale -= 1
        return None

    def _key(self, order: VenueOrder) -> float:
        # Market orders sort ahead of every limit; buys sort by descending price.
        if order.limit_price is None:
            return -math.inf
        return -order.limit_price if self._side is Side.BUY else order.limit_price

    def _key_crosses(self, key: float, price: float, epsilon: float) -> bool:
        if self._side is Side.BUY:
            return price <= -key + epsilon
        return price >= key - epsilon


def is_live(entry: HeapEntry) -> bool:
    _, seq, order = entry
    return order.resting and order.seq == seq


@dataclass(slots=True)
class Top:
    """The latest quote and how much of its displayed size is still untaken."""

    quote: Quote
    bid_left: int
    ask_left: int

    @classmethod
    def of(cls, quote: Quote) -> Top:
        return cls(quote, max(quote.bid_size, 0), max(quote.ask_size, 0))

    def price_for(self, side: Side) -> float:
        """The price an order on `side` trades against."""
        return self.quote.ask if side is Side.BUY else self.quote.bid

    def displayed_for(self, side: Side) -> int:
        return self.quote.ask_size if side is Side.BUY else self.quote.bid_size

    def left_for(self, side: Side) -> int:
        return self.ask_left if side is Side.BUY else self.bid_left

    def has_market_for(self, side: Side) -> bool:
        price = self.price_for(side)
        return price > 0.0 and math.isfinite(price) and self.displayed_for(side) > 0

    def consume(self, side: Side, quantity: int) -> None:
        if side is Side.BUY:
            self.ask_left -= quantity
        else:
            self.bid_left -= quantity


class SymbolBook:
    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.grid = Grid.of(instrument)
        self.top: Top | None = None
        self._sides = {Side.BUY: BookSide(Side.BUY), Side.SELL: BookSide(Side.SELL)}

    def side(self, side: Side) -> BookSide:
        return self._sides[side]

    def has_market_for(self, side: Side) -> bool:
        return self.top is not None and self.top.has_market_for(side)

    @property
    def examined(self) -> int:
        return sum(book_side.examined for book_side in self._sides.values())


def limit_allows(side: Side, limit_price: float, price: float, epsilon: float) -> bool:
    if side is Side.BUY:
        return price <= limit_price + epsilon
    return price >= limit_price - epsilon
