"""The engine end to end: risk, OMS, simulated venue, P&L and the journal, on real files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from realtime.domain import OrderStatus, Side, TimeInForce, TradingState
from realtime.engine import (
    EngineConfig,
    EngineFailed,
    InvalidReplace,
    OrderNotFound,
    ReplaceRefused,
    rebuild_state,
)
from realtime.events import (
    DuplicateOrderRejected,
    OrderAccepted,
    OrderRejected,
    ReplaceRiskRejected,
    RiskLimitsChanged,
)
from realtime.journal import Journal
from realtime.oms import IllegalTransition
from realtime.risk import RejectReason
from realtime.venue import VenueQueueFull
from tests.realtime.harness import (
    INSTRUMENTS,
    Harness,
    limit,
    make_limits,
    market,
    open_engine,
)


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def journal_types(path: Path) -> list[str]:
    journal = Journal.open(path)
    try:
        return [type(e).__name__ for _, _, e in journal.read()]
    finally:
        journal.close()


def test_submit_when_valid_then_acknowledged_after_commit_and_new_after_venue_ack(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            result = await h.submit(limit("c1", Side.BUY, 100, 99.50))
            assert result.created and result.rejection is None
            assert result.order.status is OrderStatus.PENDING_NEW
            assert h.engine.journal.committed_seq == h.engine.state.last_seq
            await h.settle()
            assert result.order.status is OrderStatus.NEW

    run(scenario())
    assert journal_types(tmp_path / "j.db")[-3:] == [
        "PriceSampled",
        "OrderAccepted",
        "OrderAcknowledged",
    ]


def test_submit_when_risk_fails_then_rejection_is_journaled_with_reason(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            result = await h.submit(limit("c1", Side.BUY, 100, 150.00))
            assert result.rejection is not None
            assert result.rejection.reason is RejectReason.PRICE_OUTSIDE_COLLAR
            assert result.order.status is OrderStatus.REJECTED
            assert result.order.reject_reason == "PRICE_OUTSIDE_COLLAR"

    run(scenario())
    journal = Journal.open(tmp_path / "j.db")
    rejected = [e for _, _, e in journal.read() if isinstance(e, OrderRejected)]
    journal.close()
    assert [e.reason for e in rejected] == ["PRICE_OUTSIDE_COLLAR"]


def test_submit_when_client_order_id_reused_with_other_terms_then_duplicate_and_no_new_order(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            first = await h.submit(limit("c1", Side.BUY, 100, 99.50))
            book = h.engine.state.accounts["alice"]
            orders_before, count_before = len(book.orders), h.engine.state.order_count
            for quantity in range(101, 124):  # 23 conflicting retries, as the fuzzer sent
                conflict = await h.submit(limit("c1", Side.BUY, quantity, 99.50))
                assert conflict.rejection is not None
                assert conflict.rejection.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
                assert conflict.order is first.order and not conflict.created
            # Even terms that would fail another check are refused as the duplicate they are.
            collar = await h.submit(limit("c1", Side.BUY, 100, 1.00))
            assert collar.rejection is not None
            assert collar.rejection.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
            assert len(book.orders) == orders_before
            assert h.engine.state.order_count == count_before
            assert first.order.status is OrderStatus.PENDING_NEW and first.order.quantity == 100
            # The same body is still an idempotent retry.
            retry = await h.submit(limit("c1", Side.BUY, 100, 99.50))
            assert retry.rejection is None and retry.order is first.order

    run(scenario())
    journal = Journal.open(tmp_path / "j.db")
    try:
        events = [e for _, _, e in journal.read()]
        rebuilt = rebuild_state(journal, INSTRUMENTS, make_limits())
    finally:
        journal.close()
    audit = [e for e in events if isinstance(e, DuplicateOrderRejected)]
    assert len(audit) == 24
    assert {e.order_id for e in audit} == {"O1"}
    assert {e.reason for e in audit} == {"DUPLICATE_CLIENT_ORDER_ID"}
    assert [e.request.quantity for e in audit[:3]] == [101, 102, 103]
    assert [type(e).__name__ for e in events].count("OrderRejected") == 0
    assert len(rebuilt.accounts["alice"].orders) == 1


def test_check_when_client_order_id_reused_with_other_terms_then_duplicate(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            await h.submit(limit("c1", Side.BUY, 100, 99.50))
            same = h.engine.check("alice", limit("c1", Side.BUY, 100, 99.50))
            other = h.engine.check("alice", limit("c1", Side.BUY, 200, 99.50))
            assert same is None
            assert other is not None and other.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID

    run(scenario())


def test_submit_when_retried_with_same_client_order_id_then_returns_existing_order(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            first = await h.submit(limit("c1", Side.BUY, 100, 99.50))
            retry = await h.submit(limit("c1", Side.BUY, 100, 99.50))
            assert retry.order is first.order and not retry.created
            different = await h.submit(limit("c1", Side.BUY, 200, 99.50))
            assert different.rejection is not None
            assert different.rejection.reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID
            # Another account may use the same client order id.
            other = await h.submit(limit("c1", Side.BUY, 100, 99.50), account="bob")
            assert other.created and other.order.order_id != first.order.order_id

    run(scenario())
    journal = Journal.open(tmp_path / "j.db")
    accepted = [e for _, _, e in journal.read() if isinstance(e, OrderAccepted)]
    journal.close()
    assert len(accepted) == 2


def test_market_order_when_filled_then_position_and_pnl_update(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            buy = await h.submit(market("b1", Side.BUY, 100))
            await h.settle()
            assert buy.order.status is OrderStatus.FILLED
            assert buy.order.average_fill_price == pytest.approx(100.01)
            book = h.engine.state.accounts["alice"]
            assert book.symbols["AAPL"].position.quantity == 100
            h.quote("AAPL", 101.99, 102.01)
            sell = await h.submit(market("s1", Side.SELL, 40))
            await h.settle()
            assert sell.order.status is OrderStatus.FILLED
            position = book.symbols["AAPL"].position
            assert position.quantity == 60
            assert position.realized_pnl == pytest.approx((101.99 - 100.01) * 40)
            assert book.unrealized_pnl == pytest.approx((102.00 - 100.01) * 60)
            assert [f.quantity for f in book.fills] == [100, 40]

    run(scenario())


def test_cancel_when_order_filled_then_illegal_transition(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            buy = await h.submit(market("b1", Side.BUY, 100))
            await h.settle()
            with pytest.raises(IllegalTransition) as excinfo:
                await h.engine.cancel("alice", buy.order.order_id)
            assert excinfo.value.code == "ILLEGAL_TRANSITION"
            assert buy.order.status is OrderStatus.FILLED

    run(scenario())


def test_cancel_when_resting_then_canceled_and_open_quantity_released(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            order = (await h.submit(limit("c1", Side.BUY, 100, 99.00))).order
            await h.settle()
            book = h.engine.state.accounts["alice"]
            assert book.symbols["AAPL"].open_buy == 100
            await h.engine.cancel("alice", order.order_id)
            assert order.status is OrderStatus.PENDING_CANCEL
            await h.settle()
            assert order.status is OrderStatus.CANCELED
            assert book.symbols["AAPL"].open_buy == 0
            assert book.open_notional == pytest.approx(0.0)

    run(scenario())


def test_cancel_when_other_accounts_order_then_not_found(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            order = (await h.submit(limit("c1", Side.BUY, 100, 99.00))).order
            with pytest.raises(OrderNotFound):
                await h.engine.cancel("bob", order.order_id)
            with pytest.raises(OrderNotFound):
                h.engine.order("bob", order.order_id)

    run(scenario())


def test_replace_when_price_moved_to_cross_then_fills_at_new_terms(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            order = (await h.submit(limit("c1", Side.BUY, 100, 99.00))).order
            await h.settle()
            await h.engine.replace("alice", order.order_id, 150, 100.05)
            assert order.status is OrderStatus.PENDING_REPLACE
            await h.settle()
            assert (order.quantity, order.limit_price) == (150, 100.05)
            assert order.status is OrderStatus.FILLED
            assert order.average_fill_price == pytest.approx(100.01)

    run(scenario())


def test_replace_when_new_terms_fail_risk_then_refused_and_order_unchanged(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db", limits=make_limits(max_order_quantity=500)) as h:
            h.quote("AAPL", 99.99, 100.01)
            order = (await h.submit(limit("c1", Side.BUY, 100, 99.00))).order
            await h.settle()
            with pytest.raises(ReplaceRefused) as excinfo:
                await h.engine.replace("alice", order.order_id, 900, 99.00)
            assert excinfo.value.rejection.reason is RejectReason.MAX_ORDER_QUANTITY
            await h.engine.journal.flush()
            refused = [
                e for _, _, e in h.engine.journal.read() if isinstance(e, ReplaceRiskRejected)
            ]
            assert [(e.order_id, e.quantity, e.reason) for e in refused] == [
                (order.order_id, 900, "MAX_ORDER_QUANTITY")
            ]
            with pytest.raises(InvalidReplace):
                await h.engine.replace("alice", order.order_id, 0, 99.00)
            assert (order.status, order.quantity) == (OrderStatus.NEW, 100)

    run(scenario())


def test_replace_when_market_order_partially_filled_then_invalid_replace_and_unchanged(
    tmp_path: Path,
) -> None:
    # The deterministic form of the API test of the same name: with a fake clock the
    # market order is held PARTIALLY_FILLED (3,000 against 1,000 displayed).
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01, size=1_000)
            order = (await h.submit(market("m1", Side.BUY, 3_000))).order
            await h.settle()
            assert order.status is OrderStatus.PARTIALLY_FILLED
            filled = order.filled_quantity
            assert 0 < filled < 3_000
            with pytest.raises(InvalidReplace, match="must exceed the filled quantity"):
                await h.engine.replace("alice", order.order_id, filled, None)
            with pytest.raises(InvalidReplace, match="takes no limit price"):
                await h.engine.replace("alice", order.order_id, 3_000, 99.00)
            assert (order.status, order.quantity, order.filled_quantity) == (
                OrderStatus.PARTIALLY_FILLED,
                3_000,
                filled,
            )

    run(scenario())


def test_submit_when_venue_queue_full_then_raises_and_changes_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db", queue_capacity=2) as h:
            h.quote("AAPL", 99.99, 100.01)
            await h.submit(limit("c1", Side.BUY, 1, 99.00))
            await h.submit(limit("c2", Side.BUY, 1, 99.00))
            seq_before = h.engine.journal.last_seq
            with pytest.raises(VenueQueueFull) as excinfo:
                await h.submit(limit("c3", Side.BUY, 1, 99.00))
            assert excinfo.value.capacity == 2
            assert h.engine.journal.last_seq == seq_before
            assert ("alice", "c3") not in h.engine.state.client_ids
            await h.settle()  # the venue drains; there is room again
            assert (await h.submit(limit("c3", Side.BUY, 1, 99.00))).created

    run(scenario())


def test_position_limit_when_open_orders_would_breach_then_rejected(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db", limits=make_limits(max_position=1_000)) as h:
            h.quote("AAPL", 99.99, 100.01)
            assert (await h.submit(limit("c1", Side.BUY, 600, 99.00))).rejection is None
            second = await h.submit(limit("c2", Side.BUY, 600, 99.00))
            assert second.rejection is not None
            assert second.rejection.reason is RejectReason.POSITION_LIMIT

    run(scenario())


def test_kill_switch_when_halted_then_rejects_and_reducing_admits_only_reductions(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            await h.submit(market("b1", Side.BUY, 100))
            await h.settle()
            await h.engine.set_trading_state(
                TradingState.HALTED, account=None, actor="admin", reason="test"
            )
            halted = await h.submit(market("b2", Side.BUY, 10))
            assert halted.rejection is not None
            assert halted.rejection.reason is RejectReason.TRADING_HALTED
            await h.engine.set_trading_state(
                TradingState.REDUCING, account="alice", actor="admin", reason="test"
            )
            await h.engine.set_trading_state(
                TradingState.ACTIVE, account=None, actor="admin", reason="test"
            )
            grow = await h.submit(market("b3", Side.BUY, 10))
            assert grow.rejection is not None and grow.rejection.reason is RejectReason.REDUCE_ONLY
            shrink = await h.submit(market("s1", Side.SELL, 50))
            assert shrink.rejection is None
            other = await h.submit(market("x1", Side.BUY, 10), account="bob")
            assert other.rejection is None

    run(scenario())


def test_check_when_evaluating_then_nothing_is_placed_or_journaled(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            seq = h.engine.journal.last_seq
            assert h.engine.check("alice", limit("c1", Side.BUY, 100, 99.00)) is None
            rejection = h.engine.check("alice", limit("c1", Side.BUY, 100, 9.00))
            assert rejection is not None
            assert rejection.reason is RejectReason.PRICE_OUTSIDE_COLLAR
            assert h.engine.journal.last_seq == seq
            assert not h.engine.state.orders

    run(scenario())


def test_day_order_when_session_ends_then_expires(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            day = (await h.submit(limit("c1", Side.BUY, 100, 99.00))).order
            gtc = (await h.submit(limit("c2", Side.BUY, 100, 99.00, tif=TimeInForce.GTC))).order
            await h.settle()
            h.advance(7 * 3600 * 1_000_000_000)
            await h.engine.journal.flush()
            assert day.status is OrderStatus.EXPIRED
            assert gtc.status is OrderStatus.NEW

    run(scenario())


def snapshot_view(h: Harness) -> dict[str, object]:
    state = h.engine.state
    return {
        "orders": {
            o.order_id: (o.status, o.filled_quantity, o.quantity, o.limit_price)
            for o in state.orders.values()
        },
        "positions": {
            (a, s): (sb.position.quantity, round(sb.position.realized_pnl, 6))
            for a, book in state.accounts.items()
            for s, sb in book.symbols.items()
        },
        "open": {
            (a, s): (sb.open_buy, sb.open_sell)
            for a, book in state.accounts.items()
            for s, sb in book.symbols.items()
        },
        "pnl": {
            a: (round(b.realized_pnl, 6), round(b.unrealized_pnl, 6), round(b.open_notional, 6))
            for a, b in state.accounts.items()
        },
        "fills": sum(len(b.fills) for b in state.accounts.values()),
        "counters": (state.order_count, state.fill_count, state.last_seq),
    }


async def trade_a_while(h: Harness) -> None:
    prices = [100.0, 100.5, 99.5, 101.0, 100.25, 98.75]
    for i, mid in enumerate(prices):
        h.quote("AAPL", mid - 0.01, mid + 0.01, size=300)
        h.quote("MSFT", 2 * mid - 0.01, 2 * mid + 0.01, size=300)
        await h.submit(market(f"m{i}", Side.BUY if i % 2 else Side.SELL, 50 + i))
        await h.submit(limit(f"l{i}", Side.BUY, 20, round(mid - 0.5, 2), symbol="MSFT"))
        await h.submit(limit(f"x{i}", Side.SELL, 10, round(mid + 0.2, 2)))
        await h.settle()


@pytest.mark.parametrize("snapshot_every", [1_000_000, 7])
def test_restart_when_journal_replayed_then_state_is_identical(
    tmp_path: Path, snapshot_every: int
) -> None:
    # A huge interval and no snapshot on close: the second life replays every event.
    config = EngineConfig(
        auto_pump=False,
        price_sample_interval_ns=0,
        snapshot_every=snapshot_every,
        snapshot_on_close=snapshot_every < 1_000_000,
    )
    views: list[dict[str, object]] = []

    async def first_life() -> None:
        async with open_engine(tmp_path / "j.db", config=config) as h:
            await trade_a_while(h)
            await h.engine.journal.flush()
            views.append(snapshot_view(h))

    async def second_life() -> None:
        async with open_engine(tmp_path / "j.db", config=config) as h:
            views.append(snapshot_view(h))
            # The restored venue book keeps working: resting sells fill when crossed.
            resting = [
                o
                for o in h.engine.state.open_orders()
                if o.symbol == "AAPL" and o.side is Side.SELL
            ]
            assert resting
            h.quote("AAPL", 110.00, 110.02, size=10_000)
            await h.settle()
            assert all(o.status is OrderStatus.FILLED for o in resting)

    run(first_life())
    run(second_life())
    assert views[0] == views[1]
    if snapshot_every == 7:
        journal = Journal.open(tmp_path / "j.db")
        assert journal.latest_snapshot() is not None
        journal.close()


def test_startup_when_limits_file_changed_then_new_limits_are_journaled(tmp_path: Path) -> None:
    async def life(max_position: int) -> None:
        async with open_engine(tmp_path / "j.db", limits=make_limits(max_position=max_position)):
            pass

    run(life(1_000))
    run(life(1_000))
    run(life(2_000))
    journal = Journal.open(tmp_path / "j.db")
    changes = [e for _, _, e in journal.read() if isinstance(e, RiskLimitsChanged)]
    state = rebuild_state(journal, {}, make_limits())
    journal.close()
    assert len(changes) == 2
    assert state.limits.default.max_position == 2_000


def test_close_when_events_since_last_snapshot_then_snapshots_so_restart_replays_nothing(
    tmp_path: Path,
) -> None:
    async def life() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            await trade_a_while(h)

    run(life())
    journal = Journal.open(tmp_path / "j.db")
    try:
        snapshot = journal.latest_snapshot()
        assert snapshot is not None and snapshot[0] == journal.last_seq
    finally:
        journal.close()


def test_submit_when_symbol_unknown_then_risk_rejects_and_the_rejection_is_journaled(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            result = await h.submit(limit("c1", Side.BUY, 10, 1.00, symbol="NOPE"))
            assert result.rejection is not None
            assert result.rejection.reason is RejectReason.UNKNOWN_SYMBOL
            assert result.order.status is OrderStatus.REJECTED
            assert list(h.engine.state.accounts["alice"].orders) == [result.order]

    run(scenario())
    journal = Journal.open(tmp_path / "j.db")
    rejected = [e for _, _, e in journal.read() if isinstance(e, OrderRejected)]
    journal.close()
    assert [(e.reason, e.request.symbol) for e in rejected] == [("UNKNOWN_SYMBOL", "NOPE")]


def test_check_when_limits_change_then_the_next_check_reads_the_new_limits(
    tmp_path: Path,
) -> None:
    # The state caches each account's limits for risk: a change must drop the cache.
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            assert h.engine.check("alice", limit("c1", Side.BUY, 100, 99.50)) is None
            restricted = make_limits(restricted_symbols=["AAPL"])
            await h.engine.set_limits(restricted, source="test", actor="risk")
            verdict = h.engine.check("alice", limit("c1", Side.BUY, 100, 99.50))
            assert verdict is not None and verdict.reason is RejectReason.RESTRICTED_SYMBOL
            await h.engine.set_limits(make_limits(max_order_quantity=50), source="t", actor="r")
            verdict = h.engine.check("alice", limit("c1", Side.BUY, 100, 99.50))
            assert verdict is not None and verdict.reason is RejectReason.MAX_ORDER_QUANTITY

    run(scenario())


def test_submit_when_a_background_commit_failed_then_engine_unavailable(tmp_path: Path) -> None:
    """A venue report is journaled with no commit future (Journal.append_unawaited):
    its failed commit still stops the engine acknowledging anything new."""

    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            await h.submit(limit("c1", Side.BUY, 100, 99.50))
            db = sqlite3.connect(tmp_path / "j.db", isolation_level=None)  # a fault from outside
            try:
                db.execute(
                    "CREATE TRIGGER refuse BEFORE INSERT ON events "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                )
            finally:
                db.close()
            h.advance()  # the venue's ack: an OrderAcknowledged nobody awaits
            await asyncio.sleep(0)  # its loop commit runs, and fails
            assert not h.engine.healthy
            with pytest.raises(EngineFailed) as info:
                await h.submit(limit("c2", Side.BUY, 100, 99.50))
            assert info.value.code == "ENGINE_UNAVAILABLE"

    run(scenario())
