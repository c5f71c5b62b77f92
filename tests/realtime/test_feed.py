"""Market data sources: the seeded synthetic walk and replay files with bad rows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from realtime.clock import FakeClock
from realtime.domain import Instrument, Quote, Trade
from realtime.feed import ReplayFeed, SyntheticFeed
from realtime.service_process import clean_env, start_service
from tests.realtime.api.support import poll

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


def codes(feed: ReplayFeed) -> list[tuple[int, str]]:
    """(line, reason code) of each refused row, from the operator's `file:line: CODE: ...`."""
    found = []
    for example in feed.stats.examples:
        line, code, _ = example.removeprefix(f"{feed.path}:").split(": ", 2)
        found.append((int(line), code))
    return found


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
    assert sorted(codes(feed)) == [
        (4, "UNKNOWN_SYMBOL"),
        (5, "CROSSED_QUOTE"),
        (6, "BAD_NUMBER"),
        (7, "NEGATIVE_VALUE"),
        (8, "BAD_SIZE"),
        (9, "BAD_TIMESTAMP"),
        (10, "BAD_KIND"),
    ]
    assert all(example.startswith(f"{path}:") for example in feed.stats.examples)


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
    assert codes(feed) == [(0, "UNREADABLE")]


def test_replay_when_iso_timestamps_carry_an_offset_then_they_become_utc_nanoseconds(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        "ts,symbol,price,size\n"
        "2026-11-26T14:30:00.25+00:00,AAPL,1,2\n"
        "2026-11-26T09:30:00.25-05:00,AAPL,1,2\n"
    )
    ticks = list(ReplayFeed(path, INSTRUMENTS, speed=0).ticks())
    assert [t.ts_ns for t in ticks] == [1_795_703_400_250_000_000] * 2


def test_replay_when_timestamps_are_naive_then_each_row_is_refused_not_guessed(
    tmp_path: Path,
) -> None:
    """One rule with the tick inbox: a time without a UTC offset is refused."""
    csv_path = tmp_path / "quotes.csv"
    csv_path.write_text(
        "ts,symbol,bid,ask,bid_size,ask_size\n"
        "2026-11-26T14:30:00,AAPL,190.00,190.02,100,200\n"
        "2026-11-26T14:30:01Z,AAPL,190.00,190.02,100,200\n"
    )
    parquet_path = tmp_path / "trades.parquet"
    naive = pd.to_datetime(["2026-11-26 14:30:00"])
    pq.write_table(
        pa.table({"ts": pa.array(naive), "symbol": ["AAPL"], "price": [1.0], "size": [1]}),
        parquet_path,
    )

    csv_feed = ReplayFeed(csv_path, INSTRUMENTS, speed=0)
    parquet_feed = ReplayFeed(parquet_path, INSTRUMENTS, speed=0)

    assert [t.ts_ns for t in csv_feed.ticks()] == [1_795_703_401_000_000_000]
    assert codes(csv_feed) == [(2, "BAD_TIMESTAMP")]
    assert "no UTC offset" in csv_feed.stats.examples[0]
    assert list(parquet_feed.ticks()) == []
    assert codes(parquet_feed) == [(0, "BAD_TIMESTAMP")]


@pytest.mark.slow
def test_service_when_fed_a_tick_inbox_style_quotes_file_then_its_tickers_show_the_quotes(
    tmp_path: Path,
) -> None:
    """The live service replays the same format the tick inbox loads (here: quotes only,
    no kind column, the layout the inbox has always taken)."""
    path = tmp_path / "quotes.csv"
    path.write_text(
        "ts,symbol,bid,ask,bid_size,ask_size\n"
        "2026-11-26T14:30:00Z,AAPL,189.99,190.01,100,200\n"
        "2026-11-26T14:30:00,MSFT,414.99,415.01,10,20\n"
        "2026-11-26T14:30:00.001Z,MSFT,414.98,415.02,10,20\n"
    )
    env = clean_env()
    env.update(
        TRADEPIPE_DATA_DIR=str(tmp_path / "data"),
        TRADEPIPE_FEED=str(path),
        TRADEPIPE_REPLAY_SPEED="0",
        TRADEPIPE_ACCESS_LOG="0",
    )
    service = start_service(env, tmp_path / "server.log")
    try:
        service.wait_answering(30)
        tickers = poll(
            lambda: httpx.get(f"{service.url}/tickers/MSFT").json(),
            lambda t: t.get("bid") is not None,
            what="the replayed MSFT quote",
        )
        aapl = httpx.get(f"{service.url}/tickers/AAPL").json()
        metrics = httpx.get(f"{service.url}/metrics").text
    finally:
        service.stop()
    assert (aapl["bid"], aapl["ask"]) == (189.99, 190.01)
    assert (tickers["bid"], tickers["ask"]) == (414.98, 415.02)
    assert "tradepipe_feed_malformed_rows 1" in metrics  # the naive MSFT line
