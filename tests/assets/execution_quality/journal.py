"""A trading day through the real engine (fake clock, simulated venue) for the TCA assets.

Quotes move before and after the orders so that arrival, closing and markout
mids differ; the orders end every way an order can: filled, partly filled
then cancelled, IOC remainder cancelled, rejected by risk, expired at the
session end, and a GTC order still open at the day's end. The venue charges
`FEES` per fill, and the first order names its decision price (`DECISION_O1`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from realtime.domain import Side, TimeInForce, Trade
from realtime.venue import FeeSchedule
from tests.realtime.harness import T0, Harness, limit, market, open_engine

DAY = "2026-11-26"  # T0 is 14:30 UTC on it
SECOND = 1_000_000_000
# 1 bp of notional for takers, 0.1 cent a share for makers, at least 0.05 a fill.
FEES = FeeSchedule(taker_bps=1.0, maker_per_share=0.001, min_per_fill=0.05)
DECISION_O1 = 100.00


def _tick(h: Harness, symbol: str, mid: float, spread: float = 0.02, size: int = 1_000) -> None:
    h.quote(symbol, round(mid - spread / 2, 2), round(mid + spread / 2, 2), size=size)


def _print(h: Harness, symbol: str, price: float, size: int) -> None:
    h.engine.on_trade(Trade(symbol=symbol, price=price, size=size, ts_ns=h.clock.now_ns()))


def write_tca_journal(path: Path) -> None:
    async def session() -> None:
        async with open_engine(path, fees=FEES) as h:
            for i in range(5):
                _tick(h, "AAPL", 100.00 + 0.01 * i)
                _tick(h, "MSFT", 200.00 - 0.01 * i)
                _print(h, "AAPL", 100.00 + 0.01 * i, 200)
                _print(h, "MSFT", 200.00, 100)
                h.advance(SECOND)
            buy_all = msgspec.structs.replace(
                market("buy-all", Side.BUY, 100), decision_price=DECISION_O1
            )
            await h.submit(buy_all)
            await h.settle()
            # Only 100 shown at the ask: 100 of 300 fill, the rest rests, then is cancelled.
            _tick(h, "MSFT", 199.96, size=100)
            partial = (
                await h.submit(limit("buy-part", Side.BUY, 300, 199.97, symbol="MSFT"))
            ).order
            await h.settle()
            # Only 200 shown at the bid: an IOC for 500 fills 200, the rest is cancelled.
            _tick(h, "AAPL", 100.04, size=200)
            await h.submit(limit("ioc", Side.SELL, 500, 100.03, tif=TimeInForce.IOC), account="bob")
            await h.submit(limit("collar", Side.BUY, 100, 1.00))  # rejected by risk
            await h.submit(limit("day", Side.SELL, 10, 101.00))  # rests, expires at 21:00
            await h.submit(limit("gtc", Side.BUY, 20, 95.00, tif=TimeInForce.GTC))  # stays open
            await h.settle()
            for i in range(70):  # a minute of moving quotes: the markouts see it
                _tick(h, "AAPL", 100.05 + 0.01 * (i % 7))
                _tick(h, "MSFT", 200.00 + 0.02 * (i % 5))  # above the resting bid
                _print(h, "AAPL", 100.05 + 0.01 * (i % 7), 100)
                h.advance(SECOND)
            await h.engine.cancel("alice", partial.order_id)
            await h.submit(market("sell-bob", Side.SELL, 40), account="bob")
            await h.settle()
            for i in range(70):
                _tick(h, "AAPL", 100.02 - 0.01 * (i % 3))
                h.advance(SECOND)
            h.advance(7 * 3600 * SECOND)  # past the session end: the DAY order expires
            await h.engine.journal.flush()

    asyncio.run(session())


__all__ = ["DAY", "DECISION_O1", "FEES", "T0", "write_tca_journal"]
