"""Market data sources: a seeded synthetic random walk, and replay of a recorded file.

Both push `Quote`s and `Trade`s into a sink (the service fans them out to the
hot cache and the engine). A replay file is read with the one tick file parser
(`realtime.tick_file`, shared with the tick inbox); a malformed row is counted
and reported with its line and reason, never fatal: a feed handler that dies on
one bad row takes the market down with it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from realtime.clock import Clock
from realtime.domain import Instrument, Quote, Trade

Tick = Quote | Trade


class FeedSink(Protocol):
    def on_quote(self, quote: Quote) -> None: ...
    def on_trade(self, trade: Trade) -> None: ...


def publish(sink: FeedSink, tick: Tick) -> None:
    if isinstance(tick, Quote):
        sink.on_quote(tick)
    else:
        sink.on_trade(tick)


# --- synthetic -----------------------------------------------------------------


class SyntheticFeed:
    """Per-symbol random walk on the tick grid, with a spread, sizes and trades.

    Deterministic for a seed: `ticks(n, ts_ns)` gives the same messages every run.
    """

    SLICE_S = 0.01  # publish in 10 ms slices: smooth enough, cheap on timers

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        start_prices: Mapping[str, float],
        *,
        seed: int = 42,
        trade_probability: float = 0.3,
    ) -> None:
        self.instruments = [i for i in instruments.values() if i.symbol in start_prices]
        if not self.instruments:
            raise ValueError("the synthetic feed needs at least one instrument with a start price")
        self.rng = random.Random(seed)
        self.trade_probability = trade_probability
        self._carry = 0.0  # the fraction of a message the last slice owed
        # Mid in ticks keeps the walk exactly on the grid.
        self.mid_ticks = {
            i.symbol: max(4, round(start_prices[i.symbol] / i.tick_size)) for i in self.instruments
        }
        # Volatility: about 2 bp per step, at least one tick.
        self.step_ticks = {
            i.symbol: max(1, round(self.mid_ticks[i.symbol] * 0.0002)) for i in self.instruments
        }

    def next_ticks(self, ts_ns: int) -> list[Tick]:
        rng = self.rng
        instrument = rng.choice(self.instruments)
        symbol, tick = instrument.symbol, instrument.tick_size
        step = self.step_ticks[symbol]
        mid = max(4, self.mid_ticks[symbol] + rng.choice((-step, 0, 0, step)))
        self.mid_ticks[symbol] = mid
        half_spread = rng.choice((1, 1, 1, 2))
        lot = instrument.lot_size
        bid = round((mid - half_spread) * tick, 10)
        ask = round((mid + half_spread) * tick, 10)
        quote = Quote(
            symbol=symbol,
            bid=bid,
            ask=ask,
            bid_size=lot * rng.randint(1, 20) * 10,
            ask_size=lot * rng.randint(1, 20) * 10,
            ts_ns=ts_ns,
        )
        if rng.random() >= self.trade_probability:
            return [quote]
        trade = Trade(
            symbol=symbol,
            price=bid if rng.random() < 0.5 else ask,
            size=lot * rng.randint(1, 10),
            ts_ns=ts_ns,
        )
        return [quote, trade]

    def publish_slice(self, sink: FeedSink, ts_ns: int, messages: float) -> None:
        """Publish `messages` feed messages (a quote, sometimes with a trade); a fraction
        carries over to the next slice."""
        self._carry += messages
        count = int(self._carry)
        self._carry -= count
        for _ in range(count):
            for tick in self.next_ticks(ts_ns):
                publish(sink, tick)

    async def run(self, sink: FeedSink, clock: Clock, rate_per_s: float) -> None:
        """Publish about `rate_per_s` messages a second until cancelled, in SLICE_S
        slices of the loop's time (a fake clock's owner calls publish_slice itself)."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            self.publish_slice(sink, clock.now_ns(), rate_per_s * self.SLICE_S)
            next_at += self.SLICE_S
            await asyncio.sleep(max(0.0, next_at - loop.time()))


# --- replay ----------------------------------------------------------------------------


@dataclass
class ReplayStats:
    source: str = ""  # the file, so that every example says file:line: reason
    rows: int = 0
    published: int = 0
    malformed: int = 0
    examples: list[str] = field(default_factory=list)  # first few problems, for the operator

    def bad(self, line: int, reason: str) -> None:
        self.malformed += 1
        if len(self.examples) < 20:
            self.examples.append(f"{self.source}:{line}: {reason}")


class ReplayFeed:
    """Replays a tick file (CSV or Parquet, the format of realtime.tick_file).

    `speed` 1.0 keeps the recorded pacing, 10.0 is ten times faster, 0 is as
    fast as possible. Messages are re-stamped with the live clock so that venue
    fills and session expiry run on the service's time.
    """

    def __init__(
        self, path: Path, instruments: Mapping[str, Instrument], *, speed: float = 1.0
    ) -> None:
        if speed < 0:
            raise ValueError("replay speed must be >= 0")
        self.path, self.instruments, self.speed = path, instruments, speed
        self.stats = ReplayStats(source=str(path))
        self.finished = False

    def ticks(self) -> Iterator[Tick]:
        """Valid ticks in file order with their recorded timestamps. Rows the tick file
        format refuses (see realtime.tick_file), and symbols this service does not
        trade (UNKNOWN_SYMBOL), are counted with their line and reason."""
        # Imported here: pandas and pyarrow load only when a file is replayed.
        from realtime.tick_file import read_tick_file

        for batch in read_tick_file(self.path, self.path.suffix):
            for refused in batch.refused:
                if refused.line_no > 0:  # a row; line 0 is the whole file
                    self.stats.rows += 1
                self.stats.bad(refused.line_no, f"{refused.code}: {refused.reason}")
            ticks, lines = _in_file_order(batch.quotes, batch.trades)
            self.stats.rows += len(ticks)
            known = self.instruments
            for index, tick in enumerate(ticks):
                if tick.symbol in known:
                    yield tick
                else:
                    self.stats.bad(
                        lines[index], f"UNKNOWN_SYMBOL: {tick.symbol!r} is not an instrument"
                    )

    async def run(self, sink: FeedSink, clock: Clock) -> None:
        first_recorded: int | None = None
        started = time.monotonic()
        for n, tick in enumerate(self.ticks()):
            if first_recorded is None:
                first_recorded = tick.ts_ns
            if self.speed > 0:
                due = started + (tick.ts_ns - first_recorded) / 1e9 / self.speed
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif n % 1_000 == 0:
                await asyncio.sleep(0)  # as fast as possible, but let requests in
            restamped: Tick
            if isinstance(tick, Quote):
                restamped = Quote(
                    symbol=tick.symbol,
                    bid=tick.bid,
                    ask=tick.ask,
                    bid_size=tick.bid_size,
                    ask_size=tick.ask_size,
                    ts_ns=clock.now_ns(),
                )
            else:
                restamped = Trade(
                    symbol=tick.symbol, price=tick.price, size=tick.size, ts_ns=clock.now_ns()
                )
            publish(sink, restamped)
            self.stats.published += 1
        self.finished = True


def _in_file_order(quotes: Any, trades: Any) -> tuple[list[Tick], list[int]]:
    """Quote and Trade objects of a batch in the order of their lines in the file."""
    ticks: list[Tick] = [*_quotes(quotes), *_trades(trades)]
    lines = [*quotes["line_no"].tolist(), *trades["line_no"].tolist()]
    if len(quotes) and len(trades):  # interleaved in the file: sort by line
        order = sorted(range(len(lines)), key=lines.__getitem__)
        return [ticks[i] for i in order], [lines[i] for i in order]
    return ticks, lines


def _quotes(frame: Any) -> list[Quote]:
    return [
        Quote(symbol=symbol, bid=bid, ask=ask, bid_size=bsz, ask_size=asz, ts_ns=ts)
        for ts, symbol, bid, ask, bsz, asz in zip(
            frame["ts_ns"].tolist(),
            frame["symbol"].tolist(),
            frame["bid"].tolist(),
            frame["ask"].tolist(),
            frame["bid_size"].tolist(),
            frame["ask_size"].tolist(),
            strict=True,
        )
    ]


def _trades(frame: Any) -> list[Trade]:
    return [
        Trade(symbol=symbol, price=price, size=size, ts_ns=ts)
        for ts, symbol, price, size in zip(
            frame["ts_ns"].tolist(),
            frame["symbol"].tolist(),
            frame["price"].tolist(),
            frame["size"].tolist(),
            strict=True,
        )
    ]
