"""A simulated venue that fills against the latest quote of each symbol.

`SimulatedVenue` fills against the top of book it is fed, with an ack latency,
fills bounded by displayed size and a pluggable slippage model, so the whole
system runs on one machine with no outside connection.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time as dt_time
from typing import Final, TypeAlias

import msgspec

from realtime.domain import Instrument, Order, OrderStatus, Quote, Side, TimeInForce
from realtime.sharded import ShardedDict
from realtime.venue.book import ExpiryEntry, SymbolBook, Top, VenueOrder, limit_allows
from realtime.venue.fees import NO_FEES, FeeSchedule
from realtime.venue.interface import (
    CANCEL_FOK_UNFILLED,
    CANCEL_IOC_REMAINDER,
    CANCEL_NO_MARKET,
    CANCEL_USER,
    DUPLICATE_ORDER_ID,
    INVALID_PRICE,
    INVALID_QUANTITY,
    NOT_TRADABLE,
    QUANTITY_NOT_ABOVE_FILLED,
    UNKNOWN_ORDER,
    UNKNOWN_SYMBOL,
    Acked,
    Canceled,
    CancelRejected,
    ExecutionReport,
    Expired,
    Filled,
    Liquidity,
    Rejected,
    Replaced,
    ReplaceRejected,
    VenueQueueFull,
)
from realtime.venue.slippage import FixedBpsSlippage, SlippageModel

# --- configuration -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedVenueConfig:
    ack_latency_ns: int = 200_000
    queue_capacity: int = 10_000
    slippage: SlippageModel = FixedBpsSlippage(bps=1.0)  # noqa: RUF009 (a frozen dataclass)
    session_end_utc: dt_time = dt_time(21, 0)
    fees: FeeSchedule = NO_FEES

    def __post_init__(self) -> None:
        if self.ack_latency_ns < 0:
            raise ValueError(f"ack_latency_ns must be >= 0, got {self.ack_latency_ns}")
        if self.queue_capacity < 1:
            raise ValueError(f"queue_capacity must be >= 1, got {self.queue_capacity}")
        offset = self.session_end_utc.utcoffset()
        if offset is not None and offset.total_seconds() != 0:
            raise ValueError("session_end_utc must be a UTC (or naive) time")


_NS_PER_S: Final = 1_000_000_000
_NS_PER_DAY: Final = 86_400 * _NS_PER_S


def _next_session_end_ns(ts_ns: int, session_end: dt_time) -> int:
    """The first session end strictly after `ts_ns`.

    Plain integer arithmetic is exact here because UTC has no DST; weekends and
    holidays are not modelled.
    """
    seconds = (session_end.hour * 60 + session_end.minute) * 60 + session_end.second
    offset_ns = seconds * _NS_PER_S + session_end.microsecond * 1_000
    end = ts_ns - ts_ns % _NS_PER_DAY + offset_ns
    return end if end > ts_ns else end + _NS_PER_DAY


# --- queued requests ---------------------------------------------------------


# msgspec structs, not frozen dataclasses: one is built for every order sent, and a
# frozen dataclass's __init__ sets each field through object.__setattr__.
class _NewRequest(msgspec.Struct, frozen=True, gc=False):
    order: VenueOrder
    due_ns: int


class _CancelRequest(msgspec.Struct, frozen=True, gc=False):
    order_id: str
    due_ns: int
    reason: str = CANCEL_USER


class _ReplaceRequest(msgspec.Struct, frozen=True, gc=False):
    order_id: str
    quantity: int
    limit_price: float | None
    due_ns: int


_Request: TypeAlias = _NewRequest | _CancelRequest | _ReplaceRequest

_ACKED_STATUSES: Final = frozenset(
    {
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
    }
)


# --- the simulated venue -----------------------------------------------------


class SimulatedVenue:
    """A venue that fills against the latest quote of each symbol.

    Requests take effect `ack_latency_ns` after they are sent, in FIFO order.
    Reports carry the venue time at which they happened (a request's due time,
    a quote's timestamp, a session end), which may be earlier than the `poll`
    that returns them.
    """

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        config: SimulatedVenueConfig | None = None,
    ) -> None:
        self._config = config or SimulatedVenueConfig()
        self._books = {symbol: SymbolBook(inst) for symbol, inst in instruments.items()}
        # Sharded, so that no insert rebuilds a table of every resting order (realtime.sharded).
        self._orders: ShardedDict[str, VenueOrder] = ShardedDict()
        self._queue: deque[_Request] = deque()
        self._expiries: list[ExpiryEntry] = []
        self._next_seq = 0

    # --- sending requests ----------------------------------------------------

    def submit(self, order: Order, now_ns: int) -> None:
        self._enqueue(_NewRequest(VenueOrder.of(order), self._due(now_ns)))

    def cancel(self, order_id: str, now_ns: int) -> None:
        self._enqueue(_CancelRequest(order_id, self._due(now_ns)))

    def replace(self, order_id: str, quantity: int, limit_price: float | None, now_ns: int) -> None:
        self._enqueue(_ReplaceRequest(order_id, quantity, limit_price, self._due(now_ns)))

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    @property
    def queue_capacity(self) -> int:
        return self._config.queue_capacity

    def has_capacity(self, n: int = 1) -> bool:
        return len(self._queue) + n <= self._config.queue_capacity

    @property
    def retry_after_s(self) -> float:
        # The queue head is due within one ack latency, which frees a place.
        return self._config.ack_latency_ns / _NS_PER_S

    @property
    def open_order_count(self) -> int:
        """Orders acknowledged and resting on the venue (queued new orders excluded)."""
        return len(self._orders)

    @property
    def orders_examined(self) -> int:
        """Resting orders inspected by quote matching since start: an observability
        counter showing that matching cost follows crossing orders, not book size."""
        return sum(book.examined for book in self._books.values())

    def _due(self, now_ns: int) -> int:
        return now_ns + self._config.ack_latency_ns

    def _enqueue(self, request: _Request) -> None:
        if not self.has_capacity():
            # Every request queued now is due within one ack latency, so by then
            # the queue has drained if the caller keeps polling.
            raise VenueQueueFull(len(self._queue), self._config.queue_capacity, self.retry_after_s)
        self._queue.append(request)

    # --- time and market data ------------------------------------------------

    def poll(self, now_ns: int) -> list[ExecutionReport]:
        return self._advance(now_ns)

    def on_quote(self, quote: Quote) -> list[ExecutionReport]:
        # Catch up to the quote's time first so requests due before it are
        # processed against the quote that was live when they arrived.
        reports = self._advance(quote.ts_ns)
        book = self._books.get(quote.symbol)
        if book is None:
            return reports
        book.top = Top.of(quote)
        reports.extend(self._match_resting(book, Side.BUY, quote.ts_ns))
        reports.extend(self._match_resting(book, Side.SELL, quote.ts_ns))
        return reports

    def next_wakeup_ns(self) -> int | None:
        # Asked after every request the engine sends: no list, no min() call.
        expiry = self._next_expiry_ns() if self._expiries else None
        if not self._queue:
            return expiry
        due = self._queue[0].due_ns
        return due if expiry is None or due < expiry else expiry

    def _advance(self, now_ns: int) -> list[ExecutionReport]:
        """Process due requests and session ends in time order, up to `now_ns`."""
        reports: list[ExecutionReport] = []
        queue = self._queue
        while True:
            due = queue[0].due_ns if queue else None
            expiry = self._next_expiry_ns() if self._expiries else None
            # A session end ties with a request in the session end's favour: the
            # session is over at that instant.
            if expiry is not None and expiry <= now_ns and (due is None or expiry <= due):
                reports.extend(self._expire_until(expiry))
            elif due is not None and due <= now_ns:
                reports.extend(self._process(queue.popleft()))
            else:
                return reports

    def _next_expiry_ns(self) -> int | None:
        while self._expiries and not self._expiries[0][2].resting:
            heapq.heappop(self._expiries)
        return self._expiries[0][0] if self._expiries else None

    def _expire_until(self, ts_ns: int) -> list[ExecutionReport]:
        reports: list[ExecutionReport] = []
        while self._expiries and self._expiries[0][0] <= ts_ns:
            expires_ns, _, order = heapq.heappop(self._expiries)
            if order.resting:
                self._unrest(order)
                reports.append(Expired(order_id=order.order_id, ts_ns=expires_ns))
        return reports

    # --- request processing --------------------------------------------------

    def _process(self, request: _Request) -> list[ExecutionReport]:
        if isinstance(request, _NewRequest):
            return self._process_new(request.order, request.due_ns)
        if isinstance(request, _CancelRequest):
            return [self._process_cancel(request)]
        return self._process_replace(request)

    def _process_new(self, order: VenueOrder, ts_ns: int) -> list[ExecutionReport]:
        reason = self._rejection_reason(order)
        if reason is not None:
            return [Rejected(order_id=order.order_id, ts_ns=ts_ns, reason=reason)]
        book = self._books[order.symbol]
        reports: list[ExecutionReport] = [Acked(order_id=order.order_id, ts_ns=ts_ns)]
        tif = order.time_in_force
        no_market = order.is_market and not book.has_market_for(order.side)
        if tif is TimeInForce.FOK and self._fillable(order, book) < order.leaves:
            reason = CANCEL_NO_MARKET if no_market else CANCEL_FOK_UNFILLED
            reports.append(Canceled(order_id=order.order_id, ts_ns=ts_ns, reason=reason))
            return reports
        reports.extend(self._take(order, book, ts_ns))
        if order.leaves == 0:
            return reports
        if tif is TimeInForce.IOC:
            reason = CANCEL_NO_MARKET if no_market else CANCEL_IOC_REMAINDER
            reports.append(Canceled(order_id=order.order_id, ts_ns=ts_ns, reason=reason))
        else:
            self._rest(order, book, expiry_from_ns=ts_ns)
        return reports

    def _rejection_reason(self, order: VenueOrder) -> str | None:
        book = self._books.get(order.symbol)
        if book is None:
            return UNKNOWN_SYMBOL
        if not book.instrument.tradable:
            return NOT_TRADABLE
        if order.order_id in self._orders:
            return DUPLICATE_ORDER_ID
        if not book.grid.is_valid_quantity(order.quantity) or order.leaves <= 0:
            return INVALID_QUANTITY
        if not order.is_market and (
            order.limit_price is None or not book.grid.is_valid_price(order.limit_price)
        ):
            return INVALID_PRICE
        return None

    def _process_cancel(self, request: _CancelRequest) -> ExecutionReport:
        order = self._orders.get(request.order_id)
        if order is None:
            return CancelRejected(
                order_id=request.order_id, ts_ns=request.due_ns, reason=UNKNOWN_ORDER
            )
        self._unrest(order)
        return Canceled(order_id=order.order_id, ts_ns=request.due_ns, reason=request.reason)

    def _process_replace(self, request: _ReplaceRequest) -> list[ExecutionReport]:
        order = self._orders.get(request.order_id)
        ts_ns = request.due_ns
        reason = UNKNOWN_ORDER if order is None else self._replace_rejection_reason(order, request)
        if reason is not None:
            return [ReplaceRejected(order_id=request.order_id, ts_ns=ts_ns, reason=reason)]
        assert order is not None  # reason is set whenever the order is unknown
        limit_price = order.limit_price if request.limit_price is None else request.limit_price
        book = self._books[order.symbol]
        # Like real venues: a new price or a larger size goes to the back of the
        # queue; shrinking keeps the order's place.
        loses_priority = limit_price != order.limit_price or request.quantity > order.quantity
        order.quantity = request.quantity
        order.limit_price = limit_price
        if loses_priority:
            # The new seq is what makes the old heap entry stale, so it comes first.
            order.seq = self._take_seq()
            book.side(order.side).mark_stale()
            book.side(order.side).push(order)
        reports: list[ExecutionReport] = [
            Replaced(
                order_id=order.order_id,
                ts_ns=ts_ns,
                quantity=order.quantity,
                limit_price=order.limit_price,
            )
        ]
        reports.extend(self._take(order, book, ts_ns))
        return reports

    def _replace_rejection_reason(self, order: VenueOrder, request: _ReplaceRequest) -> str | None:
        grid = self._books[order.symbol].grid
        if not grid.is_valid_quantity(request.quantity):
            return INVALID_QUANTITY
        if request.quantity <= order.filled:
            return QUANTITY_NOT_ABOVE_FILLED
        if request.limit_price is not None and (
            order.is_market or not grid.is_valid_price(request.limit_price)
        ):
            return INVALID_PRICE
        return None

    # --- matching ------------------------------------------------------------

    def _fillable(self, order: VenueOrder, book: SymbolBook) -> int:
        """How much of `order` the current quote can fill right now."""
        top = book.top
        if top is None or not top.has_market_for(order.side):
            return 0
        price = top.price_for(order.side)
        if order.limit_price is not None and not limit_allows(
            order.side, order.limit_price, price, book.grid.epsilon
        ):
            return 0
        return book.grid.floor_lot(min(order.leaves, top.left_for(order.side)))

    def _take(self, order: VenueOrder, book: SymbolBook, ts_ns: int) -> list[Filled]:
        """Fill `order` as the aggressor (on arrival or after a replace)."""
        quantity = self._fillable(order, book)
        if quantity <= 0:
            return []
        price = self._taker_price(order, book, quantity)
        return [self._fill(order, book, quantity, price, "TAKER", ts_ns)]

    def _match_resting(self, book: SymbolBook, side: Side, ts_ns: int) -> list[Filled]:
        """Fill resting `side` orders that the book's new quote crosses."""
        top = book.top
        if top is None or not top.has_market_for(side):
            return []
        price = top.price_for(side)
        book_side = book.side(side)
        fills: list[Filled] = []
        while top.left_for(side) >= book.grid.lot:
            order = book_side.best_crossing(price, book.grid.epsilon)
            if order is None:
                break
            quantity = book.grid.floor_lot(min(order.leaves, top.left_for(side)))
            if quantity <= 0:
                break
            # A market order that had to wait for a quote still takes liquidity.
            if order.is_market:
                taker_price = self._taker_price(order, book, quantity)
                fills.append(self._fill(order, book, quantity, taker_price, "TAKER", ts_ns))
            else:
                fills.append(self._fill(order, book, quantity, price, "MAKER", ts_ns))
        return fills

    def _taker_price(self, order: VenueOrder, book: SymbolBook, quantity: int) -> float:
        assert book.top is not None  # callers only price against a live quote
        side = order.side
        bps = self._config.slippage.cost_bps(quantity, book.top.displayed_for(side))
        raw = book.top.price_for(side) * (1.0 + side.sign * bps / 10_000.0)
        price = book.grid.round_adverse(raw, side)
        if order.limit_price is None:
            return price
        # Slippage may eat price improvement but never goes through the limit.
        return min(price, order.limit_price) if side is Side.BUY else max(price, order.limit_price)

    def _fill(
        self,
        order: VenueOrder,
        book: SymbolBook,
        quantity: int,
        price: float,
        liquidity: Liquidity,
        ts_ns: int,
    ) -> Filled:
        assert book.top is not None
        book.top.consume(order.side, quantity)
        order.filled += quantity
        if order.leaves == 0 and order.resting:
            self._unrest(order)
        return Filled(
            order_id=order.order_id,
            ts_ns=ts_ns,
            quantity=quantity,
            price=price,
            liquidity=liquidity,
            fee=self._config.fees.fee(quantity, price, liquidity, book.instrument.multiplier),
        )

    # --- the book ------------------------------------------------------------

    def _take_seq(self) -> int:
        self._next_seq += 1
        return self._next_seq

    def _rest(self, order: VenueOrder, book: SymbolBook, expiry_from_ns: int) -> None:
        order.seq = self._take_seq()
        order.resting = True
        self._orders[order.order_id] = order
        book.side(order.side).push(order)
        if order.time_in_force is TimeInForce.DAY:
            order.expires_ns = _next_session_end_ns(expiry_from_ns, self._config.session_end_utc)
            heapq.heappush(self._expiries, (order.expires_ns, order.seq, order))

    def _unrest(self, order: VenueOrder) -> None:
        # The expiry heap entry goes stale with `resting`; _next_expiry_ns drops it.
        order.resting = False
        del self._orders[order.order_id]
        self._books[order.symbol].side(order.side).mark_stale()

    # --- restart -------------------------------------------------------------

    def restore(self, orders: Iterable[Order]) -> None:
        """Take back the engine's open orders after a restart.

        Acknowledged orders go straight back on the book with their remaining
        quantity; PENDING_NEW ones are queued again as if sent when created, so
        the next poll acknowledges them. Restored orders keep their relative
        time priority (by creation time). The queue may exceed its capacity
        here: a restart must not drop orders the engine already accepted.
        """
        for order in sorted(orders, key=lambda o: o.created_ns):
            if order.status is OrderStatus.PENDING_NEW:
                self._queue.append(_NewRequest(VenueOrder.of(order), self._due(order.created_ns)))
            elif order.status in _ACKED_STATUSES and order.leaves_quantity > 0:
                self._restore_acked(order)

    def _restore_acked(self, order: Order) -> None:
        book = self._books.get(order.symbol)
        if book is None:
            raise ValueError(f"cannot restore {order.order_id}: unknown symbol {order.symbol}")
        if order.order_id in self._orders:
            raise ValueError(f"cannot restore {order.order_id}: already on the book")
        venue_order = VenueOrder.of(order)
        self._rest(venue_order, book, expiry_from_ns=order.created_ns)
        if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            # An IOC/FOK can only be open if the restart cut its cancel off; finish it.
            reason = (
                CANCEL_IOC_REMAINDER
                if order.time_in_force is TimeInForce.IOC
                else CANCEL_FOK_UNFILLED
            )
            request = _CancelRequest(order.order_id, self._due(order.created_ns), reason)
            self._queue.append(request)
