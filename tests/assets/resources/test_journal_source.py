"""The journal as a batch source: same events as the journal's own reader, verified."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from assets.resources.journal import JournalSource
from realtime.events import PriceSampled, TradePrinted, decode_event, encode_event
from realtime.journal import (
    EVENT_TYPES,
    Journal,
    JournalCorruptError,
    JournalDecodeError,
    event_crc,  # the journal's own row checksum, to forge a row that passes it
)
from tests.assets.journals import append_events, tick_events, write_engine_journal
from tests.realtime.harness import T0


@pytest.fixture(scope="module")
def journal_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("journal") / "journal.db"
    write_engine_journal(path)
    return path


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def test_batches_when_all_types_then_every_event_decodes_as_the_journal_reader_does(
    journal_path: Path,
) -> None:
    source = JournalSource(path=str(journal_path), batch_rows=10)
    reader = Journal.open_reader(journal_path)
    expected = {seq: (ts, event) for seq, ts, event in reader.read()}

    seen = 0
    for batch in source.batches(EVENT_TYPES, after_seq=0, upto_seq=source.head_seq()):
        for name, frame in batch.by_type.items():
            for row in frame.to_dict("records"):
                ts, event = expected[row["seq"]]
                assert type(event).__name__ == name
                assert row["ts_ns"] == ts
                fields = flatten(msgspec.to_builtins(event))
                del fields["type"], fields["ts_ns"]
                assert {k: _null_as_none(row[k]) for k in fields} == fields
                seen += 1
    assert seen == len(expected)


def test_batches_when_all_types_cut_by_bytes_then_still_as_the_journal_reader_does(
    journal_path: Path,
) -> None:
    # Market data and the other types come from SQLite in separate blobs; a byte limit
    # cuts the batch across them at one seq.
    source = JournalSource(path=str(journal_path), batch_rows=40, batch_bytes=2_000)
    reader = Journal.open_reader(journal_path)
    expected = {seq: (ts, event) for seq, ts, event in reader.read()}

    batches = list(source.batches(EVENT_TYPES, after_seq=0, upto_seq=source.head_seq()))

    assert [b.after_seq for b in batches[1:]] == [b.last_seq for b in batches[:-1]]
    assert any(len(b) < 40 for b in batches[:-1])  # some batches were cut by bytes
    seen = []
    for batch in batches:
        for name, frame in batch.by_type.items():
            for row in frame.to_dict("records"):
                ts, event = expected[row["seq"]]
                assert (type(event).__name__, row["ts_ns"]) == (name, ts)
                fields = flatten(msgspec.to_builtins(event))
                del fields["type"], fields["ts_ns"]
                assert {k: _null_as_none(row[k]) for k in fields} == fields
                seen.append(row["seq"])
    assert sorted(seen) == sorted(expected)


def _null_as_none(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def test_batches_when_types_filtered_then_only_those_in_seq_order(journal_path: Path) -> None:
    source = JournalSource(path=str(journal_path))
    reader = Journal.open_reader(journal_path)
    wanted = {"OrderFilled", "PriceSampled"}

    batches = list(source.batches(wanted, after_seq=0, upto_seq=source.head_seq()))

    selected = batches[0].select(wanted)
    assert list(selected["seq"]) == [s for s, _, t, _ in reader.read_raw(types=wanted)]
    assert set(selected["event_type"]) == wanted
    assert source.count(wanted, upto_seq=source.head_seq()) == len(selected)


def test_batches_when_byte_limit_small_then_batches_are_cut_but_cover_everything(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    append_events(path, tick_events(40))
    one_payload = len(encode_event(tick_events(1)[0]))
    source = JournalSource(path=str(path), batch_bytes=3 * one_payload)

    batches = list(source.batches({"PriceSampled", "TradePrinted"}, after_seq=0, upto_seq=40))

    assert all(len(b) <= 4 for b in batches)
    assert [b.after_seq for b in batches[1:]] == [b.last_seq for b in batches[:-1]]
    assert sum(len(b) for b in batches) == 40


def _tampered_copy(
    journal_path: Path, tmp_path: Path, select: str, tamper: Callable[[bytes], bytes]
) -> tuple[Path, int]:
    """A copy of the journal where the payload of the row `select` (seq, payload) finds
    was changed by `tamper` after it was checksummed, and that row's seq."""
    path = tmp_path / "journal.db"
    path.write_bytes(journal_path.read_bytes())
    with sqlite3.connect(path) as con:
        seq, payload = con.execute(select).fetchone()
        con.execute("UPDATE events SET payload = ? WHERE seq = ?", (tamper(payload), seq))
    return path, seq


def _with_a_tampered_fill(journal_path: Path, tmp_path: Path) -> tuple[JournalSource, int]:
    """A copy of the journal whose first OrderFilled payload was changed after it was
    checksummed, and that row's seq."""
    path, seq = _tampered_copy(
        journal_path,
        tmp_path,
        "SELECT seq, payload FROM events WHERE type = 'OrderFilled' LIMIT 1",
        lambda payload: payload.replace(b"alice", b"alicf"),
    )
    return JournalSource(path=str(path)), seq


def test_batches_when_an_order_row_is_tampered_then_checksum_error_names_the_seq(
    journal_path: Path, tmp_path: Path
) -> None:
    source, seq = _with_a_tampered_fill(journal_path, tmp_path)

    with pytest.raises(JournalCorruptError, match=f"event seq {seq} fails its checksum"):
        list(source.batches({"OrderFilled"}, after_seq=0, upto_seq=source.head_seq()))


def test_batches_when_an_order_row_is_tampered_among_all_types_then_checksum_error(
    journal_path: Path, tmp_path: Path
) -> None:
    # All types at once: the checked rows are picked out of the batch by type code.
    source, seq = _with_a_tampered_fill(journal_path, tmp_path)

    with pytest.raises(JournalCorruptError, match=f"event seq {seq} fails its checksum"):
        list(source.batches(EVENT_TYPES, after_seq=0, upto_seq=source.head_seq()))


def test_batches_when_a_row_has_an_unknown_type_then_decode_error_names_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    append_events(path, tick_events(6))
    with sqlite3.connect(path) as con:
        con.execute("UPDATE events SET type = 'QuoteSampled' WHERE seq = 3")
    source = JournalSource(path=str(path))

    with pytest.raises(JournalDecodeError, match="unknown event type 'QuoteSampled'"):
        list(source.batches(EVENT_TYPES, after_seq=0, upto_seq=6))


def test_batches_when_market_data_tampered_then_caught_only_if_asked_to_verify_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    append_events(path, tick_events(6))
    with sqlite3.connect(path) as con:
        (payload,) = con.execute("SELECT payload FROM events WHERE seq = 4").fetchone()
        con.execute(
            "UPDATE events SET payload = ? WHERE seq = 4", (payload.replace(b"100", b"900"),)
        )
    types = {"PriceSampled", "TradePrinted"}

    strict = JournalSource(path=str(path), verify_market_data_checksums=True)
    with pytest.raises(JournalCorruptError, match="event seq 4 fails its checksum"):
        list(strict.batches(types, after_seq=0, upto_seq=6))
    default = JournalSource(path=str(path))
    assert sum(len(b) for b in default.batches(types, after_seq=0, upto_seq=6)) == 6


def test_batches_when_market_data_tampered_among_all_types_then_caught_if_verified(
    journal_path: Path, tmp_path: Path
) -> None:
    path, seq = _tampered_copy(
        journal_path,
        tmp_path,
        "SELECT seq, payload FROM events WHERE type = 'TradePrinted' ORDER BY seq DESC LIMIT 1",
        lambda payload: payload + b" ",
    )
    head = JournalSource(path=str(path)).head_seq()

    strict = JournalSource(path=str(path), verify_market_data_checksums=True)
    with pytest.raises(JournalCorruptError, match=f"event seq {seq} fails its checksum"):
        list(strict.batches(EVENT_TYPES, after_seq=0, upto_seq=head))
    default = JournalSource(path=str(path))
    assert sum(len(b) for b in default.batches(EVENT_TYPES, after_seq=0, upto_seq=head)) == head


def test_batches_when_payload_does_not_match_its_type_then_decode_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    append_events(path, tick_events(3))
    trade = TradePrinted(ts_ns=T0, symbol="AAPL", price=1.0, size=1)
    with sqlite3.connect(path) as con:
        # A row whose checksum is right but whose payload is another event type.
        payload = encode_event(trade)
        con.execute(
            "UPDATE events SET payload = ?, crc = ? WHERE seq = 1",
            (payload, event_crc(1, T0, "PriceSampled", payload)),
        )
    source = JournalSource(path=str(path))

    with pytest.raises(JournalDecodeError, match="PriceSampled"):
        list(source.batches({"PriceSampled"}, after_seq=0, upto_seq=3))


def test_batches_when_a_seq_is_missing_then_corrupt_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    append_events(path, tick_events(10))
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM events WHERE seq = 5")
    source = JournalSource(path=str(path))

    with pytest.raises(JournalCorruptError, match="missing"):
        list(source.batches(EVENT_TYPES, after_seq=0, upto_seq=10))


def test_head_seq_when_no_journal_then_zero_and_no_batches(tmp_path: Path) -> None:
    source = JournalSource(path=str(tmp_path / "absent.db"))

    assert source.head_seq() == 0
    assert list(source.batches(EVENT_TYPES, after_seq=0, upto_seq=10)) == []
    assert source.count(EVENT_TYPES, upto_seq=10) == 0


def test_decode_when_quote_then_fields_match_the_event(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    quote = PriceSampled(ts_ns=T0, symbol="ESZ6", bid=6000.25, ask=6000.5, bid_size=3, ask_size=4)
    append_events(path, [quote])
    source = JournalSource(path=str(path))

    (batch,) = source.batches({"PriceSampled"}, after_seq=0, upto_seq=1)

    row = batch.by_type["PriceSampled"].to_dict("records")[0]
    assert row == {
        "seq": 1,
        "ts_ns": T0,
        "symbol": "ESZ6",
        "bid": 6000.25,
        "ask": 6000.5,
        "bid_size": 3,
        "ask_size": 4,
    }
    assert decode_event(encode_event(quote)) == quote
