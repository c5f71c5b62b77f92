"""A real engine on a real journal file, with a fake clock and the simulated venue.

The instruments are the default universe's (`config/instruments.toml`, the file
`GET /instruments` serves): AAPL and MSFT 1x, ESZ6 a 50x future with quarter-point
ticks. Only HALTD, an instrument that does not trade, is the harness's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime.clock import FakeClock
from realtime.domain import Instrument, OrderRequest, OrderType, Quote, Side, TimeInForce
from realtime.engine import EngineConfig, SubmitResult, TradingEngine
from realtime.instruments import load_universe
from realtime.journal import Journal
from realtime.layout import ConfigFiles
from realtime.limits import RiskLimits, parse_limits
from realtime.venue import FixedBpsSlippage, SimulatedVenue, SimulatedVenueConfig

# 2026-11-26 14:30:00 UTC: inside the trading session, 6.5 h before the 21:00 end.
T0 = 1_795_703_400_000_000_000
ACK_NS = 100_000

DEFAULT_UNIVERSE = load_universe(ConfigFiles.from_env({}).instruments).by_symbol()
INSTRUMENTS = {
    **{symbol: DEFAULT_UNIVERSE[symbol] for symbol in ("AAPL", "MSFT", "ESZ6")},
    "HALTD": Instrument(symbol="HALTD", tick_size=0.01, tradable=False),
}

DEFAULT_LIMITS: dict[str, Any] = {
    "max_order_quantity": 10_000,
    "max_order_notional": 1_000_000.0,
    "max_position": 20_000,
    "max_gross_exposure": 5_000_000.0,
    "starting_cash": 1_000_000.0,
    "max_leverage": 4.0,
    "max_orders_per_second": 1_000.0,
    "order_burst": 1_000,
    "price_collar_pct": 10.0,
}


def make_limits(**overrides: Any) -> RiskLimits:
    return parse_limits({"default": {**DEFAULT_LIMITS, **overrides}})


def limit(
    cid: str,
    side: Side,
    quantity: int,
    price: float,
    symbol: str = "AAPL",
    tif: TimeInForce = TimeInForce.DAY,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=price,
        time_in_force=tif,
    )


def market(
    cid: str, side: Side, quantity: int, symbol: str = "AAPL", tif: TimeInForce = TimeInForce.DAY
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        quantity=quantity,
        order_type=OrderType.MARKET,
        time_in_force=tif,
    )


@dataclass
class Harness:
    engine: TradingEngine
    clock: FakeClock
    venue: SimulatedVenue
    path: Path
    sizes: dict[str, int] = field(default_factory=dict)

    def quote(self, symbol: str, bid: float, ask: float, size: int = 1_000) -> None:
        self.engine.on_quote(
            Quote(
                symbol=symbol,
                bid=bid,
                ask=ask,
                bid_size=size,
                ask_size=size,
                ts_ns=self.clock.now_ns(),
            )
        )

    def advance(self, ns: int = ACK_NS) -> None:
        self.clock.advance(ns)
        self.engine.pump()

    async def submit(self, req: OrderRequest, account: str = "alice") -> SubmitResult:
        return await self.engine.submit(account, req)

    async def settle(self) -> None:
        """Let the venue act on everything queued, and commit it."""
        self.advance()
        await self.engine.journal.flush()


def make_venue(clock: FakeClock, **config: Any) -> SimulatedVenue:
    settings = {"ack_latency_ns": ACK_NS, "slippage": FixedBpsSlippage(bps=0.0), **config}
    return SimulatedVenue(INSTRUMENTS, SimulatedVenueConfig(**settings))


@asynccontextmanager
async def open_engine(
    path: Path,
    *,
    clock: FakeClock | None = None,
    limits: RiskLimits | None = None,
    config: EngineConfig | None = None,
    **venue_config: Any,
) -> AsyncIterator[Harness]:
    clock = clock or FakeClock(T0)
    venue = make_venue(clock, **venue_config)
    journal = Journal.open(path)
    engine = await TradingEngine.open(
        journal,
        INSTRUMENTS,
        limits or make_limits(),
        venue,
        clock,
        config or EngineConfig(auto_pump=False, price_sample_interval_ns=0),
    )
    try:
        yield Harness(engine, clock, venue, path)
    finally:
        await engine.close()
