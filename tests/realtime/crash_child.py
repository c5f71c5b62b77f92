"""Child process for the recovery test: trades until killed, printing what was acknowledged.

Prints `ACK {order}` after each submit returns (its event is committed) and
`FILL {fill}` for fills whose events the journal has committed. The parent
kills this process with SIGKILL mid-stream and checks that every printed
order and fill survives the restart.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import msgspec

from realtime.clock import SystemClock
from realtime.domain import Quote, Side
from realtime.engine import EngineConfig, TradingEngine
from realtime.events import Event, OrderFilled
from realtime.journal import Journal
from realtime.venue import SimulatedVenue, SimulatedVenueConfig
from tests.realtime.harness import INSTRUMENTS, limit, make_limits, market


def emit(tag: str, payload: object) -> None:
    sys.stdout.write(f"{tag} {msgspec.json.encode(payload).decode()}\n")
    sys.stdout.flush()


async def main(path: Path) -> None:
    clock = SystemClock()
    venue = SimulatedVenue(INSTRUMENTS, SimulatedVenueConfig(ack_latency_ns=50_000))
    engine = await TradingEngine.open(
        Journal.open(path),
        INSTRUMENTS,
        make_limits(),
        venue,
        clock,
        EngineConfig(snapshot_every=500),
    )
    committed_fills: list[tuple[int, OrderFilled]] = []

    def on_event(seq: int, event: Event) -> None:
        if isinstance(event, OrderFilled):
            committed_fills.append((seq, event))

    engine.subscribe(on_event)
    rng = random.Random(7)
    mid = 100.0
    n = 0
    print("READY", flush=True)
    while True:
        mid = max(50.0, mid + rng.choice((-0.05, 0.0, 0.05)))
        engine.on_quote(
            Quote(
                symbol="AAPL",
                bid=round(mid - 0.01, 2),
                ask=round(mid + 0.01, 2),
                bid_size=rng.randint(50, 500),
                ask_size=rng.randint(50, 500),
                ts_ns=clock.now_ns(),
            )
        )
        n += 1
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        if n % 3:
            req = limit(f"c{n}", side, rng.randint(1, 50), round(mid + rng.uniform(-0.2, 0.2), 2))
        else:
            req = market(f"c{n}", side, rng.randint(1, 50))
        result = await engine.submit("alice", req)
        emit("ACK", result.order)
        while committed_fills and committed_fills[0][0] <= engine.journal.committed_seq:
            emit("FILL", committed_fills.pop(0)[1])
        await asyncio.sleep(0)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
