"""The sinks: files dropped in the inboxes, loaded once, refused records quarantined."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pydantic

from assets.resources import DuckDBWarehouse, Inbox
from assets.sinks.assets import SINK_ASSETS
from realtime.domain import Quote
from realtime.feed import ReplayFeed
from realtime.instruments import load_universe
from realtime.layout import PROJECT_ROOT
from tests.assets.results import failed_checks


def sink(
    inbox: Inbox, warehouse: DuckDBWarehouse, *, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        SINK_ASSETS,
        resources={"warehouse": warehouse, "inbox": inbox},
        raise_on_error=raise_on_error,
    )


def drop(folder: str, name: str, content: bytes | str) -> Path:
    """Drop a file the way producers must: write a temporary name, then rename."""
    data = content.encode() if isinstance(content, str) else content
    temporary = Path(folder) / f".{name}.tmp"
    temporary.write_bytes(data)
    final = Path(folder) / name
    os.replace(temporary, final)
    return final


def quarantine(warehouse: DuckDBWarehouse) -> pd.DataFrame:
    return warehouse.query(
        "SELECT sink, file_name, line_no, reason_code, reason, record FROM quarantine "
        "ORDER BY file_name, line_no"
    )


def record(**fields: object) -> str:
    base: dict[str, object] = {
        "ts": "2026-11-26T14:30:00Z",
        "symbol": "AAPL",
        "signal": "news_sentiment",
        "value": 0.25,
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


ALT_LINES = [
    record(),  # 1 good
    record(symbol="MSFT", value=-0.5, source="vendor-x"),  # 2 good
    '{"ts": "2026-11-26T14:31:00Z", "symbol": "AAPL", ',  # 3 malformed JSON
    record(symbol="aapl"),  # 4 schema: lower-case symbol
    record(ts="2026-11-26T14:32:00"),  # 5 schema: no time zone
    record(value="high"),  # 6 schema: not a number
    record(extra=1),  # 7 schema: unknown field
    "",  # 8 blank: not a record
    record(ts="2026-11-26T15:30:00+01:00", value=0.75),  # 9 same key as line 1: supersedes it
    "[1, 2, 3]",  # 10 schema: not an object
]


def test_alt_file_when_records_good_and_bad_then_good_load_and_the_rest_is_quarantined(
    inbox: Inbox, warehouse: DuckDBWarehouse
) -> None:
    drop(inbox.alt_dir, "news.jsonl", "\n".join(ALT_LINES) + "\n")

    result = sink(inbox, warehouse)

    signals = warehouse.query("SELECT * FROM alt_signals ORDER BY symbol")
    assert list(signals["symbol"]) == ["AAPL", "MSFT"]
    assert list(signals["value"]) == [0.75, -0.5]  # line 9 corrected line 1
    assert list(signals["line_no"]) == [9, 2]
    assert signals["ts"].iloc[0] == pd.Timestamp("2026-11-26 14:30:00")  # 15:30+01:00 in UTC
    assert signals["source"].iloc[1] == "vendor-x"
    refused = quarantine(warehouse)
    assert list(zip(refused["line_no"], refused["reason_code"], strict=True)) == [
        (1, "DUPLICATE_KEY"),
        (3, "MALFORMED_JSON"),
        (4, "SCHEMA_VIOLATION"),
        (5, "SCHEMA_VIOLATION"),
        (6, "SCHEMA_VIOLATION"),
        (7, "SCHEMA_VIOLATION"),
        (10, "SCHEMA_VIOLATION"),
    ]
    reasons = dict(zip(refused["line_no"], refused["reason"], strict=True))
    assert "$.symbol" in reasons[4]
    assert "timezone" in reasons[5]
    assert "`extra`" in reasons[7]
    assert "superseded by line 9" in reasons[1]
    assert (refused["file_name"] == "news.jsonl").all()
    assert refused.set_index("line_no").loc[3, "record"] == ALT_LINES[2]
    assert failed_checks(result) == []
    assert not (Path(inbox.alt_dir) / "news.jsonl").exists()
    assert (Path(inbox.alt_dir) / "done" / "news.jsonl").exists()
    processed = warehouse.query("SELECT * FROM processed_files")
    assert processed[["rows_loaded", "rows_quarantined"]].values.tolist() == [[2, 7]]


def test_quarantine_and_processed_files_when_files_loaded_then_their_assets_show_why(
    inbox: Inbox, warehouse: DuckDBWarehouse
) -> None:
    drop(inbox.alt_dir, "news.jsonl", "\n".join(ALT_LINES) + "\n")

    result = sink(inbox, warehouse)

    def metadata(asset: str) -> dict[str, object]:
        [event] = [
            m
            for m in result.get_asset_materialization_events()
            if m.asset_key == dg.AssetKey(asset)
        ]
        return {k: v.value for k, v in event.materialization.metadata.items()}

    refused = metadata("quarantine")
    assert refused["dagster/row_count"] == 7
    assert "| alt SCHEMA_VIOLATION | 5 | █" in str(refused["records_by_sink_and_reason"])
    assert "MALFORMED_JSON" in str(refused["newest_records"])
    assert "news.jsonl" in str(refused["newest_records"])
    loaded = metadata("processed_files")
    assert loaded["dagster/row_count"] == 1
    assert "news.jsonl" in str(loaded["newest_files"])


def test_alt_csv_when_rows_good_and_bad_then_good_load_and_the_rest_is_quarantined(
    inbox: Inbox, warehouse: DuckDBWarehouse
) -> None:
    drop(
        inbox.alt_dir,
        "sentiment.csv",
        "ts,symbol,signal,value,source\n"
        "2026-11-26T14:30:00Z,AAPL,news_sentiment,0.1,\n"
        "2026-11-26T14:30:00Z,MSFT,news_sentiment,nan,vendor\n"
        "2026-11-26T14:30:00Z,NVDA,news_sentiment\n"
        "not-a-time,NVDA,news_sentiment,0.3,vendor\n"
        "2026-11-26T14:31:00Z,NVDA,news_sentiment,0.4,vendor\n",
    )

    sink(inbox, warehouse)

    signals = warehouse.query(
        "SELECT symbol, value, source, line_no FROM alt_signals ORDER BY line_no"
    )
    assert signals.values.tolist() == [["AAPL", 0.1, None, 2], ["NVDA", 0.4, "vendor", 6]]
    refused = quarantine(warehouse)
    assert list(zip(refused["line_no"], refused["reason_code"], strict=True)) == [
        (3, "NON_FINITE_VALUE"),
        (4, "MALFORMED_ROW"),
        (5, "SCHEMA_VIOLATION"),
    ]


def test_alt_files_when_unreadable_then_each_is_quarantined_whole_and_the_run_succeeds(
    inbox: Inbox, warehouse: DuckDBWarehouse
) -> None:
    drop(inbox.alt_dir, "empty.jsonl", b"")
    drop(inbox.alt_dir, "garbage.jsonl", bytes(range(256)) * 4)
    drop(
        inbox.alt_dir,
        "latin1.csv",
        "ts,symbol,signal,value\n2026-11-26T14:30:00Z,CAF\xc9,x,1\n".encode("latin-1"),
    )
    drop(inbox.alt_dir, "wrong-header.csv", "time,ticker,score\n1,2,3\n")
    drop(inbox.alt_dir, "notes.txt", "call the vendor")

    result = sink(inbox, warehouse)

    assert result.success
    refused = quarantine(warehouse).set_index("file_name")
    assert refused["reason_code"].to_dict() == {
        "empty.jsonl": "EMPTY_FILE",
        "garbage.jsonl": "BINARY_FILE",
        "latin1.csv": "NOT_UTF8",
        "notes.txt": "UNSUPPORTED_FORMAT",
        "wrong-header.csv": "MISSING_COLUMNS",
    }
    assert (refused["line_no"] == 0).all()
    assert warehouse.query("SELECT count(*) FROM alt_signals").iat[0, 0] == 0
    assert sorted(p.name for p in (Path(inbox.alt_dir) / "done").iterdir()) == sorted(refused.index)


def test_alt_file_when_dropped_again_then_it_is_not_loaded_twice(
    inbox: Inbox, warehouse: DuckDBWarehouse
) -> None:
    content = "\n".join(ALT_LINES)
    drop(inbox.alt_dir, "news.jsonl", content)
    sink(inbox, warehouse)
    drop(inbox.alt_dir, "news-resent.jsonl", content)

    again = sink(inbox, warehouse)

    assert warehouse.query("SELECT count(*) FROM alt_signals").iat[0, 0] == 2
    assert warehouse.query("SELECT count(*) FROM quarantine").iat[0, 0] == 7
    metadata = next(iter(again.asset_materializations_for_node("alt_signals"))).metadata
    assert metadata["files_skipped_already_loaded"].value == 1
    assert metadata["rows_written"].value == 0
    assert (Path(inbox.alt_dir) / "done" / "news-resent.jsonl").exists()


class CrashBeforeMove(Inbox):
    """Dies once after the file's rows are committed, before it moves to done/."""

    crash_marker: str = pydantic.Field(description="exists once the crash has happened")

    def mark_done(self, path: Path) -> Path:
        marker = Path(self.crash_marker)
        if not marker.exists():
            marker.touch()
            raise RuntimeError("simulated crash before moving the file")
        return super().mark_done(path)


def test_alt_file_when_run_retried_after_a_crash_then_it_is_processed_once(
    inbox: Inbox, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    drop(inbox.alt_dir, "news.jsonl", "\n".join(ALT_LINES))
    crashing = CrashBeforeMove(
        ticks_dir=inbox.ticks_dir, alt_dir=inbox.alt_dir, crash_marker=str(tmp_path / "crashed")
    )
    first = dg.materialize(
        SINK_ASSETS, resources={"warehouse": warehouse, "inbox": crashing}, raise_on_error=False
    )
    assert not first.success
    assert (Path(inbox.alt_dir) / "news.jsonl").exists()  # still waiting

    retry = sink(inbox, warehouse)

    assert warehouse.query("SELECT count(*) FROM alt_signals").iat[0, 0] == 2
    assert warehouse.query("SELECT count(*) FROM quarantine").iat[0, 0] == 7
    assert warehouse.query("SELECT count(*) FROM processed_files").iat[0, 0] == 1
    assert (Path(inbox.alt_dir) / "done" / "news.jsonl").exists()
    assert failed_checks(retry) == []


def test_tick_csv_when_quotes_have_bad_rows_then_good_rows_load_with_their_lines(
    inbox: Inbox, warehouse: DuckDBWarehouse
) -> None:
    drop(
        inbox.ticks_dir,
        "quotes-2026-11-26.csv",
        "ts,symbol,bid,ask,bid_size,ask_size,venue\n"
        "2026-11-26T14:30:00.000001Z,AAPL,189.99,190.01,100,200,X\n"
        "2026-11-26T14:30:00.000002Z,AAPL,-1,190.01,100,200,X\n"
        "yesterday,AAPL,189.99,190.01,100,200,X\n"
        "2026-11-26T14:30:00.000003Z,AAPL,189.99\n"
        "2026-11-26T14:30:00.000004Z,,189.99,190.01,100,200,X\n"
        "1795703400000005000,MSFT,414.99,415.01,10.5,200,X\n"
        "1795703400000006000,MSFT,414.99,415.01,10,200,X\n",
    )

    result = sink(inbox, warehouse)

    quotes = warehouse.query(
        "SELECT ts, symbol, bid, bid_size, line_no FROM replay_quotes ORDER BY line_no"
    )
    assert quotes[["symbol", "bid", "bid_size", "line_no"]].values.tolist() == [
        ["AAPL", 189.99, 100, 2],
        ["MSFT", 414.99, 10, 8],
    ]
    assert quotes["ts"].tolist() == [
        pd.Timestamp("2026-11-26 14:30:00.000001"),
        pd.Timestamp("2026-11-26 14:30:00.000006"),
    ]
    refused = quarantine(warehouse)
    assert list(zip(refused["line_no"], refused["reason_code"], strict=True)) == [
        (3, "NEGATIVE_VALUE"),
        (4, "BAD_TIMESTAMP"),
        (5, "MALFORMED_ROW"),
        (6, "MISSING_SYMBOL"),
        (7, "BAD_SIZE"),
    ]
    assert (refused["sink"] == "ticks").all()
    assert failed_checks(result) == []


def test_tick_parquet_when_trades_then_they_load_and_checks_pass(
    inbox: Inbox, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    trades = pa.table(
        {
            "ts": pa.array(
                pd.to_datetime(["2026-11-26 14:30:00", "2026-11-26 14:30:01"]).tz_localize("UTC")
            ),
            "symbol": ["AAPL", "AAPL"],
            "price": [190.0, 190.5],
            "size": [100, 50],
        }
    )
    staged = tmp_path / "trades.parquet"
    pq.write_table(trades, staged)
    drop(inbox.ticks_dir, "trades.parquet", staged.read_bytes())
    drop(inbox.ticks_dir, "mystery.csv", "a,b\n1,2\n")

    result = sink(inbox, warehouse)

    loaded = warehouse.query(
        "SELECT symbol, price, size, line_no FROM replay_trades ORDER BY line_no"
    )
    assert loaded.values.tolist() == [["AAPL", 190.0, 100, 1], ["AAPL", 190.5, 50, 2]]
    assert quarantine(warehouse)[["file_name", "reason_code"]].values.tolist() == [
        ["mystery.csv", "UNKNOWN_LAYOUT"]
    ]
    assert failed_checks(result) == []


MIXED_TICKS = (
    "ts,symbol,kind,bid,ask,bid_size,ask_size,price,size\n"
    "1795703400000000000,AAPL,quote,190.00,190.02,100,200,,\n"
    "2026-11-26T14:30:00.5Z,AAPL,trade,,,,,190.01,50\n"
    "2026-11-26T14:30:01,AAPL,trade,,,,,190.01,50\n"
    "1795703401000000000,AAPL,quote,190.05,190.01,100,100,,\n"
    "1795703402000000000,AAPL,bogus,,,,,,\n"
    "2026-11-26T15:30:03+01:00,MSFT,quote,414.99,415.01,3,4,,\n"
)


def test_tick_file_when_quotes_and_trades_mixed_with_kind_then_each_loads_to_its_table(
    inbox: Inbox, warehouse: DuckDBWarehouse
) -> None:
    drop(inbox.ticks_dir, "session.csv", MIXED_TICKS)

    result = sink(inbox, warehouse)

    quotes = warehouse.query("SELECT ts, symbol, bid, line_no FROM replay_quotes ORDER BY line_no")
    trades = warehouse.query("SELECT ts, symbol, price, line_no FROM replay_trades")
    assert quotes.values.tolist() == [
        [pd.Timestamp("2026-11-26 14:30:00"), "AAPL", 190.0, 2],
        [pd.Timestamp("2026-11-26 14:30:03"), "MSFT", 414.99, 7],  # 15:30:03+01:00 in UTC
    ]
    assert trades.values.tolist() == [[pd.Timestamp("2026-11-26 14:30:00.5"), "AAPL", 190.01, 3]]
    refused = quarantine(warehouse)
    assert list(zip(refused["line_no"], refused["reason_code"], strict=True)) == [
        (4, "BAD_TIMESTAMP"),  # no UTC offset: refused, not read as UTC
        (5, "CROSSED_QUOTE"),
        (6, "BAD_KIND"),
    ]
    assert "no UTC offset" in refused["reason"].iloc[0]
    assert failed_checks(result) == []


def test_tick_parquet_when_timestamps_are_naive_then_the_file_is_refused_whole(
    inbox: Inbox, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    staged = tmp_path / "trades.parquet"
    pq.write_table(
        pa.table(
            {
                "ts": pa.array(pd.to_datetime(["2026-11-26 14:30:00"])),
                "symbol": ["AAPL"],
                "price": [190.0],
                "size": [100],
            }
        ),
        staged,
    )
    drop(inbox.ticks_dir, "naive.parquet", staged.read_bytes())

    sink(inbox, warehouse)

    assert warehouse.query("SELECT count(*) FROM replay_trades").iat[0, 0] == 0
    assert quarantine(warehouse)[["line_no", "reason_code"]].values.tolist() == [
        [0, "BAD_TIMESTAMP"]
    ]


def test_tick_file_when_replayed_by_the_service_and_loaded_by_the_inbox_then_both_agree(
    inbox: Inbox, warehouse: DuckDBWarehouse, tmp_path: Path
) -> None:
    """One format, one parser: the same bytes give the same ticks and the same refusals."""
    replay_file = tmp_path / "session.csv"
    replay_file.write_text(MIXED_TICKS)
    instruments = load_universe(PROJECT_ROOT / "config" / "instruments.toml").by_symbol()
    feed = ReplayFeed(replay_file, instruments, speed=0)
    replayed = [
        (t.ts_ns, t.symbol, t.bid if isinstance(t, Quote) else t.price) for t in feed.ticks()
    ]
    drop(inbox.ticks_dir, "session.csv", MIXED_TICKS)

    sink(inbox, warehouse)

    loaded = warehouse.query(
        "SELECT line_no, epoch_ns(ts) AS ts_ns, symbol, bid AS price FROM replay_quotes "
        "UNION ALL SELECT line_no, epoch_ns(ts), symbol, price FROM replay_trades ORDER BY 1"
    )
    assert [tuple(row[1:]) for row in loaded.values.tolist()] == replayed
    refused_by_feed = [
        e.removeprefix(f"{replay_file}:").split(": ")[:2] for e in feed.stats.examples
    ]
    assert [[int(line), code] for line, code in refused_by_feed] == (
        quarantine(warehouse)[["line_no", "reason_code"]].values.tolist()
    )
