"""The trading engine: commands in, events out, one event loop, no locks.

Every command follows the same path: validate against the current state
(risk checks, the order lifecycle table), emit events (apply to state, append
to the journal), await the journal's group commit, and only then answer and
talk to the venue. Sending to the venue after the commit means a crash can
never leave an order at the venue that the journal does not know.

The venue's execution reports come back through `on_quote` and `pump`; they
become events the same way, but nobody waits on their commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from realtime import events as ev
from realtime.clock import Clock
from realtime.domain import (
    Instrument,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Trade,
    TradingState,
)
from realtime.journal import Journal
from realtime.limits import RiskLimits
from realtime.oms import IllegalTransition, Trigger, can_transition
from realtime.risk import (
    Rejection,
    RejectReason,
    RiskContext,
    duplicate_client_order_id,
    evaluate,
)
from realtime.snapshot_build import SnapshotBuild
from realtime.snapshot_format import decode_snapshot
from realtime.state import EngineState, request_fingerprint
from realtime.throttle import TokenBucket
from realtime.venue import ExecutionReport, Venue, VenueQueueFull
from realtime.venue.translation import event_for

log = logging.getLogger(__name__)

EventListener = Callable[[int, ev.Event], None]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # Events between state snapshots: bounds restart time (replay after the last one).
    snapshot_every: int = 200_000
    # A quote becomes a journaled PriceSampled (and moves marks) at most this often per symbol.
    price_sample_interval_ns: int = 1_000_000_000
    # Drive the venue from loop timers. Tests with a fake clock turn this off and call pump().
    auto_pump: bool = True
    # Snapshot on a clean close, so that a normal restart replays nothing.
    snapshot_on_close: bool = True
    # Terminal orders (and fills) older than this leave the in-memory state; they stay in
    # the journal and the warehouse, and GET /orders/{id} answers 404 ORDER_NOT_FOUND for
    # them. Idempotency (client_order_id) holds within this window. None keeps everything.
    retain_terminal_s: float | None = 3_600.0

    @property
    def retain_terminal_ns(self) -> int | None:
        return None if self.retain_terminal_s is None else int(self.retain_terminal_s * 1e9)


class SubmitResult(msgspec.Struct, frozen=True):
    # A struct, not a frozen dataclass: one is built per submit, and a frozen
    # dataclass's __init__ sets each field through object.__setattr__.
    order: Order
    created: bool  # False: an idempotent retry answered with the existing order
    rejection: Rejection | None


class OrderNotFound(Exception):
    code = "ORDER_NOT_FOUND"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id!r}")
        self.order_id = order_id


class ReplaceRefused(Exception):
    """A cancel-replace that failed pre-trade risk (journaled as ReplaceRiskRejected);
    the order is left untouched."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.detail)
        self.rejection = rejection


class InvalidReplace(Exception):
    code = "INVALID_REPLACE"


class EngineFailed(Exception):
    """The journal can no longer commit: nothing new may be acknowledged."""

    code = "ENGINE_UNAVAILABLE"


def rebuild_state(
    journal: Journal,
    instruments: dict[str, Instrument],
    limits: RiskLimits,
    retain_terminal_ns: int | None = None,
) -> EngineState:
    """State as of the journal's last committed event: latest snapshot plus the events after it."""
    snapshot = journal.latest_snapshot()
    if snapshot is None:
        state = EngineState(instruments, limits, retain_terminal_ns)
    else:
        state = EngineState.from_snapshot(
            decode_snapshot(snapshot[1]), instruments, limits, retain_terminal_ns
        )
    apply = state.apply
    for seq, _ts, event in journal.read(after_seq=state.last_seq):
        apply(event, seq)
    return state


class TradingEngine:
    def __init__(
        self,
        state: EngineState,
        journal: Journal,
        venue: Venue,
        clock: Clock,
        config: EngineConfig | None = None,
    ) -> None:
        self.state = state
        self.journal = journal
        self.venue = venue
        self.clock = clock
        self.config = config or EngineConfig()
        self.quotes: dict[str, Quote] = {}  # the hot cache: latest quote per symbol
        self._buckets: dict[str, TokenBucket] = {}
        self._last_sample_ns: dict[str, int] = {}
        self._listeners: list[EventListener] = []
        self._snapshot_seq = state.last_seq
        self.snapshots_taken = 0
        self._snapshot_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Future[Any]] = set()
        # Accepted orders whose commit is not yet confirmed, so not yet at the venue.
        self._awaiting_handoff: dict[str, asyncio.Future[None] | None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due_ns = 0
        self._failed: BaseException | None = None
        self.venue_anomalies = 0

    @classmethod
    async def open(
        cls,
        journal: Journal,
        instruments: dict[str, Instrument],
        limits: RiskLimits,
        venue: Venue,
        clock: Clock,
        config: EngineConfig | None = None,
    ) -> TradingEngine:
        """Rebuild state from the journal, hand open orders back to the venue, start."""
        config = config or EngineConfig()
        state = rebuild_state(journal, instruments, limits, config.retain_terminal_ns)
        engine = cls(state, journal, venue, clock, config)
        engine._restore_venue()
        if state.limits_digest != limits.digest():
            await engine.set_limits(limits, source="startup", actor="system")
        return engine

    def _restore_venue(self) -> None:
        """Hand open orders back to the venue and settle requests lost with the old process."""
        open_orders = list(self.state.open_orders())
        self.venue.restore(open_orders)
        now = self.clock.now_ns()
        for order in open_orders:
            if order.status is OrderStatus.PENDING_CANCEL:
                self.venue.cancel(order.order_id, now)
            elif order.status is OrderStatus.PENDING_REPLACE:
                # The requested terms died with the process; the client may replace again.
                self._emit_background(
                    ev.ReplaceRejected(ts_ns=now, order_id=order.order_id, reason="LOST_IN_RESTART")
                )
        self._schedule_pump()

    # --- queries ---------------------------------------------------------------

    def order(self, account: str, order_id: str) -> Order:
        order = self.state.orders.get(order_id)
        if order is None or order.account != account:
            raise OrderNotFound(order_id)
        return order

    def subscribe(self, listener: EventListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def healthy(self) -> bool:
        return self._failed is None and self.journal.failure is None

    # --- commands ---------------------------------------------------------------

    def check(self, account: str, req: OrderRequest) -> Rejection | None:
        """Evaluate pre-trade risk without placing the order or using a throttle token."""
        known = self.state.client_ids.get((account, req.client_order_id))
        if known is not None and known[1] != request_fingerprint(req):
            return duplicate_client_order_id(req)
        now = self.clock.now_ns()
        return evaluate(req, self._context(account, req, now, consume=False))

    async def submit(self, account: str, req: OrderRequest) -> SubmitResult:
        self._ensure_healthy()
        state = self.state
        known = state.client_ids.get((account, req.client_order_id))
        if known is not None and known[1] == request_fingerprint(req):
            # A retry: answer with the original once it is durable (it may still be committing).
            await self.journal.flush()
            order = state.orders[known[0]]
            return SubmitResult(order, created=False, rejection=_rejection_of(order))
        if known is not None:
            return await self._refuse_duplicate(account, req, state.orders[known[0]])
        self._ensure_venue_capacity()
        now = self.clock.now_ns()
        ctx = self._context(account, req, now, consume=True)
        rejection = evaluate(req, ctx)
        order_id = state.next_order_id()
        # The benchmark of implementation shortfall: the trader's, else the arrival mid.
        decision_price = (
            req.decision_price if req.decision_price is not None else ctx.reference_price
        )
        if rejection is not None:
            commit = self._emit(
                ev.OrderRejected(
                    ts_ns=now,
                    order_id=order_id,
                    account=account,
                    request=req,
                    reason=rejection.reason.value,
                    detail=rejection.detail,
                    decision_price=decision_price,
                )
            )
            await commit
            return SubmitResult(state.orders[order_id], created=True, rejection=rejection)
        commit = self._emit(
            ev.OrderAccepted(
                ts_ns=now,
                order_id=order_id,
                account=account,
                request=req,
                reference_price=ctx.reference_price,
                decision_price=decision_price,
            )
        )
        order = state.orders[order_id]
        self._awaiting_handoff[order_id] = None
        try:
            await commit
        finally:
            waiter = self._awaiting_handoff.pop(order_id, None)
        if self.healthy:  # a commit nobody awaited may have failed the journal meanwhile
            self.venue.submit(order, self.clock.now_ns())
            self._schedule_pump()
        if waiter is not None:
            waiter.set_result(None)
        return SubmitResult(order, created=True, rejection=None)

    async def _refuse_duplicate(
        self, account: str, req: OrderRequest, existing: Order
    ) -> SubmitResult:
        """A conflicting retry: journaled for audit, answered with the order the
        client_order_id names; no order is created and no throttle token is used."""
        rejection = duplicate_client_order_id(req)
        await self._emit(
            ev.DuplicateOrderRejected(
                ts_ns=self.clock.now_ns(),
                order_id=existing.order_id,
                account=account,
                request=req,
                reason=rejection.reason.value,
                detail=rejection.detail,
            )
        )
        return SubmitResult(existing, created=False, rejection=rejection)

    async def cancel(self, account: str, order_id: str) -> Order:
        self._ensure_healthy()
        order = self.order(account, order_id)
        await self._until_at_venue(order_id)
        if not can_transition(order.status, Trigger.CANCEL_REQUEST):
            raise IllegalTransition(order_id, order.status, Trigger.CANCEL_REQUEST)
        self._ensure_venue_capacity()
        await self._emit(ev.CancelRequested(ts_ns=self.clock.now_ns(), order_id=order_id))
        self.venue.cancel(order_id, self.clock.now_ns())
        self._schedule_pump()
        return order

    async def replace(
        self, account: str, order_id: str, quantity: int, limit_price: float | None
    ) -> Order:
        """Cancel-replace in place: new total quantity and (for limit orders) a new price."""
        self._ensure_healthy()
        order = self.order(account, order_id)
        await self._until_at_venue(order_id)
        if not can_transition(order.status, Trigger.REPLACE_REQUEST):
            raise IllegalTransition(order_id, order.status, Trigger.REPLACE_REQUEST)
        if order.order_type is OrderType.MARKET and limit_price is not None:
            raise InvalidReplace("a market order takes no limit price")
        if order.order_type is OrderType.LIMIT and limit_price is None:
            limit_price = order.limit_price
        if quantity <= order.filled_quantity:
            raise InvalidReplace(
                f"new quantity {quantity} must exceed the filled quantity {order.filled_quantity}"
            )
        # Risk sees the amended order's remaining quantity, with this order's own
        # open quantity taken out of the account's aggregates.
        amended = OrderRequest(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity - order.filled_quantity,
            order_type=order.order_type,
            limit_price=limit_price,
            time_in_force=order.time_in_force,
        )
        now = self.clock.now_ns()
        rejection = evaluate(amended, self._context(account, amended, now, exclude=order))
        if rejection is not None:
            await self._emit(
                ev.ReplaceRiskRejected(
                    ts_ns=now,
                    order_id=order_id,
                    quantity=quantity,
                    limit_price=limit_price,
                    reason=rejection.reason.value,
                    detail=rejection.detail,
                )
            )
            raise ReplaceRefused(rejection)
        self._ensure_venue_capacity()
        await self._emit(
            ev.ReplaceRequested(
                ts_ns=now, order_id=order_id, quantity=quantity, limit_price=limit_price
            )
        )
        self.venue.replace(order_id, quantity, limit_price, self.clock.now_ns())
        self._schedule_pump()
        return order

    async def set_trading_state(
        self, state: TradingState, *, account: str | None, actor: str, reason: str
    ) -> None:
        self._ensure_healthy()
        await self._emit(
            ev.TradingStateChanged(
                ts_ns=self.clock.now_ns(), account=account, state=state, actor=actor, reason=reason
            )
        )

    async def set_limits(self, limits: RiskLimits, *, source: str, actor: str) -> None:
        self._ensure_healthy()
        await self._emit(
            ev.RiskLimitsChanged(
                ts_ns=self.clock.now_ns(),
                digest=limits.digest(),
                source=source,
                actor=actor,
                limits_json=limits.to_json().decode(),
            )
        )
        for account, bucket in self._buckets.items():
            account_limits = limits.for_account(account)
            bucket.reconfigure(account_limits.max_orders_per_second, account_limits.order_burst)

    async def set_feature_scales(self, scales: dict[str, ev.FeatureScale], *, source: str) -> int:
        """Journal the symbols whose volatility scaling differs from the one in force
        (issue 9), then apply it; answers how many changed. Nothing changed, nothing
        journaled."""
        self._ensure_healthy()
        current = self.state.feature_scales
        changed = {
            symbol: scale
            for symbol, scale in scales.items()
            if _scale_key(current.get(symbol)) != _scale_key(scale)
        }
        if changed:
            await self._emit(
                ev.FeatureLimitsChanged(ts_ns=self.clock.now_ns(), scales=changed, source=source)
            )
        return len(changed)

    # --- market data and the venue -------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """A new top of book: refresh the hot cache, sample marks, let resting orders fill."""
        symbol = quote.symbol
        self.quotes[symbol] = quote
        last = self._last_sample_ns.get(symbol)
        if last is None or quote.ts_ns - last >= self.config.price_sample_interval_ns:
            self._last_sample_ns[symbol] = quote.ts_ns
            self._emit_background(
                ev.PriceSampled(
                    ts_ns=quote.ts_ns,
                    symbol=symbol,
                    bid=quote.bid,
                    ask=quote.ask,
                    bid_size=quote.bid_size,
                    ask_size=quote.ask_size,
                )
            )
        reports = self.venue.on_quote(quote)
        if reports:
            self._apply_reports(reports)
            self._schedule_pump()

    def on_trade(self, trade: Trade) -> None:
        """A print on the tape: journaled for the warehouse, no state changes."""
        self._emit_background(
            ev.TradePrinted(
                ts_ns=trade.ts_ns, symbol=trade.symbol, price=trade.price, size=trade.size
            )
        )

    def pump(self) -> None:
        """Let the venue process whatever is due now (acks, queued fills, DAY expiry)."""
        reports = self.venue.poll(self.clock.now_ns())
        if reports:
            self._apply_reports(reports)
        self._schedule_pump()

    def _apply_reports(self, reports: Iterable[ExecutionReport]) -> None:
        for report in reports:
            event = event_for(report, self.state)
            if event is None:
                self.venue_anomalies += 1
                log.warning("venue report not applicable, dropped: %r", report)
            else:
                self._emit_background(event)

    def _schedule_pump(self) -> None:
        if not self.config.auto_pump:
            return
        due = self.venue.next_wakeup_ns()
        if due is None:
            return
        if self._timer is not None:
            if self._timer_due_ns <= due:
                return
            self._timer.cancel()
        delay_s = max(0, due - self.clock.now_ns()) / 1e9
        self._timer_due_ns = due
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self.pump()
        except Exception:  # a venue bug must not kill the loop's timer chain silently
            log.exception("venue pump failed")

    # --- events -------------------------------------------------------------

    def _emit(self, event: ev.Event) -> asyncio.Future[int]:
        """Apply to state, append to the journal, notify listeners; the future is the commit."""
        self.state.apply(event)
        try:
            commit = self.journal.append(event)
        except Exception as exc:
            self._fail(exc)
            raise EngineFailed(str(exc)) from exc
        self._appended(event)
        return commit

    def _emit_background(self, event: ev.Event) -> None:
        """`_emit` for an event nobody awaits (venue reports, market samples): no commit
        future; a failed commit fails the journal, which `_ensure_healthy` sees."""
        self.state.apply(event)
        try:
            self.journal.append_unawaited(event)
        except Exception as exc:
            self._fail(exc)
            raise EngineFailed(str(exc)) from exc
        self._appended(event)

    def _appended(self, event: ev.Event) -> None:
        """What follows every append: the state learns its seq, listeners hear of it, and
        a snapshot starts when enough events have passed since the last one."""
        seq = self.journal.last_seq
        self.state.last_seq = seq
        for listener in self._listeners:
            listener(seq, event)
        if seq - self._snapshot_seq >= self.config.snapshot_every:
            self._take_snapshot()

    def _background_done(self, commit: asyncio.Future[Any]) -> None:
        self._background.discard(commit)
        if not commit.cancelled() and commit.exception() is not None:
            self._fail(commit.exception())

    def _take_snapshot(self) -> None:
        """Start a snapshot of the state as of now, built off the hot path
        (realtime.snapshot_build): a chunk per loop iteration, stored by the journal
        a chunk per transaction between event commits."""
        self._snapshot_seq = self.state.last_seq
        if self._snapshot_task is not None:
            return  # one at a time; the next trigger comes snapshot_every events later
        build = SnapshotBuild(self.state)
        self.state.snapshot_build = build
        self._snapshot_task = task = asyncio.get_running_loop().create_task(
            self._build_snapshot(build)
        )
        self._background.add(task)
        task.add_done_callback(self._snapshot_done)

    async def _build_snapshot(self, build: SnapshotBuild) -> None:
        try:
            done = False
            while not done:
                await asyncio.sleep(0)  # one chunk per loop iteration: others run between
                done = build.step()
        finally:
            self.state.snapshot_build = None
        self.snapshots_taken += 1
        # The pieces as they are: the journal stores them a chunk per transaction.
        await self.journal.write_snapshot(build.seq, build.pieces())

    def _snapshot_done(self, task: asyncio.Future[Any]) -> None:
        self._snapshot_task = None
        self._background_done(task)

    def _snapshot_now(self) -> None:
        """A snapshot built in one go: at close, where nothing waits on the loop."""
        build = SnapshotBuild(self.state)
        self._snapshot_seq = build.seq
        self.snapshots_taken += 1
        written = self.journal.write_snapshot(build.seq, build.build_now())
        self._background.add(written)
        written.add_done_callback(self._background_done)

    def _fail(self, exc: BaseException | None) -> None:
        if self._failed is None:
            log.error("journal failed; the engine stops acknowledging: %s", exc)
            self._failed = exc or RuntimeError("journal failed")

    def _ensure_healthy(self) -> None:
        if self._failed is None:
            failure = self.journal.failure  # a commit nobody awaited may have failed it
            if failure is None:
                return
            self._fail(failure)
        raise EngineFailed(f"journal unavailable: {self._failed}")

    def _ensure_venue_capacity(self) -> None:
        if not self.venue.has_capacity(len(self._awaiting_handoff) + 1):
            raise VenueQueueFull(
                depth=self.venue.queue_depth,
                capacity=self.venue.queue_capacity,
                retry_after_s=self.venue.retry_after_s,
            )

    async def _until_at_venue(self, order_id: str) -> None:
        """A cancel or replace must reach the venue after the order it refers to."""
        if order_id not in self._awaiting_handoff:
            return
        waiter = self._awaiting_handoff[order_id]
        if waiter is None:
            waiter = self._awaiting_handoff[order_id] = asyncio.get_running_loop().create_future()
        await waiter

    # --- risk context ---------------------------------------------------------

    def _context(
        self,
        account: str,
        req: OrderRequest,
        now_ns: int,
        *,
        consume: bool = True,
        exclude: Order | None = None,
    ) -> RiskContext:
        """The state's risk context, with what the engine owns: the latest mid from the
        hot cache and the account's submit-rate bucket (taken from only if `consume`)."""
        bucket = self._buckets.get(account)
        if bucket is None:
            limits = self.state.account_limits(account)[0]
            bucket = self._buckets[account] = TokenBucket(
                limits.max_orders_per_second, limits.order_burst, now_ns
            )
        if exclude is not None:
            throttle_ok = True  # a replace is not a new submission
        elif consume:
            throttle_ok = bucket.take(now_ns)
        else:
            throttle_ok = bucket.available(now_ns)
        quote = self.quotes.get(req.symbol)
        mid = None if quote is None else (quote.bid + quote.ask) / 2.0  # Quote.mid, inlined
        return self.state.risk_context(account, req, mid, throttle_ok, exclude)

    # --- lifecycle ---------------------------------------------------------------

    async def close(self) -> None:
        """Stop the venue timer, snapshot what the last snapshot does not cover (so a
        normal restart replays nothing), then flush and close the journal."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._snapshot_task is not None:
            # Let a snapshot in progress finish: it is written before the journal closes.
            await asyncio.wait([self._snapshot_task])
        if (
            self.config.snapshot_on_close
            and self.healthy
            and self.journal.last_seq > self._snapshot_seq
        ):
            self._snapshot_now()
        await self.journal.aclose()


def _scale_key(scale: ev.FeatureScale | None) -> tuple[float, float]:
    """What makes two scales different limits (not the feature value behind them)."""
    return (1.0, 1.0) if scale is None else (scale.collar_scale, scale.notional_scale)


def _rejection_of(order: Order) -> Rejection | None:
    if order.reject_reason is None:
        return None
    try:
        reason = RejectReason(order.reject_reason)
    except ValueError:  # a venue rejection carries the venue's reason, not a risk code
        return None
    return Rejection(reason, order.reject_detail or "")
