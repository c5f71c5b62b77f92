"""The realtime journal as a batch source: verified, decoded events in large batches.

`realtime.journal.JournalReader.read_raw` yields one tuple per event and is
the right tool for replay, but building a million Python tuples costs more
than the whole shipping budget. This reader asks SQLite for one batch per
query, each column concatenated into a single string (`group_concat`; the
payloads in one string per market data type and one for the rest), checks
row checksums exactly as the journal does (every order, fill and risk event;
market data on request, see MARKET_DATA_TYPES), and decodes the payloads
column-wise and strictly (`journal_payloads`).

A batch is cut by rows and by payload bytes. Reading, verifying and decoding
run as a pipeline on three worker threads, each one batch ahead of the next;
SQLite and DuckDB release the GIL while they work, so the stages overlap.
"""

from __future__ import annotations

import contextlib
import sqlite3
import zlib
from collections.abc import Collection, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pydantic

from assets.resources.journal_payloads import PayloadGroup, decode_payloads
from assets.resources.prefetch import prefetched
from assets.resources.warehouse import sql_string
from realtime.events import MARKET_DATA_TYPES
from realtime.journal import (
    Journal,
    JournalCorruptError,
    JournalDecodeError,
    JournalNotFoundError,
)
from realtime.journal.format import (
    EVENT_CRC_PREFIX,
    EVENT_TYPES,
    check_types,
    connect_read_only,
)

# Checksumming every row adds ~40% to shipping's CPU (two Python-level crc32 calls per
# row; nothing vectorises CRC-32). Market data (realtime.events.MARKET_DATA_TYPES) is
# ~95% of the journal, so by default its rows are shipped on the strength of their
# strict decode alone; every order, fill and risk event (the audit trail) is verified.
# `verify_market_data_checksums` turns it on for all.


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Verified events (after_seq, last_seq] of the requested types, decoded.

    `by_type` holds one frame per event type present in the batch, in seq
    order, with columns `seq`, `ts_ns` (the journal's event time) and one per
    payload field (nested fields flattened with dots, e.g. `request.symbol`).
    """

    after_seq: int
    last_seq: int
    rows: int
    payload_bytes: int
    by_type: dict[str, pd.DataFrame]

    def __len__(self) -> int:
        return self.rows

    def select(self, types: Collection[str], *, after_seq: int = 0) -> pd.DataFrame:
        """Events of `types` with seq > after_seq, in seq order. With more than one
        type the frame gets an `event_type` column, and a payload field an event's
        type lacks is null."""
        wanted = set(types)
        parts = []
        for name in sorted(wanted & self.by_type.keys()):
            frame = self.by_type[name]
            if after_seq > self.after_seq:
                frame = frame[frame["seq"].to_numpy() > after_seq]
            if len(frame):
                parts.append(frame if len(wanted) == 1 else frame.assign(event_type=name))
        if not parts:
            return pd.DataFrame({"seq": np.empty(0, np.int64), "ts_ns": np.empty(0, np.int64)})
        if len(parts) == 1:
            return parts[0]
        merged = pd.concat(parts, ignore_index=True)
        return merged.sort_values("seq", kind="stable", ignore_index=True)


@dataclass(frozen=True, slots=True)
class _Blob:
    """The payloads of one group of a batch's rows, joined by newlines as SQLite did."""

    code: int | None  # the group's one type code; None: the other types, mixed
    rows: np.ndarray | None  # the batch rows it holds, in seq order; None: every row
    offsets: np.ndarray  # payload i (and its newline) is blob[offsets[i]:offsets[i + 1]]
    blob: bytes

    def payloads(self) -> pa.Array:
        # Zero-copy: Arrow reads the strings straight out of SQLite's blob; each but
        # the last keeps its trailing newline.
        return pa.LargeStringArray.from_buffers(
            len(self.offsets) - 1, pa.py_buffer(self.offsets), pa.py_buffer(self.blob)
        )


@dataclass(frozen=True, slots=True)
class _Fetched:
    """One query's result: the columns as SQLite concatenated them."""

    after_seq: int
    keep: int  # rows within the byte limit
    seq: np.ndarray
    blobs: tuple[_Blob, ...]  # every kept row's payload is in exactly one
    payload_bytes: int
    ts_text: bytes  # decimal, comma-separated
    crc_text: bytes | None  # None: no row of the batch's types is checked
    type_codes: bytes | None  # one character per row, code + '0'; None: a single type


@dataclass(frozen=True, slots=True)
class _RawBatch:
    after_seq: int
    seq: np.ndarray
    ts_ns: np.ndarray
    type_codes: np.ndarray
    payloads: list[PayloadGroup]
    payload_bytes: int


class JournalSource(dg.ConfigurableResource):
    """Read-only access to the realtime service's journal file at `path`."""

    path: str = pydantic.Field(description="the journal's SQLite file")
    batch_rows: int = pydantic.Field(default=250_000, ge=1, description="events per batch")
    batch_bytes: int = pydantic.Field(
        default=64 * 1024 * 1024, ge=1, description="payload bytes per batch (at least one event)"
    )
    verify_market_data_checksums: bool = pydantic.Field(
        default=False,
        description=(
            "also verify the row checksums of PriceSampled/TradePrinted events; order, fill "
            "and risk events are always verified"
        ),
    )

    def exists(self) -> bool:
        return Path(self.path).is_file()

    def head_seq(self) -> int:
        """The last committed seq; 0 while the service has not written a journal yet."""
        try:
            return Journal.open_reader(self.path).last_seq
        except JournalNotFoundError:
            return 0

    def count(self, types: Collection[str], *, after_seq: int = 0, upto_seq: int) -> int:
        """How many events of `types` have after_seq < seq <= upto_seq."""
        type_list = _check_types(types)
        if not self.exists():
            return 0
        with contextlib.closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE seq > ? AND seq <= ? "
                f"AND type IN ({', '.join('?' * len(type_list))})",
                (after_seq, upto_seq, *type_list),
            ).fetchone()
        return int(row[0])

    def batches(
        self, types: Collection[str], *, after_seq: int, upto_seq: int
    ) -> Iterator[EventBatch]:
        """Verified, decoded batches of `types` events with after_seq < seq <= upto_seq.

        Raises `JournalCorruptError` at the first row that fails its checksum, or
        if a seq is missing from a batch read without a type filter (all types);
        `JournalDecodeError` if a payload does not match its event type.
        """
        type_list = _check_types(types)
        if after_seq >= upto_seq or not self.exists():
            return iter(())
        Journal.open_reader(self.path)  # refuses a file that is not a journal
        fetched = prefetched(self._fetch(type_list, after_seq, upto_seq))
        verified = prefetched(self._verify(type_list, fetched))
        return prefetched(self._decode(type_list, verified))

    # -- stage 1: one query per batch --------------------------------------------------

    def _fetch(
        self, types: list[str], after_seq: int, upto_seq: int
    ) -> Generator[_Fetched, None, None]:
        # Every type wanted (all tables shipped at once): no need to test each row.
        type_filter = (
            "" if set(types) == EVENT_TYPES else f"AND type IN ({', '.join('?' * len(types))})"
        )
        params = () if not type_filter else tuple(types)
        # Without a type filter the seqs are after_seq+1, after_seq+2, ... (the
        # journal's seqs are contiguous; checked below): no need to concatenate them.
        seq_column = "group_concat(seq, ',')" if type_filter else "max(seq)"
        # Type codes come from SQL as one character per row (code + '0', unknown '!'),
        # no separator: numpy reads them straight from the bytes, without a Python
        # lookup per row. With one type every row's type is known; skip them.
        type_column = "group_concat(c, '')" if len(types) > 1 else "NULL"
        # Checksums only where a type is checked. (An unverified row is still
        # concatenated: blanking it with a CASE costs SQLite more than the digits.)
        crc_column = "group_concat(crc, ',')" if self._checked(types) else "NULL"
        # Payloads are joined by newlines: JSON as msgspec writes it never holds a
        # raw newline, so the joined blob splits back into exact payloads, and a
        # trailing newline is whitespace to a JSON parser. Each market data type gets
        # a blob of its own (`_split_codes`), the other types share one: the decoder
        # reads a one-type blob as it is, where picking ~95 % of the rows out of a
        # mixed one cost a filtered scan per type (and SQLite builds the smaller
        # strings no slower: 0.51 s of CPU per 1M rows against 0.58 for one blob).
        split = _split_codes(types)
        code = _code_case(types) if len(types) > 1 else "NULL"
        chars = [f"'{chr(_CODE_BASE + c)}'" for c in split]
        blob_columns = [f"group_concat(payload, char(10)) FILTER (WHERE c = {ch})" for ch in chars]
        rest = f" FILTER (WHERE c NOT IN ({', '.join(chars)}))" if chars else ""
        blob_columns.append(f"group_concat(payload, char(10)){rest}")
        sql = (
            f"SELECT count(*), {seq_column}, group_concat(ts_ns, ','), "
            f"{crc_column}, {type_column}, {', '.join(blob_columns)} "
            f"FROM (SELECT seq, ts_ns, {code} AS c, payload, crc FROM events "
            f"WHERE seq > ? AND seq <= ? {type_filter} ORDER BY seq LIMIT ?)"
        )
        with contextlib.closing(self._connect()) as conn:
            # group_concat's TEXT as bytes, as SQLite holds it: a CAST AS BLOB in the
            # query copied every column again (0.07 s of CPU per 1M payloads), and a
            # str would be decoded from UTF-8 only for numpy and Arrow to want bytes.
            conn.text_factory = bytes
            position = after_seq
            while position < upto_seq:
                row = conn.execute(sql, (position, upto_seq, *params, self.batch_rows)).fetchone()
                if not row[0]:
                    return
                fetched = self._cut(position, split, row)
                yield fetched
                position = int(fetched.seq[-1])

    def _cut(self, after_seq: int, split: list[int], row: tuple[object, ...]) -> _Fetched:
        """The rows of one query, cut to the byte limit: every event that starts
        below the limit (so at least one)."""
        count, seq_column, ts_text, crc_text, type_codes, *columns = row
        blobs = [blob for blob in columns if blob is None or isinstance(blob, bytes)]
        assert len(blobs) == len(columns)
        assert isinstance(count, int) and isinstance(ts_text, bytes)
        assert crc_text is None or isinstance(crc_text, bytes)
        assert type_codes is None or isinstance(type_codes, bytes)
        if isinstance(seq_column, bytes):
            seq = np.fromstring(seq_column, dtype=np.int64, sep=",")
        else:
            # Unfiltered: count rows ending at max(seq) are contiguous only if they
            # start right after after_seq.
            if seq_column != after_seq + count:
                raise JournalCorruptError(
                    f"{self.path}: events missing between seq {after_seq + 1} and {seq_column}",
                    seq=after_seq + 1,
                )
            seq = np.arange(after_seq + 1, after_seq + count + 1, dtype=np.int64)
        # Which rows each blob holds: those of each split code, then the rest (an
        # unknown type among them, refused when the codes are checked).
        members: list[np.ndarray | None] = [None]
        group_codes: list[int | None] = [None if type_codes is not None else 0]
        if split:
            assert type_codes is not None  # split only with more than one type
            codes = np.frombuffer(type_codes, dtype=np.uint8, count=count).astype(np.int16)
            codes -= _CODE_BASE
            members = [np.flatnonzero(codes == code) for code in split]
            members.append(np.flatnonzero(~np.isin(codes, split)))
            group_codes = [*split, None]
        # Payload boundaries from the newlines between them (cheaper than asking
        # SQLite for every length). One more newline than separators means a
        # payload holds a raw newline, which msgspec never writes.
        lengths = np.empty(count, dtype=np.int64)
        bounds: list[tuple[np.ndarray, np.ndarray]] = []
        for rows, blob in zip(members, blobs, strict=True):
            size = count if rows is None else len(rows)
            if not size:
                bounds.append((np.empty(0, np.int64), np.empty(0, np.int64)))
                continue
            assert blob is not None  # a group with rows has their payloads
            newlines = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == ord("\n"))
            if len(newlines) != size - 1:
                raise JournalDecodeError(
                    f"{self.path}: a payload after seq {after_seq} holds a raw newline, "
                    "which no journal payload can"
                )
            starts = np.zeros(size, dtype=np.int64)
            starts[1:] = newlines + 1
            ends = np.append(newlines, len(blob))
            lengths[slice(None) if rows is None else rows] = ends - starts
            bounds.append((starts, ends))
        # Where each payload would start in all of them joined in seq order (one blob,
        # as before they were split by type): what the byte limit measures.
        offsets = np.zeros(count, dtype=np.int64)
        np.cumsum(lengths[:-1] + 1, out=offsets[1:])
        keep = max(1, int(np.searchsorted(offsets, self.batch_bytes, side="left")))
        # group_concat follows the subquery's ORDER BY in practice, not by contract.
        # Check it where the seqs were fetched; where they were derived (no filter),
        # a reordering would surface as checksum and payload type mismatches.
        if seq[0] <= after_seq or not bool(np.all(seq[1:] > seq[:-1])):
            raise JournalCorruptError(f"{self.path}: events came back out of seq order")
        kept: list[_Blob] = []
        for rows, blob, (starts, ends), group_code in zip(
            members, blobs, bounds, group_codes, strict=True
        ):
            n = keep if rows is None else int(np.searchsorted(rows, keep))
            if not n or blob is None:
                continue
            end = int(ends[n - 1])
            kept.append(
                _Blob(
                    code=group_code,
                    rows=None if rows is None else rows[:n],
                    offsets=np.append(starts[:n], end),
                    blob=blob[:end] if end < len(blob) else blob,
                )
            )
        return _Fetched(
            after_seq=after_seq,
            keep=keep,
            seq=seq[:keep],
            blobs=tuple(kept),
            payload_bytes=int(lengths[:keep].sum()),
            ts_text=ts_text,
            crc_text=crc_text,
            type_codes=type_codes,
        )

    # -- stage 2: checksums ------------------------------------------------------------

    def _verify(
        self, types: list[str], fetched: Generator[_Fetched, None, None]
    ) -> Generator[_RawBatch, None, None]:
        try:
            for batch in fetched:
                yield self._verified(types, batch)
        finally:
            fetched.close()  # stops the fetching thread if we were abandoned

    def _verified(self, types: list[str], f: _Fetched) -> _RawBatch:
        keep = f.keep
        ts_ns = np.fromstring(f.ts_text, dtype=np.int64, sep=",")[:keep]
        if f.type_codes is None:
            codes = np.zeros(keep, dtype=np.int8)
        else:
            codes = np.frombuffer(f.type_codes, dtype=np.uint8, count=keep).astype(np.int8)
            codes -= _CODE_BASE
            if (codes < 0).any():
                raise JournalDecodeError(
                    f"{self.path}: unknown event type "
                    f"{self._stored_type(int(f.seq[int(np.argmax(codes < 0))]))!r}"
                )
        verified = set(self._checked(types))
        checked = [code for code, name in enumerate(types) if name in verified]
        if checked:
            self._check_crc(f, ts_ns, types, codes, None if len(checked) == len(types) else checked)
        return _RawBatch(
            after_seq=f.after_seq,
            seq=f.seq,
            ts_ns=ts_ns,
            type_codes=codes,
            payloads=[PayloadGroup(b.rows, b.payloads(), b.code) for b in f.blobs],
            payload_bytes=f.payload_bytes,
        )

    def _check_crc(
        self,
        f: _Fetched,
        ts_ns: np.ndarray,
        types: list[str],
        codes: np.ndarray,
        checked: list[int] | None,
    ) -> None:
        """The journal's row checksum (`realtime.journal.format.event_crc`) of every row
        whose type code is in `checked` (None: every row): crc32 over EVENT_CRC_PREFIX
        and then the payload."""
        assert f.crc_text is not None  # fetched wherever a type is checked
        stored = np.fromstring(f.crc_text, dtype=np.int64, sep=",")[: f.keep]
        names = [name.encode() for name in types]
        bad: list[np.ndarray] = []
        for blob in f.blobs:
            rows = np.arange(f.keep) if blob.rows is None else blob.rows
            every = checked is None or (blob.code is not None and blob.code in checked)
            if every:
                picked = np.arange(len(rows))
                payloads: list[bytes] | map[memoryview] = blob.blob.split(b"\n")  # exact
            else:
                assert checked is not None  # None checks every row: the branch above
                if blob.code is not None:
                    continue  # a type that is not checked
                picked = np.flatnonzero(np.isin(codes[rows], checked))
                if not picked.size:
                    continue
                view = memoryview(blob.blob)
                starts = blob.offsets[picked]
                # Each payload but the blob's last is followed by its newline separator.
                last = len(rows) - 1
                ends = np.where(
                    picked < last, blob.offsets[picked + 1] - 1, blob.offsets[picked + 1]
                )
                payloads = map(view.__getitem__, map(slice, starts.tolist(), ends.tolist()))
            at = rows[picked]
            # Chained maps keep the per-row work in C. A known code names exactly the
            # stored type string (the SQL CASE matched it).
            prefixes = map(
                EVENT_CRC_PREFIX.__mod__,
                zip(
                    f.seq[at].tolist(),
                    ts_ns[at].tolist(),
                    map(names.__getitem__, codes[at].tolist()),
                    strict=True,
                ),
            )
            crc32 = zlib.crc32
            computed = np.fromiter(
                map(crc32, payloads, map(crc32, prefixes)), dtype=np.int64, count=len(at)
            )
            bad.append(at[computed != stored[at]])
        wrong = np.sort(np.concatenate(bad)) if bad else np.empty(0, np.int64)
        if wrong.size:
            first = int(f.seq[wrong[0]])
            raise JournalCorruptError(
                f"{self.path}: event seq {first} fails its checksum ({wrong.size} bad in batch)",
                seq=first,
            )

    # -- stage 3: decode ----------------------------------------------------------------

    def _decode(
        self, types: list[str], raw: Generator[_RawBatch, None, None]
    ) -> Generator[EventBatch, None, None]:
        # One thread: this stage runs beside the reading one and the writer, and more
        # DuckDB threads on two cores would only contend with them.
        con = duckdb.connect(config={"threads": 1})
        try:
            for batch in raw:
                yield EventBatch(
                    after_seq=batch.after_seq,
                    last_seq=int(batch.seq[-1]),
                    rows=len(batch.seq),
                    payload_bytes=batch.payload_bytes,
                    by_type=decode_payloads(
                        con, batch.seq, batch.ts_ns, batch.type_codes, types, batch.payloads
                    ),
                )
        finally:
            raw.close()  # stops the upstream threads if we were abandoned
            con.close()

    def _checked(self, types: Collection[str]) -> list[str]:
        """The types among `types` whose row checksums are verified."""
        return [
            name
            for name in types
            if self.verify_market_data_checksums or name not in MARKET_DATA_TYPES
        ]

    def _stored_type(self, seq: int) -> str:
        with contextlib.closing(self._connect()) as conn:
            row = conn.execute("SELECT type FROM events WHERE seq = ?", (seq,)).fetchone()
        return str(row[0]) if row else "?"

    def _connect(self) -> sqlite3.Connection:
        # The pipeline's stages run on worker threads: the connection moves with them.
        return connect_read_only(Path(self.path), check_same_thread=False)


# A type's code travels from SQL as the character chr(_CODE_BASE + code); an unknown
# type as one below _CODE_BASE. 19 types today: the digits and capitals leave room.
_CODE_BASE: Final = ord("0")


def _split_codes(types: list[str]) -> list[int]:
    """The codes whose rows the reader fetches in a blob of their own: the market data
    types, when more than one type is read (one type is one blob anyway)."""
    if len(types) < 2:
        return []
    return [code for code, name in enumerate(types) if name in MARKET_DATA_TYPES]


def _code_case(types: list[str]) -> str:
    # One byte per row is what the reader assumes: past 127 the code would not be ASCII.
    if _CODE_BASE + len(types) > 127:
        raise ValueError(f"{len(types)} event types: more than one-byte type codes hold")
    # SQLite tries the WHENs in order: market data (~95 % of a journal's rows) first
    # matches most rows at the first or second comparison, where sorted names put it
    # past a dozen others (0.2 s of CPU per 1M rows against 0.1).
    order = sorted(range(len(types)), key=lambda code: types[code] not in MARKET_DATA_TYPES)
    whens = " ".join(
        f"WHEN {sql_string(types[code])} THEN '{chr(_CODE_BASE + code)}'" for code in order
    )
    return f"CASE type {whens} ELSE '!' END"


def _check_types(types: Collection[str]) -> list[str]:
    type_list = check_types(types)
    if not type_list:
        raise ValueError("no event types given")
    return type_list
