"""Behaviour of the simulated venue, driven by a fake clock and explicit quotes."""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as dt_time

import pytest

from realtime.clock import FakeClock
from realtime.domain import Instrument, Order, OrderStatus, OrderType, Quote, Side, TimeInForce
from realtime.venue import (
    Acked,
    Canceled,
    CancelRejected,
    ExecutionReport,
    Expired,
    Filled,
    FixedBpsSlippage,
    Rejected,
    Replaced,
    ReplaceRejected,
    SimulatedVenue,
    SimulatedVenueConfig,
    SizeImpactSlippage,
    Venue,
    VenueQueueFull,
)

NS = 1_000_000_000
LATENCY = 200_000
# 2024-01-02 14:30 UTC, a few hours before the default 21:00 UTC session end.
T0 = int(datetime(2024, 1, 2, 14, 30, tzinfo=UTC).timestamp()) * NS
SESSION_END = int(datetime(2024, 1, 2, 21, 0, tzinfo=UTC).timestamp()) * NS
NEXT_SESSION_END = SESSION_END + 86_400 * NS

INSTRUMENTS = {
    "AAPL": Instrument(symbol="AAPL", tick_size=0.01),
    "ES": Instrument(symbol="ES", tick_size=0.25, lot_size=5),
    "HALT": Instrument(symbol="HALT", tick_size=0.01, tradable=False),
}


def make_venue(
    *, bps: float = 0.0, capacity: int = 10_000, latency: int = LATENCY
) -> SimulatedVenue:
    config = SimulatedVenueConfig(
        ack_latency_ns=latency, queue_capacity=capacity, slippage=FixedBpsSlippage(bps=bps)
    )
    return SimulatedVenue(INSTRUMENTS, config)


def order(
    order_id: str,
    side: Side,
    quantity: int,
    limit_price: float | None = None,
    *,
    tif: TimeInForce = TimeInForce.DAY,
    symbol: str = "AAPL",
    status: OrderStatus = OrderStatus.PENDING_NEW,
    filled: int = 0,
    created_ns: int = T0,
) -> Order:
    return Order(
        order_id=order_id,
        account="acct",
        client_order_id=f"c-{order_id}",
        symbol=symbol,
        side=side,
        order_type=OrderType.MARKET if limit_price is None else OrderType.LIMIT,
        time_in_force=tif,
        quantity=quantity,
        limit_price=limit_price,
        status=status,
        filled_quantity=filled,
        created_ns=created_ns,
        updated_ns=created_ns,
    )


def quote(
    bid: float,
    ask: float,
    ts_ns: int,
    *,
    bid_size: int = 100,
    ask_size: int = 100,
    symbol: str = "AAPL",
) -> Quote:
    return Quote(symbol=symbol, bid=bid, ask=ask, bid_size=bid_size, ask_size=ask_size, ts_ns=ts_ns)


def fill(
    order_id: str, quantity: int, price: float, ts_ns: int, liquidity: str = "TAKER"
) -> Filled:
    return Filled(
        order_id=order_id,
        ts_ns=ts_ns,
        quantity=quantity,
        price=price,
        liquidity="MAKER" if liquidity == "MAKER" else "TAKER",
    )


def send(venue: SimulatedVenue, clock: FakeClock, new_order: Order) -> list[ExecutionReport]:
    """Submit now and let exactly one ack latency pass."""
    venue.submit(new_order, clock.now_ns())
    clock.advance(LATENCY)
    return venue.poll(clock.now_ns())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


def test_simulated_venue_satisfies_the_venue_protocol() -> None:
    venue: Venue = make_venue()
    assert venue.queue_capacity == 10_000
    assert venue.open_order_count == 0


# --- market orders ------------------------------------------------------------


def test_market_buy_fills_at_ask_plus_slippage_rounded_up_to_tick(clock: FakeClock) -> None:
    venue = make_venue(bps=1.0)
    venue.on_quote(quote(99.97, 100.03, clock.now_ns()))

    reports = send(venue, clock, order("b1", Side.BUY, 10))

    # 100.03 * 1.0001 = 100.040003, rounded against the buyer to 100.05
    assert reports == [
        Acked(order_id="b1", ts_ns=clock.now_ns()),
        fill("b1", 10, 100.05, clock.now_ns()),
    ]


def test_market_sell_fills_at_bid_minus_slippage_rounded_down_to_tick(clock: FakeClock) -> None:
    venue = make_venue(bps=1.0)
    venue.on_quote(quote(99.97, 100.03, clock.now_ns()))

    reports = send(venue, clock, order("s1", Side.SELL, 10))

    # 99.97 * 0.9999 = 99.960003, rounded against the seller to 99.96
    assert reports[1] == fill("s1", 10, 99.96, clock.now_ns())


def test_market_orders_on_same_quote_share_its_displayed_size(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=150))

    first = send(venue, clock, order("b1", Side.BUY, 100, tif=TimeInForce.GTC))
    second = send(venue, clock, order("b2", Side.BUY, 100, tif=TimeInForce.GTC))

    assert first[1] == fill("b1", 100, 100.00, first[1].ts_ns)
    assert second[1] == fill("b2", 50, 100.00, second[1].ts_ns)
    assert venue.open_order_count == 1  # b2's remaining 50 waits for liquidity


def test_market_remainder_fills_when_a_new_quote_refreshes_displayed_size(
    clock: FakeClock,
) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=30))
    send(venue, clock, order("b1", Side.BUY, 100, tif=TimeInForce.GTC))

    clock.advance_s(1.0)
    reports = venue.on_quote(quote(100.00, 100.02, clock.now_ns(), ask_size=500))

    # A market order never provides liquidity, even when it had to wait.
    assert reports == [fill("b1", 70, 100.02, clock.now_ns(), "TAKER")]
    assert venue.open_order_count == 0


def test_market_fill_is_floored_to_lot_size(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(5000.00, 5000.25, clock.now_ns(), ask_size=12, symbol="ES"))

    reports = send(venue, clock, order("b1", Side.BUY, 20, tif=TimeInForce.IOC, symbol="ES"))

    assert reports[1:] == [
        fill("b1", 10, 5000.25, clock.now_ns()),
        Canceled(order_id="b1", ts_ns=clock.now_ns(), reason="IOC_REMAINDER"),
    ]


def test_ioc_market_order_without_a_quote_is_canceled_no_market(clock: FakeClock) -> None:
    venue = make_venue()

    reports = send(venue, clock, order("b1", Side.BUY, 10, tif=TimeInForce.IOC))

    assert reports == [
        Acked(order_id="b1", ts_ns=clock.now_ns()),
        Canceled(order_id="b1", ts_ns=clock.now_ns(), reason="NO_MARKET"),
    ]


def test_fok_market_order_without_a_quote_is_canceled_no_market(clock: FakeClock) -> None:
    venue = make_venue()

    reports = send(venue, clock, order("s1", Side.SELL, 10, tif=TimeInForce.FOK))

    assert reports[1] == Canceled(order_id="s1", ts_ns=clock.now_ns(), reason="NO_MARKET")


def test_day_market_order_without_a_quote_rests_until_one_arrives(clock: FakeClock) -> None:
    venue = make_venue()

    assert send(venue, clock, order("b1", Side.BUY, 10)) == [
        Acked(order_id="b1", ts_ns=clock.now_ns())
    ]
    clock.advance_s(1.0)
    reports = venue.on_quote(quote(99.99, 100.00, clock.now_ns()))

    assert reports == [fill("b1", 10, 100.00, clock.now_ns())]


def test_size_impact_slippage_grows_with_share_of_displayed_size() -> None:
    model = SizeImpactSlippage(base_bps=1.0, impact_bps=10.0)

    assert model.cost_bps(0, 100) == pytest.approx(1.0)
    assert model.cost_bps(50, 100) == pytest.approx(6.0)
    assert model.cost_bps(100, 100) == pytest.approx(11.0)


def test_size_impact_slippage_prices_a_large_market_order_worse(clock: FakeClock) -> None:
    config = SimulatedVenueConfig(slippage=SizeImpactSlippage(base_bps=0.0, impact_bps=10.0))
    venue = SimulatedVenue(INSTRUMENTS, config)
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=1000))

    small = send(venue, clock, order("b1", Side.BUY, 10))
    large = send(venue, clock, order("b2", Side.BUY, 990))

    # 10/1000 of the size costs 0.1 bp (one tick after rounding up); 990/1000 costs 9.9 bp.
    assert small[1] == fill("b1", 10, 100.01, small[1].ts_ns)
    assert large[1] == fill("b2", 990, 100.10, large[1].ts_ns)


# --- limit orders -------------------------------------------------------------


def test_limit_buy_rests_then_fills_as_maker_at_the_ask_when_crossed(clock: FakeClock) -> None:
    venue = make_venue(bps=5.0)
    venue.on_quote(quote(99.99, 100.00, clock.now_ns()))

    assert send(venue, clock, order("b1", Side.BUY, 10, 99.95)) == [
        Acked(order_id="b1", ts_ns=clock.now_ns())
    ]
    assert venue.on_quote(quote(99.94, 99.96, clock.advance_s(1.0))) == []
    reports = venue.on_quote(quote(99.90, 99.93, clock.advance_s(1.0)))

    assert reports == [fill("b1", 10, 99.93, clock.now_ns(), "MAKER")]
    assert venue.open_order_count == 0


def test_limit_sell_rests_then_fills_as_maker_bounded_by_bid_size(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("s1", Side.SELL, 100, 100.10))

    first = venue.on_quote(quote(100.12, 100.13, clock.advance_s(1.0), bid_size=40))
    second = venue.on_quote(quote(100.10, 100.11, clock.advance_s(1.0), bid_size=500))

    assert first == [fill("s1", 40, 100.12, first[0].ts_ns, "MAKER")]
    assert second == [fill("s1", 60, 100.10, clock.now_ns(), "MAKER")]


def test_marketable_limit_buy_fills_at_the_better_ask_on_arrival(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=30))

    reports = send(venue, clock, order("b1", Side.BUY, 50, 101.00))

    assert reports == [
        Acked(order_id="b1", ts_ns=clock.now_ns()),
        fill("b1", 30, 100.00, clock.now_ns(), "TAKER"),
    ]
    assert venue.open_order_count == 1  # the remaining 20 rest at 101.00


def test_marketable_limit_slippage_never_goes_through_the_limit(clock: FakeClock) -> None:
    venue = make_venue(bps=50.0)
    venue.on_quote(quote(99.99, 100.00, clock.now_ns()))

    buy = send(venue, clock, order("b1", Side.BUY, 10, 100.20))
    sell = send(venue, clock, order("s1", Side.SELL, 10, 99.90))

    assert buy[1] == fill("b1", 10, 100.20, buy[1].ts_ns)
    assert sell[1] == fill("s1", 10, 99.90, sell[1].ts_ns)


def test_resting_orders_fill_in_price_then_time_priority(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("early", Side.BUY, 10, 99.00, tif=TimeInForce.GTC))
    send(venue, clock, order("late", Side.BUY, 10, 99.00, tif=TimeInForce.GTC))
    send(venue, clock, order("better", Side.BUY, 10, 99.50, tif=TimeInForce.GTC))

    reports = venue.on_quote(quote(98.00, 99.00, clock.advance_s(1.0), ask_size=25))

    assert [(r.order_id, r.quantity) for r in reports if isinstance(r, Filled)] == [
        ("better", 10),
        ("early", 10),
        ("late", 5),
    ]


# --- IOC / FOK ----------------------------------------------------------------


def test_ioc_when_partially_fillable_then_fills_displayed_size_and_cancels_rest(
    clock: FakeClock,
) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=40))

    reports = send(venue, clock, order("b1", Side.BUY, 100, 100.00, tif=TimeInForce.IOC))

    assert reports == [
        Acked(order_id="b1", ts_ns=clock.now_ns()),
        fill("b1", 40, 100.00, clock.now_ns()),
        Canceled(order_id="b1", ts_ns=clock.now_ns(), reason="IOC_REMAINDER"),
    ]
    assert venue.open_order_count == 0


def test_ioc_limit_not_marketable_is_canceled_without_fill(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns()))

    reports = send(venue, clock, order("b1", Side.BUY, 10, 99.00, tif=TimeInForce.IOC))

    assert reports[1:] == [Canceled(order_id="b1", ts_ns=clock.now_ns(), reason="IOC_REMAINDER")]


def test_fok_when_displayed_size_suffices_then_fills_whole_quantity(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=100))

    reports = send(venue, clock, order("b1", Side.BUY, 100, 100.00, tif=TimeInForce.FOK))

    assert reports == [
        Acked(order_id="b1", ts_ns=clock.now_ns()),
        fill("b1", 100, 100.00, clock.now_ns()),
    ]


def test_fok_when_displayed_size_short_then_cancels_without_any_fill(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=99))

    reports = send(venue, clock, order("b1", Side.BUY, 100, 100.00, tif=TimeInForce.FOK))
    # The untouched size is still there for the next order.
    after = send(venue, clock, order("b2", Side.BUY, 99, tif=TimeInForce.FOK))

    assert reports == [
        Acked(order_id="b1", ts_ns=reports[0].ts_ns),
        Canceled(order_id="b1", ts_ns=reports[0].ts_ns, reason="FOK_UNFILLED"),
    ]
    assert after[1] == fill("b2", 99, 100.00, clock.now_ns())


# --- DAY expiry ---------------------------------------------------------------


def test_day_order_expires_at_first_poll_at_or_after_session_end(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("b1", Side.BUY, 10, 90.00))

    assert venue.next_wakeup_ns() == SESSION_END
    assert venue.poll(SESSION_END - 1) == []
    assert venue.poll(SESSION_END + 5 * NS) == [Expired(order_id="b1", ts_ns=SESSION_END)]
    assert venue.open_order_count == 0
    assert venue.next_wakeup_ns() is None


def test_day_order_expires_on_a_quote_after_session_end_before_it_could_fill(
    clock: FakeClock,
) -> None:
    venue = make_venue()
    send(venue, clock, order("b1", Side.BUY, 10, 100.00))

    reports = venue.on_quote(quote(99.00, 99.50, SESSION_END))

    assert reports == [Expired(order_id="b1", ts_ns=SESSION_END)]


def test_day_order_placed_after_session_end_lives_until_next_session_end() -> None:
    venue = make_venue()
    clock = FakeClock(SESSION_END + 60 * NS)
    send(venue, clock, order("b1", Side.BUY, 10, 90.00))

    assert venue.next_wakeup_ns() == NEXT_SESSION_END
    assert venue.poll(NEXT_SESSION_END - 1) == []
    assert venue.poll(NEXT_SESSION_END) == [Expired(order_id="b1", ts_ns=NEXT_SESSION_END)]


def test_gtc_order_does_not_expire_at_session_end(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("b1", Side.BUY, 10, 90.00, tif=TimeInForce.GTC))

    assert venue.next_wakeup_ns() is None
    assert venue.poll(NEXT_SESSION_END + NS) == []
    assert venue.open_order_count == 1


def test_session_end_is_configurable(clock: FakeClock) -> None:
    config = SimulatedVenueConfig(session_end_utc=dt_time(15, 0))
    venue = SimulatedVenue(INSTRUMENTS, config)
    send(venue, clock, order("b1", Side.BUY, 10, 90.00))

    assert venue.next_wakeup_ns() == T0 + 30 * 60 * NS  # 15:00 UTC


# --- cancel -------------------------------------------------------------------


def test_cancel_resting_order_removes_it_from_the_book(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("b1", Side.BUY, 10, 99.00))

    venue.cancel("b1", clock.now_ns())
    reports = venue.poll(clock.advance(LATENCY))

    assert reports == [Canceled(order_id="b1", ts_ns=clock.now_ns(), reason="USER")]
    assert venue.open_order_count == 0
    assert venue.on_quote(quote(98.00, 98.50, clock.advance_s(1.0))) == []


def test_cancel_unknown_order_is_rejected(clock: FakeClock) -> None:
    venue = make_venue()

    venue.cancel("nope", clock.now_ns())

    assert venue.poll(clock.advance(LATENCY)) == [
        CancelRejected(order_id="nope", ts_ns=clock.now_ns(), reason="UNKNOWN_ORDER")
    ]


def test_cancel_of_filled_order_is_rejected_as_unknown(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns()))
    send(venue, clock, order("b1", Side.BUY, 10))

    venue.cancel("b1", clock.now_ns())

    assert venue.poll(clock.advance(LATENCY))[0] == CancelRejected(
        order_id="b1", ts_ns=clock.now_ns(), reason="UNKNOWN_ORDER"
    )


def test_cancel_of_queued_order_is_processed_after_its_ack(clock: FakeClock) -> None:
    venue = make_venue()
    venue.submit(order("b1", Side.BUY, 10, 99.00), clock.now_ns())
    venue.cancel("b1", clock.advance(1_000))

    reports = venue.poll(clock.advance(LATENCY))

    assert reports == [
        Acked(order_id="b1", ts_ns=T0 + LATENCY),
        Canceled(order_id="b1", ts_ns=T0 + 1_000 + LATENCY, reason="USER"),
    ]
    assert venue.open_order_count == 0


# --- replace ------------------------------------------------------------------


def test_replace_resting_order_then_it_fills_at_the_new_price(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns()))
    send(venue, clock, order("b1", Side.BUY, 10, 99.00))

    venue.replace("b1", 20, 100.00, clock.now_ns())
    reports = venue.poll(clock.advance(LATENCY))

    assert reports == [
        Replaced(order_id="b1", ts_ns=clock.now_ns(), quantity=20, limit_price=100.00),
        # The replace made it marketable against the live quote: it took liquidity.
        fill("b1", 20, 100.00, clock.now_ns(), "TAKER"),
    ]
    assert venue.open_order_count == 0


def test_replace_quantity_only_keeps_the_limit_price(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("b1", Side.BUY, 10, 99.00))

    venue.replace("b1", 5, None, clock.now_ns())
    reports = venue.poll(clock.advance(LATENCY))
    crossed = venue.on_quote(quote(98.00, 98.50, clock.advance_s(1.0)))

    assert reports == [
        Replaced(order_id="b1", ts_ns=reports[0].ts_ns, quantity=5, limit_price=99.00)
    ]
    assert crossed == [fill("b1", 5, 98.50, clock.now_ns(), "MAKER")]


def test_replace_to_quantity_not_above_filled_is_rejected(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("s1", Side.SELL, 100, 100.00))
    venue.on_quote(quote(100.00, 100.01, clock.advance_s(1.0), bid_size=60))

    venue.replace("s1", 60, None, clock.now_ns())
    reports = venue.poll(clock.advance(LATENCY))

    assert reports == [
        ReplaceRejected(order_id="s1", ts_ns=clock.now_ns(), reason="QUANTITY_NOT_ABOVE_FILLED")
    ]
    assert venue.open_order_count == 1


def test_replace_unknown_order_is_rejected(clock: FakeClock) -> None:
    venue = make_venue()

    venue.replace("nope", 10, 1.00, clock.now_ns())

    assert venue.poll(clock.advance(LATENCY)) == [
        ReplaceRejected(order_id="nope", ts_ns=clock.now_ns(), reason="UNKNOWN_ORDER")
    ]


def test_replace_with_new_price_loses_time_priority(clock: FakeClock) -> None:
    venue = make_venue()
    send(venue, clock, order("first", Side.BUY, 10, 99.00, tif=TimeInForce.GTC))
    send(venue, clock, order("second", Side.BUY, 10, 99.00, tif=TimeInForce.GTC))
    venue.replace("first", 10, 98.99, clock.now_ns())
    venue.replace("first", 10, 99.00, clock.now_ns())
    venue.poll(clock.advance(LATENCY))

    reports = venue.on_quote(quote(98.00, 99.00, clock.advance_s(1.0), ask_size=10))

    assert reports == [fill("second", 10, 99.00, clock.now_ns(), "MAKER")]


# --- validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("new_order", "reason"),
    [
        (order("x", Side.BUY, 10, 1.00, symbol="MSFT"), "UNKNOWN_SYMBOL"),
        (order("x", Side.BUY, 10, 1.00, symbol="HALT"), "NOT_TRADABLE"),
        (order("x", Side.BUY, 0, 1.00), "INVALID_QUANTITY"),
        (order("x", Side.BUY, 7, 5000.00, symbol="ES"), "INVALID_QUANTITY"),
        (order("x", Side.BUY, 10, 100.005), "INVALID_PRICE"),
        (order("x", Side.BUY, 10, -1.00), "INVALID_PRICE"),
    ],
)
def test_invalid_order_is_rejected_at_ack_time(
    clock: FakeClock, new_order: Order, reason: str
) -> None:
    venue = make_venue()

    reports = send(venue, clock, new_order)

    assert reports == [Rejected(order_id="x", ts_ns=clock.now_ns(), reason=reason)]
    assert venue.open_order_count == 0


# --- queue and latency --------------------------------------------------------


def test_nothing_is_acknowledged_before_the_ack_latency_has_passed(clock: FakeClock) -> None:
    venue = make_venue()
    venue.submit(order("b1", Side.BUY, 10, 99.00), clock.now_ns())

    assert venue.next_wakeup_ns() == T0 + LATENCY
    assert venue.poll(T0 + LATENCY - 1) == []
    assert venue.queue_depth == 1
    assert venue.poll(T0 + LATENCY) == [Acked(order_id="b1", ts_ns=T0 + LATENCY)]
    assert venue.queue_depth == 0


def test_full_queue_raises_venue_queue_full_and_changes_nothing(clock: FakeClock) -> None:
    venue = make_venue(capacity=2)
    venue.submit(order("b1", Side.BUY, 10, 99.00), clock.now_ns())
    venue.submit(order("b2", Side.BUY, 10, 99.00), clock.now_ns())
    assert not venue.has_capacity()

    with pytest.raises(VenueQueueFull) as excinfo:
        venue.submit(order("b3", Side.BUY, 10, 99.00), clock.now_ns())
    with pytest.raises(VenueQueueFull):
        venue.cancel("b1", clock.now_ns())

    assert excinfo.value.depth == 2
    assert excinfo.value.capacity == 2
    assert excinfo.value.retry_after_s == pytest.approx(LATENCY / NS)
    assert venue.queue_depth == 2
    reports = venue.poll(clock.advance(LATENCY))
    assert [r.order_id for r in reports] == ["b1", "b2"]
    assert all(isinstance(r, Acked) for r in reports)
    assert venue.has_capacity(2)


def test_quote_first_processes_requests_due_before_it(clock: FakeClock) -> None:
    venue = make_venue()
    venue.on_quote(quote(99.99, 100.00, clock.now_ns(), ask_size=10))
    venue.submit(order("b1", Side.BUY, 50, 100.00, tif=TimeInForce.GTC), clock.now_ns())

    reports = venue.on_quote(quote(99.99, 100.00, clock.advance_s(1.0), ask_size=100))

    # Acked against the old quote (10 available), the rest filled by the new one.
    assert reports == [
        Acked(order_id="b1", ts_ns=T0 + LATENCY),
        fill("b1", 10, 100.00, T0 + LATENCY, "TAKER"),
        fill("b1", 40, 100.00, clock.now_ns(), "MAKER"),
    ]


# --- restart ------------------------------------------------------------------


def test_restore_puts_acked_orders_back_on_book_with_remaining_quantity(
    clock: FakeClock,
) -> None:
    venue = make_venue()
    venue.restore(
        [
            order("b1", Side.BUY, 100, 99.00, status=OrderStatus.PARTIALLY_FILLED, filled=30),
            order("s1", Side.SELL, 10, 101.00, status=OrderStatus.PENDING_CANCEL),
            order("done", Side.BUY, 10, 99.00, status=OrderStatus.FILLED, filled=10),
        ]
    )

    assert venue.open_order_count == 2
    assert venue.queue_depth == 0
    reports = venue.on_quote(quote(98.00, 98.50, clock.now_ns(), ask_size=1000))
    assert reports == [fill("b1", 70, 98.50, clock.now_ns(), "MAKER")]


def test_restore_requeues_pending_new_orders_for_acknowledgement(clock: FakeClock) -> None:
    venue = make_venue()
    venue.restore([order("b1", Side.BUY, 10, 99.00, status=OrderStatus.PENDING_NEW)])

    assert venue.queue_depth == 1
    assert venue.open_order_count == 0
    assert venue.poll(clock.advance(LATENCY)) == [Acked(order_id="b1", ts_ns=T0 + LATENCY)]
    assert venue.open_order_count == 1


def test_restored_day_order_from_an_earlier_session_expires_at_next_poll() -> None:
    venue = make_venue()
    venue.restore([order("b1", Side.BUY, 10, 99.00, status=OrderStatus.NEW)])

    assert venue.poll(NEXT_SESSION_END - 1) == [Expired(order_id="b1", ts_ns=SESSION_END)]


def test_restored_open_ioc_order_is_finished_with_its_remainder_canceled(
    clock: FakeClock,
) -> None:
    venue = make_venue()
    venue.restore([order("b1", Side.BUY, 10, 99.00, tif=TimeInForce.IOC, status=OrderStatus.NEW)])

    assert venue.poll(clock.advance(LATENCY)) == [
        Canceled(order_id="b1", ts_ns=T0 + LATENCY, reason="IOC_REMAINDER")
    ]


# --- cost of a quote ----------------------------------------------------------


def rest_many(venue: SimulatedVenue, clock: FakeClock, count: int) -> None:
    for i in range(count):
        price = round(90.00 - (i % 500) * 0.01, 2)
        venue.submit(order(f"b{i}", Side.BUY, 10, price, tif=TimeInForce.GTC), clock.now_ns())
        venue.submit(order(f"s{i}", Side.SELL, 10, 110.00 + (i % 500) * 0.01), clock.now_ns())
    venue.poll(clock.advance(LATENCY))


def test_quote_that_crosses_nothing_touches_no_resting_order(clock: FakeClock) -> None:
    venue = make_venue(capacity=20_000)
    rest_many(venue, clock, 5_000)
    assert venue.open_order_count == 10_000
    examined_before = venue.orders_examined

    reports = venue.on_quote(quote(99.99, 100.00, clock.advance_s(1.0)))

    assert reports == []
    assert venue.orders_examined == examined_before


def test_quote_that_crosses_examines_only_the_orders_it_fills(clock: FakeClock) -> None:
    venue = make_venue(capacity=20_000)
    rest_many(venue, clock, 5_000)
    examined_before = venue.orders_examined

    # The ask reaches the best resting bids (ten orders at 90.00); its size 25 fills 10 + 10 + 5.
    reports = venue.on_quote(quote(89.99, 90.00, clock.advance_s(1.0), ask_size=25))

    assert sum(r.quantity for r in reports if isinstance(r, Filled)) == 25
    # Each filled order is read once to fill it and once more when its spent entry
    # is dropped: the cost follows the three crossing orders, not the 10,000 resting.
    assert venue.orders_examined - examined_before <= 2 * 3


def test_many_canceled_orders_do_not_slow_down_or_fill(clock: FakeClock) -> None:
    venue = make_venue(capacity=20_000)
    for i in range(2_000):
        venue.submit(order(f"b{i}", Side.BUY, 10, 99.00, tif=TimeInForce.GTC), clock.now_ns())
    venue.poll(clock.advance(LATENCY))
    for i in range(1_999):
        venue.cancel(f"b{i}", clock.now_ns())
    venue.poll(clock.advance(LATENCY))
    examined_before = venue.orders_examined

    reports = venue.on_quote(quote(98.00, 99.00, clock.advance_s(1.0), ask_size=1000))

    assert reports == [fill("b1999", 10, 99.00, clock.now_ns(), "MAKER")]
    # Stale entries are compacted as cancels accumulate, not walked one by one.
    assert venue.orders_examined - examined_before < 200
