"""Journals for the batch tests: one written by the real engine, and synthetic ones."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import msgspec

from realtime.domain import Side, Trade, TradingState
from realtime.events import Event, PriceSampled, TradePrinted
from realtime.journal import Journal
from realtime.venue import FeeSchedule
from tests.realtime.harness import T0, limit, make_limits, market, open_engine

ENGINE_FEES = FeeSchedule(taker_bps=1.0, maker_per_share=0.001, min_per_fill=0.02)
M1_DECISION_PRICE = 99.95


def write_engine_journal(path: Path) -> None:
    """A trading session through the real engine (fake clock, simulated venue) that
    journals every event type the warehouse ships: quotes, trades, accepted,
    rejected, acknowledged, filled, canceled, replaced and expired orders, the
    kill switch and a limits change. The venue charges `ENGINE_FEES`; order m1 names
    its decision price (`M1_DECISION_PRICE`), the others record the arrival mid."""

    async def session() -> None:
        async with open_engine(path, fees=ENGINE_FEES) as h:
            for i in range(3):
                h.quote("AAPL", 99.99 + i * 0.01, 100.01 + i * 0.01)
                h.quote("MSFT", 199.99, 200.01)
                h.engine.on_trade(
                    Trade(symbol="AAPL", price=100.0 + i * 0.01, size=100, ts_ns=h.clock.now_ns())
                )
                h.advance(1_000_000)
            await h.submit(
                msgspec.structs.replace(
                    market("m1", Side.BUY, 100), decision_price=M1_DECISION_PRICE
                )
            )
            await h.submit(limit("far", Side.BUY, 100, 1.00))  # outside the price collar
            resting = (await h.submit(limit("r1", Side.BUY, 50, 99.00))).order
            moving = (await h.submit(limit("r2", Side.BUY, 30, 199.00, symbol="MSFT"))).order
            expiring = (await h.submit(limit("d1", Side.SELL, 10, 100.50))).order
            await h.settle()
            await h.engine.cancel("alice", resting.order_id)
            await h.engine.replace("alice", moving.order_id, 40, 200.05)
            await h.settle()
            await h.engine.set_trading_state(
                TradingState.HALTED, account=None, actor="admin", reason="drill"
            )
            await h.submit(market("m2", Side.SELL, 10))  # rejected: halted
            await h.engine.set_trading_state(
                TradingState.ACTIVE, account=None, actor="admin", reason="drill over"
            )
            await h.engine.set_limits(make_limits(max_position=5_000), source="test", actor="risk")
            await h.submit(market("m3", Side.SELL, 40), account="bob")
            await h.settle()
            h.advance(7 * 3600 * 1_000_000_000)  # past the session end: DAY orders expire
            await h.engine.journal.flush()
            assert expiring.status.value == "EXPIRED"

    asyncio.run(session())


def tick_events(
    count: int, start_ns: int = T0, symbols: Iterable[str] = ("AAPL", "MSFT")
) -> list[Event]:
    """`count` market-data events, quotes and trades interleaved, 1 µs apart."""
    names = list(symbols)
    events: list[Event] = []
    for i in range(count):
        symbol = names[i % len(names)]
        ts = start_ns + i * 1_000
        price = 100.0 + (i % 50) * 0.01
        if i % 3 == 2:
            events.append(TradePrinted(ts_ns=ts, symbol=symbol, price=price, size=10 + i % 7))
        else:
            events.append(
                PriceSampled(
                    ts_ns=ts, symbol=symbol, bid=price, ask=price + 0.02, bid_size=100, ask_size=200
                )
            )
    return events


def append_events(path: Path, events: Iterable[Event]) -> int:
    with Journal.open(path) as journal:
        return journal.append_many_sync(events)


def journal_type_counts(path: Path) -> Counter[str]:
    reader = Journal.open_reader(path)
    return Counter(type_ for _, _, type_, _ in reader.read_raw())
