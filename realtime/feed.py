"""Market data sources: a seeded synthetic random walk, and replay of a recorded file.

Both push `Quote`s and `Trade`s into a sink (the service fans them out to the
hot cache and the engine). A malformed row in a replay file is counted and
reported, never fatal: a feed handler that dies on one bad row takes the
market down with it.
"""

from __future__ import annotations

import asyncio
import csv
import math
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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

    async def run(self, sink: FeedSink, clock: Clock, rate_per_s: float) -> None:
        """Publish about `rate_per_s` messages a second until cancelled."""
        interval = 0.01  # publish in 10 ms slices: smooth enough, cheap on timers
        per_slice = rate_per_s * interval
        carry = 0.0
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            carry += per_slice
            count, carry = int(carry), carry - int(carry)
            for _ in range(count):
                for tick in self.next_ticks(clock.now_ns()):
                    publish(sink, tick)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))


# --- replay ----------------------------------------------------------------------

REPLAY_COLUMNS = ("ts", "symbol", "kind", "bid", "ask", "bid_size", "ask_size", "price", "size")


class BadRow(ValueError):
    pass


def parse_timestamp_ns(value: Any) -> int:
    """Integer nanoseconds since the epoch, or an ISO-8601 timestamp with a zone."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BadRow("timestamp without a time zone")
        return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1_000
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRow(f"bad timestamp {text!r}") from exc
    return parse_timestamp_ns(parsed)


def _price(row: Mapping[str, Any], column: str) -> float:
    try:
        value = float(row[column])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRow(f"{column}: not a number") from exc
    if not math.isfinite(value) or value <= 0:
        raise BadRow(f"{column}: must be positive and finite")
    return value


def _size(row: Mapping[str, Any], column: str) -> int:
    try:
        value = float(row[column])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRow(f"{column}: not a number") from exc
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise BadRow(f"{column}: must be a non-negative whole number")
    return int(value)


def parse_tick_row(row: Mapping[str, Any], known_symbols: Mapping[str, Instrument]) -> Tick:
    """One replay row to a Quote or Trade (stamped with its recorded time), or BadRow."""
    symbol = str(row.get("symbol") or "").strip()
    if symbol not in known_symbols:
        raise BadRow(f"unknown symbol {symbol!r}")
    ts_ns = parse_timestamp_ns(row.get("ts"))
    kind = str(row.get("kind") or "").strip().lower()
    if kind == "quote":
        bid, ask = _price(row, "bid"), _price(row, "ask")
        if ask < bid:
            raise BadRow(f"crossed quote: bid {bid} > ask {ask}")
        return Quote(
            symbol=symbol,
            bid=bid,
            ask=ask,
            bid_size=_size(row, "bid_size"),
            ask_size=_size(row, "ask_size"),
            ts_ns=ts_ns,
        )
    if kind == "trade":
        return Trade(
            symbol=symbol, price=_price(row, "price"), size=_size(row, "size"), ts_ns=ts_ns
        )
    raise BadRow(f"kind must be quote or trade, got {kind!r}")


def read_rows(path: Path) -> Iterator[Mapping[str, Any]]:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # only replay of parquet needs pyarrow loaded

        for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
            yield from batch.to_pylist()
    else:
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            yield from csv.DictReader(fh)


@dataclass
class ReplayStats:
    rows: int = 0
    published: int = 0
    malformed: int = 0
    examples: list[str] = field(default_factory=list)  # first few problems, for the operator

    def bad(self, line: int, reason: str) -> None:
        self.malformed += 1
        if len(self.examples) < 20:
            self.examples.append(f"row {line}: {reason}")


class ReplayFeed:
    """Replays a CSV or Parquet file of quotes and trades.

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
        self.stats = ReplayStats()
        self.finished = False

    def ticks(self) -> Iterator[Tick]:
        """Valid ticks in file order with their recorded timestamps; bad rows are counted."""
        try:
            for line, row in enumerate(read_rows(self.path), start=2):
                self.stats.rows += 1
                try:
                    yield parse_tick_row(row, self.instruments)
                except BadRow as exc:
                    self.stats.bad(line, str(exc))
        except (OSError, ValueError, csv.Error) as exc:
            # An unreadable file is reported like a bad row: the service stays up.
            self.stats.bad(0, f"cannot read {self.path}: {exc}")

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
