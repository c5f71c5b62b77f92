"""Market data sources: the seeded synthetic walk and replay files with bad rows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from realtime.clock import FakeClock
from realtime.domain import Instrument, Quote, Trade
from realtime.feed import ReplayFeed, SyntheticFeed, parse_tick_row

INSTRUMENTS = {
    "AAPL": Instrument(symbol="AAPL", tick_size=0.01),
    "ESZ6": Instrument(symbol="ESZ6", tick_size=0.25),
}


class Collector:
    def __init__(self) -> None:
        self.ticks: list[Quote | Trade] = []

    def on_quote(self, quote: Quote) -> None:
        self.ticks.append(quote)

    def on_trade(self, trade: Trade) -> None:
        self.ticks.append(trade)


def test_synthetic_feed_when_same_seed_then_same_ticks_on_the_tick_grid() -> None:
    def run(seed: int) -> list[Quote | Trade]:
        feed = SyntheticFeed(INSTRUMENTS, {"AAPL": 190.0, "ESZ6": 5600.0}, seed=seed)
        return [t for n in range(2_000) for t in feed.next_ticks(n)]

    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert first != other
    quotes = [t for t in first if isinstance(t, Quote)]
    assert {q.symbol for q in quotes} == {"AAPL", "ESZ6"}
    for quote in quotes:
        tick = INSTRUMENTS[quote.symbol].tick_size
        assert quote.bid < quote.ask
        assert abs(quote.bid / tick - round(quote.bid / tick)) < 1e-6
        assert quote.bid_size > 0 and quote.ask_size > 0
    assert any(isinstance(t, Trade) for t in first)


CSV = """ts,symbol,kind,bid,ask,bid_size,ask_size,price,size
1795703400000000000,AAPL,quote,190.00,190.02,100,200,,
2026-11-26T14:30:00.5Z,AAPL,trade,,,,,190.01,50
1795703401000000000,NOPE,quote,1,2,1,1,,
1795703401000000000,AAPL,quote,190.05,190.01,100,100,,
1795703401000000000,AAPL,quote,abc,190.01,100,100,,
1795703401000000000,AAPL,trade,,,,,-5,10
1795703401000000000,AAPL,trade,,,,,190.0,1.5
yesterday,AAPL,trade,,,,,190.0,1
1795703402000000000,AAPL,bogus,,,,,,
1795703402000000000,ESZ6,quote,5600.00,5600.25,3,4,,
"""


def test_replay_when_file_has_malformed_rows_then_counts_them_and_publishes_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ticks.csv"
    path.write_text(CSV)
    feed = ReplayFeed(path, INSTRUMENTS, speed=0)
    sink = Collector()
    asyncio.run(feed.run(sink, FakeClock(5)))
    assert feed.finished
    assert [type(t).__name__ for t in sink.ticks] == ["Quote", "Trade", "Quote"]
    assert all(t.ts_ns == 5 for t in sink.ticks)  # re-stamped with the live clock
    assert feed.stats.rows == 10
    assert feed.stats.malformed == 7
    reasons = " | ".join(feed.stats.examples)
    for expected in ("unknown symbol", "crossed", "not a number", "positive", "whole", "timestamp"):
        assert expected in reasons


def test_replay_when_parquet_then_same_parsing(tmp_path: Path) -> None:
    path = tmp_path / "ticks.parquet"
    table = pa.table(
        {
            "ts": [1795703400000000000, 1795703400100000000],
            "symbol": ["AAPL", "AAPL"],
            "kind": ["quote", "trade"],
            "bid": [190.0, None],
            "ask": [190.02, None],
            "bid_size": [100, None],
            "ask_size": [100, None],
            "price": [None, 190.01],
            "size": [None, 7],
        }
    )
    pq.write_table(table, path)
    feed = ReplayFeed(path, INSTRUMENTS, speed=0)
    ticks = list(feed.ticks())
    assert feed.stats.malformed == 0
    assert ticks[1] == Trade(symbol="AAPL", price=190.01, size=7, ts_ns=1795703400100000000)


def test_replay_when_file_unreadable_then_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "garbage.parquet"
    path.write_bytes(b"\x00\x01 not parquet")
    feed = ReplayFeed(path, INSTRUMENTS, speed=0)
    assert list(feed.ticks()) == []
    assert feed.stats.malformed == 1
    assert "cannot read" in feed.stats.examples[0]


def test_parse_tick_row_when_iso_timestamp_then_nanoseconds() -> None:
    tick = parse_tick_row(
        {
            "ts": "2026-11-26T14:30:00.25+00:00",
            "symbol": "AAPL",
            "kind": "trade",
            "price": "1",
            "size": "2",
        },
        INSTRUMENTS,
    )
    assert tick.ts_ns == 1_795_703_400_250_000_000
