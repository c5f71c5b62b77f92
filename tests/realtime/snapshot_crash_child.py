"""Child process for the snapshot crash test: dies by SIGKILL half-way through storing a
snapshot, after a complete one and more events.

Rests `ORDERS` orders, stores snapshot A (large enough to be chunked) and prints
`SNAPSHOT {seq}` once it is complete; rests `MORE` orders more, flushes and prints
`EVENTS {last_seq}`; then starts snapshot B and SIGKILLs itself right after B's second
chunk has committed: B's first chunks are in the file, its marker is not.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import realtime.journal.writer as journal_writer
from realtime.domain import Side, TimeInForce
from realtime.engine import EngineConfig
from realtime.snapshot_build import SnapshotBuild
from tests.realtime.harness import limit, make_limits, open_engine

ORDERS = 6_000  # ~120 bytes each in format 2: three 256 KiB chunks or more
MORE = 200
QUIET = EngineConfig(
    auto_pump=False, price_sample_interval_ns=0, snapshot_every=10**9, snapshot_on_close=False
)
LIMITS = make_limits(order_burst=10_000, max_orders_per_second=100_000.0)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(path: Path) -> None:
    async with open_engine(path, config=QUIET, limits=LIMITS) as h:
        h.quote("AAPL", 99.99, 100.01)
        for i in range(ORDERS):
            await h.submit(limit(f"a{i}", Side.BUY, 1, 95.00, tif=TimeInForce.GTC))
        await h.settle()
        state, journal = h.engine.state, h.engine.journal
        await journal.write_snapshot(state.last_seq, SnapshotBuild(state).build_now())
        say(f"SNAPSHOT {state.last_seq}")
        for i in range(MORE):
            await h.submit(limit(f"b{i}", Side.BUY, 1, 95.00, tif=TimeInForce.GTC))
        await h.settle()
        say(f"EVENTS {journal.committed_seq}")
        real_crc = journal_writer.chunk_crc

        def crc_then_die(seq: int, part: int, payload: bytes) -> Any:
            if part == 2:  # parts 0 and 1 of snapshot B have committed
                os.kill(os.getpid(), signal.SIGKILL)
            return real_crc(seq, part, payload)

        journal_writer.chunk_crc = crc_then_die  # type: ignore[assignment]
        await journal.write_snapshot(state.last_seq, SnapshotBuild(state).build_now())
        say("NOT KILLED")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
