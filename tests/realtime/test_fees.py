"""Fees on fills and the decision price on orders (issue 10's core): the fee schedule,
the venue charging it, the config that sets it, and the engine booking both."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from realtime.domain import Order, OrderStatus, OrderType, Quote, Side, TimeInForce
from realtime.engine import rebuild_state
from realtime.events import OrderAccepted, OrderFilled, OrderRejected
from realtime.instruments import InstrumentsError, load_universe
from realtime.journal import Journal
from realtime.risk import RejectReason
from realtime.venue import FeeSchedule, FixedBpsSlippage, SimulatedVenue, SimulatedVenueConfig
from tests.realtime.harness import INSTRUMENTS, T0, limit, make_limits, market, open_engine

FEES = FeeSchedule(
    taker_per_share=0.002, taker_bps=1.0, maker_per_share=0.001, maker_bps=0.5, min_per_fill=0.10
)


# --- the schedule -------------------------------------------------------------------


def test_fee_when_taker_then_per_share_plus_bps_of_notional() -> None:
    # 0.002 x 1,000 + 1 bp x 1,000 x 100.00 = 2.00 + 10.00
    assert FEES.fee(1_000, 100.0, "TAKER") == pytest.approx(12.0, abs=1e-12)


def test_fee_when_maker_then_maker_rates() -> None:
    # 0.001 x 1,000 + 0.5 bp x 100,000 = 1.00 + 5.00
    assert FEES.fee(1_000, 100.0, "MAKER") == pytest.approx(6.0, abs=1e-12)


def test_fee_when_small_fill_then_the_minimum_per_fill() -> None:
    # 0.002 + 1 bp x 100.00 = 0.012, under the 0.10 minimum
    assert FEES.fee(1, 100.0, "TAKER") == 0.10


def test_fee_when_fractional_cents_then_billed_in_whole_cents() -> None:
    # 0.002 x 7 + 1 bp x 7 x 190.01 = 0.014 + 0.133007 = 0.147007 -> 0.15
    assert FEES.fee(7, 190.01, "TAKER") == 0.15


def test_fee_when_contract_multiplier_then_bps_of_the_money_notional() -> None:
    # 1 bp of one ESZ6 contract at 5,600 x 50 = 28.00, plus 0.002 per contract
    assert FEES.fee(1, 5600.0, "TAKER", multiplier=50.0) == 28.0


def test_fee_when_schedule_is_empty_then_zero() -> None:
    assert FeeSchedule().fee(1_000, 100.0, "TAKER") == 0.0 and FeeSchedule().is_free


@pytest.mark.parametrize("value", [-0.01, float("nan"), float("inf")])
def test_fee_schedule_when_a_rate_is_negative_or_not_finite_then_refused(value: float) -> None:
    with pytest.raises(ValueError, match="taker_bps"):
        FeeSchedule(taker_bps=value)


# --- the venue charges it -------------------------------------------------------------


def _order(order_id: str, side: Side, quantity: int, price: float | None) -> Order:
    return Order(
        order_id=order_id,
        account="acct",
        client_order_id=order_id,
        symbol="AAPL",
        side=side,
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
        time_in_force=TimeInForce.DAY,
        quantity=quantity,
        limit_price=price,
        status=OrderStatus.PENDING_NEW,
        created_ns=T0,
        updated_ns=T0,
    )


def test_venue_fills_when_fees_configured_then_each_fill_carries_its_maker_or_taker_fee() -> None:
    venue = SimulatedVenue(
        INSTRUMENTS,
        SimulatedVenueConfig(ack_latency_ns=0, slippage=FixedBpsSlippage(0.0), fees=FEES),
    )
    venue.on_quote(
        Quote(symbol="AAPL", bid=99.99, ask=100.01, bid_size=500, ask_size=500, ts_ns=T0)
    )
    venue.submit(_order("taker", Side.BUY, 200, None), T0)
    venue.submit(_order("maker", Side.BUY, 300, 99.50), T0)
    reports = venue.poll(T0)
    taker_fill = [r for r in reports if type(r).__name__ == "Filled"]
    assert len(taker_fill) == 1 and taker_fill[0].liquidity == "TAKER"
    # Billed in cents: 0.40 + 2.0002 is 2.40.
    assert taker_fill[0].fee == round(0.002 * 200 + 200 * 100.01 * 1e-4, 2) == 2.40
    crossed = venue.on_quote(
        Quote(symbol="AAPL", bid=99.40, ask=99.50, bid_size=500, ask_size=500, ts_ns=T0 + 1)
    )
    assert [(type(r).__name__, r.liquidity, r.fee) for r in crossed] == [  # type: ignore[union-attr]
        ("Filled", "MAKER", round(0.001 * 300 + 0.5e-4 * 300 * 99.50, 2))
    ]


# --- the config file sets it ----------------------------------------------------------


def test_instruments_file_when_fees_table_given_then_loaded(tmp_path: Path) -> None:
    path = tmp_path / "instruments.toml"
    path.write_text(
        "[fees]\ntaker_bps = 0.5\nmin_per_fill = 0.01\n[instruments.AAPL]\ntick_size = 0.01\n"
    )
    assert load_universe(path).fees == FeeSchedule(taker_bps=0.5, min_per_fill=0.01)


def test_instruments_file_when_no_fees_table_then_fills_are_free(tmp_path: Path) -> None:
    path = tmp_path / "instruments.toml"
    path.write_text("[instruments.AAPL]\ntick_size = 0.01\n")
    assert load_universe(path).fees.is_free


def test_instruments_file_when_fee_fields_bad_then_each_is_one_line_naming_the_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / "instruments.toml"
    path.write_text(
        "[fees]\ntaker_bps = -1\nmaker_per_share = 'cheap'\nrebate = 1\n"
        "[instruments.AAPL]\ntick_size = 0.01\n"
    )
    with pytest.raises(InstrumentsError) as excinfo:
        load_universe(path)
    assert excinfo.value.lines() == [
        f"{path}: [fees] rebate: unknown field",
        f"{path}: [fees] maker_per_share: expected `float`, got `str`, got 'cheap'",
        f"{path}: [fees] taker_bps: expected `float` >= 0.0, got -1",
    ]


# --- the engine books it --------------------------------------------------------------


def test_fills_when_venue_charges_fees_then_journaled_and_deducted_from_realized_pnl(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"

    async def scenario() -> tuple[float, float]:
        async with open_engine(path, fees=FEES) as h:
            h.quote("AAPL", 99.99, 100.01)
            await h.submit(market("buy", Side.BUY, 100))
            await h.settle()
            h.quote("AAPL", 100.99, 101.01)
            await h.submit(market("sell", Side.SELL, 100))
            await h.settle()
            book = h.engine.state.accounts["alice"]
            fees = [f.fee for f in book.fills]
            # buy at 100.01, sell at 100.99: gross +98.00, less both fees
            buy_fee = round(0.002 * 100 + 100 * 100.01 * 1e-4, 2)  # billed in cents
            sell_fee = round(0.002 * 100 + 100 * 100.99 * 1e-4, 2)
            assert fees == pytest.approx([buy_fee, sell_fee], abs=1e-12)
            assert book.realized_pnl == pytest.approx(98.0 - buy_fee - sell_fee, abs=1e-9)
            position = book.symbols["AAPL"].position
            assert position.realized_pnl == pytest.approx(book.realized_pnl, abs=1e-12)
            assert h.engine.state.orders["O1"].fees == pytest.approx(buy_fee, abs=1e-12)
            return book.realized_pnl, sum(fees)

    realized, total_fees = asyncio.run(scenario())
    journal = Journal.open(path)
    try:
        filled = [e for _, _, e in journal.read() if isinstance(e, OrderFilled)]
        assert sum(e.fee for e in filled) == pytest.approx(total_fees, abs=1e-12)
        rebuilt = rebuild_state(journal, INSTRUMENTS, make_limits())
    finally:
        journal.close()
    assert rebuilt.accounts["alice"].realized_pnl == pytest.approx(realized, abs=1e-12)


def test_fill_event_when_journaled_before_fees_existed_then_decodes_with_zero_fee() -> None:
    old = (
        b'{"type":"OrderFilled","ts_ns":1,"order_id":"O1","fill_id":"F1","account":"a",'
        b'"symbol":"AAPL","side":"BUY","quantity":1,"price":1.0,"liquidity":"TAKER"}'
    )
    assert msgspec.json.decode(old, type=OrderFilled).fee == 0.0


# --- decision price --------------------------------------------------------------------


def test_submit_when_decision_price_given_then_stored_and_journaled(tmp_path: Path) -> None:
    path = tmp_path / "j.db"

    async def scenario() -> None:
        async with open_engine(path) as h:
            h.quote("AAPL", 99.99, 100.01)
            req = msgspec.structs.replace(limit("c1", Side.BUY, 10, 99.50), decision_price=99.80)
            result = await h.submit(req)
            assert result.order.decision_price == 99.80

    asyncio.run(scenario())
    journal = Journal.open(path)
    try:
        accepted = [e for _, _, e in journal.read() if isinstance(e, OrderAccepted)]
        state = rebuild_state(journal, INSTRUMENTS, make_limits())
    finally:
        journal.close()
    assert accepted[0].decision_price == 99.80 and accepted[0].request.decision_price == 99.80
    assert state.orders["O1"].decision_price == 99.80


def test_submit_when_no_decision_price_then_the_arrival_mid_is_recorded(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.98, 100.02)
            result = await h.submit(limit("c1", Side.BUY, 10, 99.50))
            assert result.order.decision_price == 100.00
            # A rejected order records it too (here: outside the price collar).
            rejected = await h.submit(limit("c2", Side.BUY, 10, 50.00))
            assert rejected.rejection is not None
            assert rejected.order.decision_price == 100.00

    asyncio.run(scenario())
    journal = Journal.open(tmp_path / "j.db")
    try:
        rejected = [e for _, _, e in journal.read() if isinstance(e, OrderRejected)]
    finally:
        journal.close()
    assert rejected[0].decision_price == 100.00 and rejected[0].request.decision_price is None


def test_submit_when_decision_price_not_positive_then_rejected_invalid_price(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            for bad in (0.0, -1.0, float("nan")):
                req = msgspec.structs.replace(
                    limit(f"c{bad}", Side.BUY, 10, 99.50), decision_price=bad
                )
                result = await h.submit(req)
                assert result.rejection is not None
                assert result.rejection.reason is RejectReason.INVALID_PRICE

    asyncio.run(scenario())


def test_retry_when_request_has_no_decision_price_then_fingerprint_as_before_the_field() -> None:
    # Fingerprints live in snapshots: one written before decision prices existed must
    # still match a retry of the same request.
    import hashlib

    from realtime.state import request_fingerprint

    req = limit("c1", Side.BUY, 10, 99.50)
    old_encoding = (
        b'{"client_order_id":"c1","symbol":"AAPL","side":"BUY","quantity":10,'
        b'"order_type":"LIMIT","limit_price":99.5,"time_in_force":"DAY"}'
    )
    assert request_fingerprint(req) == hashlib.blake2b(old_encoding, digest_size=8).digest()
    assert request_fingerprint(req) != request_fingerprint(
        msgspec.structs.replace(req, decision_price=99.0)
    )
