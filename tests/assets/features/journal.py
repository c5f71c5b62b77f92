"""A journal for the features tests: 40 minutes of the real engine (fake clock,
simulated venue) on a seeded random walk, with trades and orders from two accounts.
A volatility spike starts at SPIKE_AT (for the point-in-time test)."""

from __future__ import annotations

import asyncio
import math
import random
from pathlib import Path

from realtime.domain import Side, Trade
from tests.realtime.harness import T0, market, open_engine

STEP_NS = 10 * 1_000_000_000  # a quote per symbol every 10 s
MINUTES = 40
SPIKE_AT_NS = T0 + 30 * 60 * 1_000_000_000  # from here on, moves are 50x larger
SYMBOLS = ("AAPL", "MSFT")


def write_features_journal(path: Path, *, seed: int = 7) -> None:
    rng = random.Random(seed)

    async def session() -> None:
        async with open_engine(path) as h:
            mids = {"AAPL": 100.0, "MSFT": 200.0}
            steps = MINUTES * 60 * 1_000_000_000 // STEP_NS
            for i in range(steps):
                now = h.clock.now_ns()
                scale = 0.0005 if now < SPIKE_AT_NS else 0.025
                for symbol in SYMBOLS:
                    mids[symbol] *= math.exp(rng.gauss(0.0, scale))
                    mid = round(mids[symbol], 2)
                    h.quote(symbol, round(mid - 0.01, 2), round(mid + 0.01, 2), size=500 + i)
                    h.engine.on_trade(Trade(symbol=symbol, price=mid, size=10, ts_ns=now))
                if i % 12 == 3:
                    await h.submit(market(f"a{i}", Side.BUY, 10))
                    await h.submit(market(f"b{i}", Side.SELL, 5, symbol="MSFT"), account="bob")
                    await h.settle()
                h.advance(STEP_NS - (h.clock.now_ns() - now))
            await h.engine.journal.flush()

    asyncio.run(session())
