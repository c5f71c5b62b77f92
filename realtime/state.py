"""All trading state, changed only by applying journal events.

`EngineState.apply` is the one mutation path for both the live engine and the
start-up replay, so a replay reproduces the live state exactly. Besides the
orders and positions themselves the state keeps the running aggregates that
pre-trade risk reads (open quantity per account and symbol, open notional,
gross exposure, P&L per account), updated incrementally so that no risk check
walks over orders, positions or symbols.

Marks (for unrealized P&L and exposure) move only on journaled `PriceSampled`
events, and on a first fill in a symbol that has no mark yet, so replay
reproduces unrealized P&L too.

Retention: with `retain_terminal_ns` set, a terminal order (and a fill) whose last
change is older than that, measured against the newest event timestamp applied
(`watermark_ns`), leaves the in-memory state: memory is bounded by open orders plus
a window, not by every order ever seen. It stays in the journal and the warehouse.
Eviction is decided by `apply` from event timestamps alone, so live and replayed
states evict the same orders. Its `client_order_id` goes with it: idempotency and
duplicate detection hold within the retention window.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import msgspec

from realtime import events as ev
from realtime.client_ids import ClientIds
from realtime.domain import (
    TERMINAL_STATUSES,
    Fill,
    Instrument,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TradingState,
)
from realtime.limits import AccountLimits, RiskLimits, limits_from_json, scaled_limits
from realtime.oms import Trigger, next_status
from realtime.pnl import apply_fill, unrealized
from realtime.retained import SlotLog
from realtime.risk import RiskContext
from realtime.sharded import ShardedDict
from realtime.snapshot_format import StateSnapshot

_ACTIVE = TradingState.ACTIVE
_REDUCING = TradingState.REDUCING
_HALTED = TradingState.HALTED
_LIMIT = OrderType.LIMIT
_BUY = Side.BUY


class SymbolBook:
    """One account's exposure in one symbol."""

    __slots__ = ("open_buy", "open_sell", "position")

    def __init__(self, position: Position) -> None:
        self.position = position
        self.open_buy = 0  # leaves quantity of open buy orders
        self.open_sell = 0


class AccountBook:
    __slots__ = (
        "account",
        "fills",
        "gross_exposure",
        "open_notional",
        "open_orders",
        "orders",
        "realized_pnl",
        "symbols",
        "trading_state",
        "unrealized_pnl",
    )

    def __init__(self, account: str) -> None:
        self.account = account
        self.symbols: dict[str, SymbolBook] = {}
        # Every retained order and fill, in submission order; slots are page cursors.
        self.orders: SlotLog[Order] = SlotLog()
        # Sharded: one order in five maps keyed by order or client id (realtime.sharded).
        self.open_orders: ShardedDict[str, Order] = ShardedDict()
        self.fills: SlotLog[Fill] = SlotLog()
        self.open_notional = 0.0
        self.gross_exposure = 0.0
        self.realized_pnl = 0.0
        self.unrealized_pnl = 0.0
        self.trading_state = TradingState.ACTIVE

    def symbol(self, symbol: str) -> SymbolBook:
        book = self.symbols.get(symbol)
        if book is None:
            book = self.symbols[symbol] = SymbolBook(Position(account=self.account, symbol=symbol))
        return book


_NO_DECISION_PRICE = b',"decision_price":null}'
_NO_DECISION_PRICE_LEN = len(_NO_DECISION_PRICE)
# Bound once: computed for every new order.
_encode_request = msgspec.json.Encoder().encode
_blake2b = hashlib.blake2b


def request_fingerprint(req: OrderRequest) -> bytes:
    """A stable digest of a request: the idempotency check compares retries by it.

    A request without a decision price is digested as it was encoded before the
    field existed, so fingerprints kept in older snapshots still match a retry."""
    encoded = _encode_request(req)
    if req.decision_price is None and encoded.endswith(_NO_DECISION_PRICE):
        encoded = encoded[:-_NO_DECISION_PRICE_LEN] + b"}"
    return _blake2b(encoded, digest_size=8).digest()


class SnapshotObserver(Protocol):
    def before_change(self, order_id: str) -> None:
        """Called before an event changes order `order_id`."""


class JournalInconsistent(Exception):
    """An event that cannot apply to the state rebuilt so far: the journal is wrong."""

    code = "JOURNAL_INCONSISTENT"


def _ignore(_event: ev.Event) -> None:
    return None


# How many retained entries one `apply` may evict: bounds the work any one event
# adds; at most one order and one fill become evictable per event, so 8 keeps up.
_EVICT_PER_EVENT = 8

# (age timestamp, order or fill id, account, slot in the account's log, is an order)
_Evictable = tuple[int, str, str, int, bool]


class EngineState:
    def __init__(
        self,
        instruments: dict[str, Instrument],
        limits: RiskLimits,
        retain_terminal_ns: int | None = None,
    ) -> None:
        self.instruments = instruments
        # symbol -> contract multiplier: money is quantity x price x multiplier (an
        # unknown symbol counts 1x; risk rejects it before it can reach the books).
        self.multipliers: dict[str, float] = {s: i.multiplier for s, i in instruments.items()}
        # None: keep every order; else see the module docstring (retention).
        self.retain_terminal_ns = retain_terminal_ns
        self.watermark_ns = 0
        # Terminal orders and fills by age, oldest first: what retention evicts next.
        self._evictable: list[_Evictable] = []
        # order_id -> its slot in its account's order log (to evict it in O(1)).
        self._slots: ShardedDict[str, int] = ShardedDict()
        # A snapshot being encoded (realtime.snapshot_build); told before an order changes.
        self.snapshot_build: SnapshotObserver | None = None
        # account -> (its limits, every symbol it may not trade): what risk_context reads,
        # derived from `limits` once per account and dropped whenever limits change.
        self._risk_limits: dict[str, tuple[AccountLimits, frozenset[str]]] = {}
        # symbol -> account -> its limits scaled by the symbol's volatility (issue 9); a
        # symbol absent trades on the static limits. Built lazily per account.
        self.feature_scales: dict[str, ev.FeatureScale] = {}
        self._scaled: dict[str, dict[str, AccountLimits]] = {}
        self.limits = limits
        # Digest of the last limits written to the journal; None until one is.
        self.limits_digest: str | None = None
        self.global_state = TradingState.ACTIVE
        self.accounts: dict[str, AccountBook] = {}
        self.orders: ShardedDict[str, Order] = ShardedDict()
        # (account, client_order_id) -> (order_id, request fingerprint); first use wins.
        self.client_ids = ClientIds()
        self.marks: dict[str, float] = {}
        # symbol -> accounts with a non-zero position, so a new mark revalues only them.
        self.holders: dict[str, set[str]] = {}
        self.order_count = 0
        self.fill_count = 0
        self.last_seq = 0
        self._handlers: dict[type[ev.Event], Callable[[Any], None]] = {
            ev.OrderAccepted: self._on_accepted,
            ev.OrderRejected: self._on_rejected,
            ev.OrderAcknowledged: self._on_acknowledged,
            ev.VenueRejected: self._on_venue_rejected,
            ev.OrderFilled: self._on_filled,
            ev.CancelRequested: self._on_cancel_requested,
            ev.OrderCanceled: self._on_canceled,
            ev.CancelRejected: self._on_cancel_rejected,
            ev.ReplaceRequested: self._on_replace_requested,
            ev.OrderReplaced: self._on_replaced,
            ev.ReplaceRejected: self._on_replace_rejected,
            ev.OrderExpired: self._on_expired,
            ev.TradingStateChanged: self._on_trading_state,
            ev.RiskLimitsChanged: self._on_limits,
            ev.FeatureLimitsChanged: self._on_feature_limits,
            ev.PriceSampled: self._on_price,
            ev.TradePrinted: _ignore,  # the tape is for the warehouse; it moves no state
            ev.ReplaceRiskRejected: _ignore,  # an audit record; the order is unchanged
            ev.DuplicateOrderRejected: _ignore,  # an audit record; no order is created
        }

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        self._limits = limits
        self._risk_limits = {}
        self._scaled = {symbol: {} for symbol in self._scaled}

    # --- reading ---------------------------------------------------------

    def account(self, account: str) -> AccountBook:
        book = self.accounts.get(account)
        if book is None:
            book = self.accounts[account] = AccountBook(account)
        return book

    def effective_state(self, account: str) -> TradingState:
        book = self.accounts.get(account)
        own = book.trading_state if book is not None else TradingState.ACTIVE
        return own if own.severity > self.global_state.severity else self.global_state

    def equity(self, account: str) -> float:
        """Starting cash plus realized and unrealized P&L: what buying power is levered on."""
        cash = self.limits.for_account(account).starting_cash
        book = self.accounts.get(account)
        return cash if book is None else cash + book.realized_pnl + book.unrealized_pnl

    def account_limits(self, account: str) -> tuple[AccountLimits, frozenset[str]]:
        """The account's limits and restricted symbols (global and its own), cached."""
        found = self._risk_limits.get(account)
        if found is None:
            limits = self._limits.for_account(account)
            restricted = self._limits.restricted_symbols | limits.restricted_symbols
            found = self._risk_limits[account] = (limits, restricted)
        return found

    def _scale(self, account: str, symbol: str, limits: AccountLimits) -> AccountLimits:
        scale = self.feature_scales[symbol]
        found = self._scaled[symbol][account] = scaled_limits(
            limits, scale.collar_scale, scale.notional_scale
        )
        return found

    def effective_limits(self, account: str, symbol: str) -> AccountLimits:
        """The limits a check of `symbol` for `account` uses (static or scaled)."""
        limits = self.account_limits(account)[0]
        scaled = self._scaled.get(symbol)
        if scaled is None:
            return limits
        return scaled.get(account) or self._scale(account, symbol, limits)

    def risk_context(
        self,
        account: str,
        req: OrderRequest,
        reference_price: float | None,
        throttle_ok: bool,
        exclude: Order | None = None,
    ) -> RiskContext:
        """What pre-trade risk reads for `req`, from the running aggregates in O(1).

        `reference_price` (the latest mid) and `throttle_ok` come from the engine,
        which owns the hot cache and the rate buckets. `exclude` is an open order
        being replaced: its own open quantity is taken out of the aggregates."""
        limits, restricted = self._risk_limits.get(account) or self.account_limits(account)
        symbol = req.symbol
        scaled = self._scaled.get(symbol)
        if scaled is not None:  # volatility scaling in force for this symbol
            limits = scaled.get(account) or self._scale(account, symbol, limits)
        trading_state = self.global_state
        book = self.accounts.get(account)
        if book is None:
            position = open_buy = open_sell = 0
            gross = open_notional = realized = unrealized_pnl = 0.0
        else:
            own = book.trading_state
            # The stricter switch wins: HALTED over REDUCING over ACTIVE.
            if own is _HALTED or (own is _REDUCING and trading_state is _ACTIVE):
                trading_state = own
            gross, open_notional = book.gross_exposure, book.open_notional
            realized, unrealized_pnl = book.realized_pnl, book.unrealized_pnl
            symbol_book = book.symbols.get(symbol)
            if symbol_book is None:
                position = open_buy = open_sell = 0
            else:
                position = symbol_book.position.quantity
                open_buy, open_sell = symbol_book.open_buy, symbol_book.open_sell
        if exclude is not None and exclude.is_open:
            leaves = exclude.quantity - exclude.filled_quantity
            if exclude.side is Side.BUY:
                open_buy -= leaves
            else:
                open_sell -= leaves
            open_notional -= leaves * exclude.risk_price * self.multipliers.get(symbol, 1.0)
        # Positional: the field order of RiskContext (the cheapest way to build it).
        return RiskContext(
            self.instruments.get(symbol),
            limits,
            trading_state,
            reference_price,
            position,
            open_buy,
            open_sell,
            gross,
            open_notional,
            limits.starting_cash + realized + unrealized_pnl,  # equity()
            throttle_ok,
            symbol in restricted,
        )

    def next_order_id(self) -> str:
        return f"O{self.order_count + 1}"

    def next_fill_id(self) -> str:
        return f"F{self.fill_count + 1}"

    # --- applying ----------------------------------------------------------

    def apply(self, event: ev.Event, seq: int | None = None) -> None:
        handler = self._handlers.get(type(event))
        if handler is None:
            raise JournalInconsistent(f"no handler for {type(event).__name__}")
        build = self.snapshot_build
        if build is not None:
            order_id = getattr(event, "order_id", None)
            if order_id is not None:
                build.before_change(order_id)
        handler(event)
        if seq is not None:
            self.last_seq = seq
        ts = event.ts_ns
        if ts > self.watermark_ns:
            self.watermark_ns = ts
        evictable = self._evictable
        retain = self.retain_terminal_ns
        if evictable and retain is not None and evictable[0][0] < self.watermark_ns - retain:
            self._evict_old()

    def _evict_old(self) -> None:
        """Drop up to _EVICT_PER_EVENT terminal orders and fills older than the window."""
        assert self.retain_terminal_ns is not None
        cutoff = self.watermark_ns - self.retain_terminal_ns
        evictable = self._evictable
        for _ in range(_EVICT_PER_EVENT):
            if not evictable or evictable[0][0] >= cutoff:
                return
            _, key, account, slot, is_order = heapq.heappop(evictable)
            book = self.accounts[account]
            if not is_order:
                book.fills.evict(slot)
                continue
            order = self.orders.pop(key)
            del self._slots[key]
            book.orders.evict(slot)
            ids_key = (account, order.client_order_id)
            known = self.client_ids.get(ids_key)
            if known is not None and known[0] == key:
                del self.client_ids[ids_key]

    def _retire(self, order: Order) -> None:
        """A terminal order: from now on it ages towards eviction (if retention is on)."""
        if self.retain_terminal_ns is not None:
            slot = self._slots[order.order_id]
            entry = (order.updated_ns, order.order_id, order.account, slot, True)
            heapq.heappush(self._evictable, entry)

    def _retain_fill(self, fill: Fill, slot: int) -> None:
        if self.retain_terminal_ns is not None:
            heapq.heappush(self._evictable, (fill.ts_ns, fill.fill_id, fill.account, slot, False))

    def _order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise JournalInconsistent(f"event for unknown order {order_id}")
        return order

    def _reserve(self, order: Order, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) an open order's leaves from the aggregates."""
        leaves = order.quantity - order.filled_quantity
        book = self.accounts.get(order.account) or self.account(order.account)
        symbol_book = book.symbols.get(order.symbol) or book.symbol(order.symbol)
        if order.side is _BUY:
            symbol_book.open_buy += sign * leaves
        else:
            symbol_book.open_sell += sign * leaves
        book.open_notional += (
            sign * leaves * order.risk_price * self.multipliers.get(order.symbol, 1.0)
        )

    def _transition(self, order: Order, trigger: Trigger, ts_ns: int) -> None:
        order.status = next_status(order.order_id, order.status, trigger, order.filled_quantity)
        order.updated_ns = ts_ns
        if order.status in TERMINAL_STATUSES:  # OrderStatus.is_terminal, without its call
            self.accounts[order.account].open_orders.pop(order.order_id, None)
            self._retire(order)

    def _new_order(self, e: ev.OrderAccepted | ev.OrderRejected, status: OrderStatus) -> Order:
        req = e.request
        order = Order(
            order_id=e.order_id,
            account=e.account,
            client_order_id=req.client_order_id,
            symbol=req.symbol,
            side=req.side,
            order_type=req.order_type,
            time_in_force=req.time_in_force,
            quantity=req.quantity,
            limit_price=req.limit_price,
            status=status,
            decision_price=e.decision_price,
            created_ns=e.ts_ns,
            updated_ns=e.ts_ns,
        )
        order_id = e.order_id
        self.orders[order_id] = order
        self._slots[order_id] = self.account(e.account).orders.append(order)
        self.client_ids.add_first(
            e.account, req.client_order_id, order_id, request_fingerprint(req)
        )
        self.order_count += 1
        return order

    def _on_accepted(self, e: ev.OrderAccepted) -> None:
        order = self._new_order(e, OrderStatus.PENDING_NEW)
        req = e.request
        if req.order_type is _LIMIT and req.limit_price is not None:
            order.risk_price = req.limit_price
        else:
            order.risk_price = e.reference_price or 0.0
        self.accounts[e.account].open_orders[order.order_id] = order
        self._reserve(order, 1)

    def _on_rejected(self, e: ev.OrderRejected) -> None:
        order = self._new_order(e, OrderStatus.REJECTED)
        order.reject_reason = e.reason
        order.reject_detail = e.detail
        self._retire(order)

    def _on_acknowledged(self, e: ev.OrderAcknowledged) -> None:
        self._transition(self._order(e.order_id), Trigger.ACK, e.ts_ns)

    def _close(self, order: Order, trigger: Trigger, ts_ns: int) -> None:
        self._reserve(order, -1)
        self._transition(order, trigger, ts_ns)

    def _on_venue_rejected(self, e: ev.VenueRejected) -> None:
        order = self._order(e.order_id)
        order.reject_reason = e.reason
        self._close(order, Trigger.VENUE_REJECT, e.ts_ns)

    def _on_canceled(self, e: ev.OrderCanceled) -> None:
        self._close(self._order(e.order_id), Trigger.CANCELED, e.ts_ns)

    def _on_expired(self, e: ev.OrderExpired) -> None:
        self._close(self._order(e.order_id), Trigger.EXPIRE, e.ts_ns)

    def _on_cancel_requested(self, e: ev.CancelRequested) -> None:
        self._transition(self._order(e.order_id), Trigger.CANCEL_REQUEST, e.ts_ns)

    def _on_cancel_rejected(self, e: ev.CancelRejected) -> None:
        self._transition(self._order(e.order_id), Trigger.CANCEL_REJECT, e.ts_ns)

    def _on_replace_requested(self, e: ev.ReplaceRequested) -> None:
        self._transition(self._order(e.order_id), Trigger.REPLACE_REQUEST, e.ts_ns)

    def _on_replace_rejected(self, e: ev.ReplaceRejected) -> None:
        self._transition(self._order(e.order_id), Trigger.REPLACE_REJECT, e.ts_ns)

    def _on_replaced(self, e: ev.OrderReplaced) -> None:
        order = self._order(e.order_id)
        self._reserve(order, -1)
        order.quantity = e.quantity
        order.limit_price = e.limit_price
        if e.limit_price is not None:
            order.risk_price = e.limit_price
        self._transition(order, Trigger.REPLACED, e.ts_ns)
        self._reserve(order, 1)

    def _on_filled(self, e: ev.OrderFilled) -> None:
        order = self._order(e.order_id)
        if e.quantity <= 0 or order.filled_quantity + e.quantity > order.quantity:
            raise JournalInconsistent(f"fill {e.fill_id} overfills order {e.order_id}")
        self._reserve(order, -1)
        filled_before = order.filled_quantity
        order.filled_quantity += e.quantity
        order.average_fill_price = (
            (order.average_fill_price or 0.0) * filled_before + e.price * e.quantity
        ) / order.filled_quantity
        order.fees += e.fee
        complete = order.filled_quantity == order.quantity
        self._transition(order, Trigger.FILL if complete else Trigger.PARTIAL_FILL, e.ts_ns)
        if order.is_open:
            self._reserve(order, 1)
        fill = Fill(
            fill_id=e.fill_id,
            order_id=e.order_id,
            account=e.account,
            symbol=e.symbol,
            side=e.side,
            quantity=e.quantity,
            price=e.price,
            liquidity=e.liquidity,
            ts_ns=e.ts_ns,
            fee=e.fee,
        )
        self.fill_count += 1
        book = self.accounts[e.account]
        self._retain_fill(fill, book.fills.append(fill))
        self._book_fill(book, fill)

    def _book_fill(self, book: AccountBook, fill: Fill) -> None:
        mark = self.marks.get(fill.symbol)
        if mark is None:
            mark = self.marks[fill.symbol] = fill.price
        position = book.symbol(fill.symbol).position
        old_qty, old_cost = position.quantity, position.average_cost
        multiplier = self.multipliers.get(fill.symbol, 1.0)
        change = apply_fill(
            old_qty, old_cost, fill.side.sign * fill.quantity, fill.price, multiplier
        )
        position.quantity, position.average_cost = change.quantity, change.average_cost
        # The fee is a realized cost the moment the fill happens, opening or closing.
        realized = change.realized - fill.fee
        position.realized_pnl += realized
        book.realized_pnl += realized
        book.gross_exposure += (abs(change.quantity) - abs(old_qty)) * mark * multiplier
        book.unrealized_pnl += unrealized(
            change.quantity, change.average_cost, mark, multiplier
        ) - unrealized(old_qty, old_cost, mark, multiplier)
        holders = self.holders.setdefault(fill.symbol, set())
        if change.quantity:
            holders.add(book.account)
        else:
            holders.discard(book.account)

    def _on_price(self, e: ev.PriceSampled) -> None:
        mark = (e.bid + e.ask) / 2.0
        old = self.marks.get(e.symbol)
        self.marks[e.symbol] = mark
        if old is None or old == mark:
            return
        move = (mark - old) * self.multipliers.get(e.symbol, 1.0)
        for account in self.holders.get(e.symbol, ()):
            book = self.accounts[account]
            quantity = book.symbols[e.symbol].position.quantity
            book.gross_exposure += abs(quantity) * move
            book.unrealized_pnl += quantity * move

    def _on_trading_state(self, e: ev.TradingStateChanged) -> None:
        if e.account is None:
            self.global_state = e.state
        else:
            self.account(e.account).trading_state = e.state

    def _on_feature_limits(self, e: ev.FeatureLimitsChanged) -> None:
        for symbol, scale in e.scales.items():
            if scale.collar_scale == 1.0 and scale.notional_scale == 1.0:
                self.feature_scales.pop(symbol, None)
                self._scaled.pop(symbol, None)
            else:
                self.feature_scales[symbol] = scale
                self._scaled[symbol] = {}

    def _on_limits(self, e: ev.RiskLimitsChanged) -> None:
        self.limits = limits_from_json(e.limits_json)
        self.limits_digest = e.digest

    # --- snapshots -----------------------------------------------------------
    # Orders are listed account by account, each account's in submission order (its
    # log order), and client ids alongside their orders: the order realtime.snapshot_build
    # walks in, so that a snapshot built a chunk at a time is byte-identical to this one.

    def snapshot(self, *, rows: bool = True) -> StateSnapshot:
        """The state as a snapshot; `rows=False`: without its orders, fills and client
        ids (the small part, which realtime.snapshot_build encodes first)."""
        orders = [o for book in self.accounts.values() for o in book.orders] if rows else []
        return StateSnapshot(
            seq=self.last_seq,
            order_count=self.order_count,
            fill_count=self.fill_count,
            global_state=self.global_state,
            account_states={a: b.trading_state for a, b in self.accounts.items()},
            limits_json=self.limits_json(),
            limits_digest=self.limits_digest,
            marks=dict(self.marks),
            orders=orders,
            fills=[f for book in self.accounts.values() for f in book.fills] if rows else [],
            positions=self.snapshot_positions(),
            client_ids=[row for o in orders if (row := self.client_id_row(o)) is not None],
            watermark_ns=self.watermark_ns,
            feature_scales=dict(self.feature_scales),
        )

    def limits_json(self) -> str | None:
        """The journaled limits as a snapshot keeps them (None if none were journaled)."""
        return self.limits.to_json().decode() if self.limits_digest else None

    def snapshot_positions(self) -> list[Position]:
        return [
            sb.position
            for book in self.accounts.values()
            for sb in book.symbols.values()
            if sb.position.quantity or sb.position.realized_pnl
        ]

    def client_id_row(self, order: Order) -> tuple[str, str, str, bytes] | None:
        """The idempotency entry that `order` created, as a snapshot row (None if its
        client_order_id was first used by another order)."""
        known = self.client_ids.get((order.account, order.client_order_id))
        if known is None or known[0] != order.order_id:
            return None
        return order.account, order.client_order_id, order.order_id, known[1]

    @classmethod
    def from_snapshot(
        cls,
        snap: StateSnapshot,
        instruments: dict[str, Instrument],
        limits: RiskLimits,
        retain_terminal_ns: int | None = None,
    ) -> EngineState:
        state = cls(
            instruments,
            limits_from_json(snap.limits_json) if snap.limits_json else limits,
            retain_terminal_ns,
        )
        state.limits_digest = snap.limits_digest
        state.last_seq = snap.seq
        state.order_count = snap.order_count
        state.fill_count = snap.fill_count
        state.global_state = snap.global_state
        state.watermark_ns = snap.watermark_ns
        state.marks = dict(snap.marks)
        for account, trading_state in snap.account_states.items():
            state.account(account).trading_state = trading_state
        for order in snap.orders:
            state.orders[order.order_id] = order
            book = state.account(order.account)
            state._slots[order.order_id] = book.orders.append(order)
            if order.is_open:
                book.open_orders[order.order_id] = order
                state._reserve(order, 1)
            else:
                state._retire(order)
        for fill in snap.fills:
            state._retain_fill(fill, state.account(fill.account).fills.append(fill))
        for position in snap.positions:
            state._restore_position(position)
        for account, client_order_id, order_id, fp in snap.client_ids:
            state.client_ids[(account, client_order_id)] = (order_id, fp)
        state.feature_scales = dict(snap.feature_scales)
        state._scaled = {symbol: {} for symbol in snap.feature_scales}
        return state

    def _restore_position(self, position: Position) -> None:
        book = self.account(position.account)
        book.symbol(position.symbol).position = position
        book.realized_pnl += position.realized_pnl
        if position.quantity:
            mark = self.marks.get(position.symbol, position.average_cost)
            multiplier = self.multipliers.get(position.symbol, 1.0)
            book.gross_exposure += abs(position.quantity) * mark * multiplier
            book.unrealized_pnl += unrealized(
                position.quantity, position.average_cost, mark, multiplier
            )
            self.holders.setdefault(position.symbol, set()).add(position.account)

    def open_orders(self) -> Iterable[Order]:
        """Every open order, account by account, each account's in creation order: the
        open entries of its order log, the same orders as `book.open_orders`, whose own
        order is arbitrary (it is sharded). Sorting that instead took 300 ms at 200,000."""
        for book in self.accounts.values():
            yield from (order for order in book.orders if order.is_open)
