"""The demo desk behaves like a sensible small desk against the real service.

The service is the real one (engine, journal file, simulated venue, risk, the HTTP
routes and fast path over ASGI, in process) on a fake clock: each of the desk's
actions is followed by a fifth of a second of market (the synthetic feed at its
default rate, the venue pumped as its timers would), which is the desk's pace at
its default 5 actions a second. So DEMO_MINUTES of demo are exactly that much
market time, however fast the machine runs them.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import httpx

from realtime.app import create_app
from realtime.clock import FakeClock
from realtime.demo_client import DemoTrader, Summary
from realtime.engine import EngineConfig
from realtime.feed import SyntheticFeed
from realtime.service import TradingService
from realtime.settings import ServiceSettings
from tests.realtime.api.support import copy_config
from tests.realtime.harness import T0

DEMO_MINUTES = float(os.environ.get("TRADEPIPE_DEMO_TEST_MINUTES", "30"))
RATE = 5.0  # the desk's default actions a second
FEED_RATE = 200.0  # the service's default TRADEPIPE_FEED_RATE


class FakeClockMarket:
    """What the service's feed task and the venue's timers do in real time, driven by
    a fake clock: the synthetic feed (seeded as the service seeds it) in its slices,
    the venue pumped after each one."""

    def __init__(self, service: TradingService, clock: FakeClock) -> None:
        self.service, self.clock = service, clock
        self.feed = SyntheticFeed(
            service.instruments, service.start_prices, seed=service.settings.feed_seed
        )

    def advance(self, seconds: float) -> None:
        for _ in range(round(seconds / SyntheticFeed.SLICE_S)):
            self.clock.advance_s(SyntheticFeed.SLICE_S)
            self.feed.publish_slice(
                self.service, self.clock.now_ns(), FEED_RATE * SyntheticFeed.SLICE_S
            )
            self.service.engine.pump()


async def run_desk(tmp_path: Path, minutes: float) -> Counter[str]:
    settings = ServiceSettings.from_env(
        {
            "TRADEPIPE_DATA_DIR": str(tmp_path / "data"),
            "TRADEPIPE_CONFIG_DIR": str(copy_config(tmp_path / "config")),
            "TRADEPIPE_ACCESS_LOG": "0",
        }
    )
    clock = FakeClock(T0)
    service = TradingService(
        settings, clock, engine_config=EngineConfig(auto_pump=False), own_feed=False
    )
    market = FakeClockMarket(service, clock)
    app = create_app(service=service)
    await service.start()
    try:
        market.advance(1.0)  # every symbol has its first quotes before the desk starts
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            trader = DemoTrader(client, seed=7, rate=RATE)
            while trader.actions < minutes * 60 * RATE:
                await trader.step()
                market.advance(1.0 / RATE)
        return trader.outcomes
    finally:
        await service.stop()


def test_demo_desk_when_run_for_30_demo_minutes_then_few_conflicts_and_few_risk_rejections(
    tmp_path: Path,
) -> None:
    outcomes = asyncio.run(run_desk(tmp_path, DEMO_MINUTES))

    summary = Summary.of(outcomes)
    print(dict(outcomes.most_common()), summary)
    actions = DEMO_MINUTES * 60 * RATE
    assert summary.requests > actions // 2  # most actions send a request (tickers aside)
    assert summary.conflicts / summary.requests < 0.05, outcomes
    assert summary.risk_rejections / summary.requests < 0.10, outcomes
    # The deliberate ones are there, so the risk views have something to show.
    assert any(key.startswith("deliberate 422") for key in outcomes), outcomes
    # It trades, flattens and rebalances, and nothing failed underneath.
    assert outcomes["order 201 ok"] > actions // 4, outcomes
    assert any(key.startswith(("flatten 201", "rebalance 201")) for key in outcomes), outcomes
    assert not [key for key in outcomes if key.startswith(("transport", "order 5"))], outcomes
