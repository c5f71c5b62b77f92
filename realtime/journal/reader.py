"""Reading a journal: verified rows, decoded events and snapshots, from any thread or process."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Final

import msgspec

from realtime.events import AnyEvent, decode_event
from realtime.journal.errors import (
    JournalCorruptError,
    JournalDecodeError,
    JournalNotFoundError,
    JournalSchemaError,
    classify_sqlite_error,
)
from realtime.journal.format import (
    SELECT_SCHEMA_VERSION,
    SELECT_SNAPSHOT_CHUNKS,
    ChunkedMarker,
    check_schema_version,
    check_types,
    chunk_crc,
    connect_read_only,
    event_row_problem,
    identify,
    parse_chunked_marker,
    read_only_uri,
    refuse_empty,
    snapshot_ok,
    stored_chunk_data,
)

# Rows per fetch when reading: large enough to amortise the per-query cost,
# small enough that no read holds a snapshot open for long.
READ_CHUNK: Final = 4096


class JournalReader:
    """Read-only access to a journal file; never writes to it.

    Safe to use from any thread or process while a `Journal` writes the same
    file: every `read`/`read_raw`/`latest_snapshot` call opens its own
    read-only connection and pages through the table by seq, so no read holds
    a snapshot open for longer than one chunk and no call shares state.
    """

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        if not self._path.is_file():
            raise JournalNotFoundError(f"no journal at {self._path}")
        refuse_empty(self._path)
        self._uri = read_only_uri(self._path)
        with contextlib.closing(self._connect()) as conn:
            # An unmarked journal of an older version is read as it is: a reader never
            # writes, the next writer to open it stamps it.
            identify(conn, self._path)
            try:
                version = conn.execute(SELECT_SCHEMA_VERSION).fetchone()
            except sqlite3.DatabaseError as exc:
                if "no such table" in str(exc):
                    raise JournalSchemaError(f"{self._path} is not a journal") from exc
                raise classify_sqlite_error(exc, self._path) from exc
        check_schema_version(version, self._path)

    @property
    def path(self) -> Path:
        return self._path

    def _connect(self) -> sqlite3.Connection:
        return connect_read_only(self._path, uri=self._uri)

    @property
    def last_seq(self) -> int:
        """Highest committed seq (0 for an empty journal)."""
        with contextlib.closing(self._connect()) as conn:
            try:
                row = conn.execute("SELECT max(seq) FROM events").fetchone()
            except sqlite3.DatabaseError as exc:
                raise classify_sqlite_error(exc, self._path) from exc
        return int(row[0] or 0)

    def read_raw(
        self,
        after_seq: int = 0,
        *,
        limit: int | None = None,
        types: Collection[str] | None = None,
    ) -> Iterator[tuple[int, int, str, bytes]]:
        """Yield verified (seq, ts_ns, type, payload) rows with seq > after_seq, in order.

        Without `types`, a gap in the sequence raises `JournalCorruptError`.
        """
        if after_seq < 0:
            raise ValueError("after_seq must be >= 0")
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0 or None")
        type_list = check_types(types)
        return self._iter_raw(after_seq, limit, type_list)

    def read(
        self,
        after_seq: int = 0,
        *,
        limit: int | None = None,
        types: Collection[str] | None = None,
    ) -> Iterator[tuple[int, int, AnyEvent]]:
        """Yield verified, decoded (seq, ts_ns, event) with seq > after_seq, in seq order."""
        raw = self.read_raw(after_seq, limit=limit, types=types)
        return self._decode(raw)

    def _decode(
        self, raw: Iterator[tuple[int, int, str, bytes]]
    ) -> Iterator[tuple[int, int, AnyEvent]]:
        for seq, ts_ns, type_, payload in raw:
            try:
                event = decode_event(payload)
            except msgspec.DecodeError as exc:
                raise JournalDecodeError(
                    f"{self._path}: event seq {seq} ({type_}) passes its checksum but "
                    f"does not decode: {exc}"
                ) from exc
            if type(event).__name__ != type_:
                raise JournalCorruptError(
                    f"{self._path}: event seq {seq} is stored as {type_} but decodes as "
                    f"{type(event).__name__}",
                    seq=seq,
                )
            yield seq, ts_ns, event

    def _iter_raw(
        self, after_seq: int, limit: int | None, types: list[str] | None
    ) -> Iterator[tuple[int, int, str, bytes]]:
        if limit == 0 or (types is not None and not types):
            return
        sql = "SELECT seq, ts_ns, type, payload, crc FROM events WHERE seq > ?"
        if types is not None:
            sql += f" AND type IN ({', '.join('?' * len(types))})"
        sql += " ORDER BY seq LIMIT ?"
        extra = tuple(types or ())
        expected = after_seq + 1 if types is None else None
        remaining = limit
        position = after_seq
        conn = self._connect()
        try:
            while True:
                n = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                try:
                    rows = conn.execute(sql, (position, *extra, n)).fetchall()
                except sqlite3.DatabaseError as exc:
                    raise classify_sqlite_error(exc, self._path) from exc
                for row in rows:
                    seq, ts_ns, type_, payload, _crc = row
                    # The row rule recovery applies too (format.event_row_problem).
                    problem = event_row_problem(row)
                    if problem is not None:
                        raise JournalCorruptError(
                            f"{self._path}: event seq {seq} fails its checksum ({problem})",
                            seq=seq,
                        )
                    if expected is not None:
                        if seq != expected:
                            raise JournalCorruptError(
                                f"{self._path}: events {expected}..{seq - 1} are missing",
                                seq=expected,
                            )
                        expected = seq + 1
                    yield seq, ts_ns, type_, payload
                if len(rows) < n:
                    return
                position = rows[-1][0]
                if remaining is not None:
                    remaining -= n
                    if remaining == 0:
                        return
        finally:
            conn.close()

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        """The newest complete snapshot that verifies, as (seq, payload); None if none.

        A corrupt snapshot, or a chunked one with a part missing or failing its
        checksum, is skipped in favour of the previous one, never returned. One read
        transaction, so a writer pruning old chunks meanwhile cannot tear the result.
        """
        with contextlib.closing(self._connect()) as conn:
            try:
                conn.execute("BEGIN")
                try:
                    rows = conn.execute(
                        "SELECT seq, created_ns, payload, crc FROM snapshots ORDER BY seq DESC"
                    ).fetchall()
                    for seq, created_ns, payload, crc in rows:
                        if not snapshot_ok(seq, created_ns, payload, crc):
                            continue
                        marker = parse_chunked_marker(payload)
                        if marker is None:
                            return int(seq), bytes(payload)
                        joined = _chunked_payload(conn, int(seq), marker)
                        if joined is not None:
                            return int(seq), joined
                finally:
                    conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise classify_sqlite_error(exc, self._path) from exc
        return None


def _chunked_payload(conn: sqlite3.Connection, seq: int, marker: ChunkedMarker) -> bytes | None:
    """The payload a marker announces, or None if a part is missing, fails its checksum
    or (compressed) does not inflate."""
    pieces: list[bytes] = []
    for expected, (part, stored, crc) in enumerate(conn.execute(SELECT_SNAPSHOT_CHUNKS, (seq,))):
        if part != expected or type(stored) is not bytes or chunk_crc(seq, part, stored) != crc:
            return None
        data = stored_chunk_data(stored, compressed=marker.compressed)
        if data is None:
            return None
        pieces.append(data)
    if len(pieces) != marker.parts:
        return None
    joined = b"".join(pieces)
    return joined if len(joined) == marker.total_bytes else None
