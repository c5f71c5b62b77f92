"""The journal's file format, stated once: what the writer writes and every reader checks.

A journal is a SQLite database (WAL mode) with the tables below. Each events
row carries a CRC-32 over (seq, ts_ns, type, payload) (`event_crc`), each
snapshot one over (seq, created_ns, payload) (`snapshot_crc`).

Snapshots: a payload of up to `SNAPSHOT_CHUNK_BYTES` is one `snapshots` row. A larger
one is stored in `snapshot_chunks` rows (seq, part 0..n-1, payload, crc over seq, part
and payload: `chunk_crc`), each chunk in its own small transaction between event
commits, and then its `snapshots` row is committed: the completion marker, whose
payload is a marker prefix + (parts, total bytes) (`chunked_marker`). The prefix
states how every chunk of that snapshot is stored, once: `ZLIB_CHUNKED_MARKER` (written
since 2026-12-04, afternoon): each chunk on its own is `zlib.compress(data,
SNAPSHOT_ZLIB_LEVEL)` of `SNAPSHOT_CHUNK_BYTES` of the payload (the last one shorter);
`CHUNKED_MARKER` (written the morning before, still read): each chunk is those bytes as
they are. The total is the uncompressed size in both; a chunk's crc covers the bytes as
stored. Compression cuts what a snapshot writes (WAL, then checkpoint) by about 3x, and
with it the disk write-back that event commits otherwise wait behind. A snapshot is
loaded only through its marker and only if every part verifies (and decompresses), so a
crash while the chunks are written leaves the previous complete snapshot as the newest
one; chunks without a marker are deleted on the next open. No single-row payload starts
with either prefix (a state snapshot starts with a msgpack map or b"TPS").

The writer
(`realtime.journal.writer`), the row reader (`realtime.journal.reader`) and
the batch reader (`assets.resources.journal`) all import these
definitions, so a change of format is made here or nowhere.
"""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import Any, Final, NamedTuple

from realtime.events import EVENT_CLASSES, EVENT_TYPES
from realtime.journal.errors import (
    JournalCorruptError,
    JournalError,
    JournalSchemaError,
    classify_sqlite_error,
)

__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "CHUNKED_MARKER",
    "CHUNKED_MARKERS",
    "DELETE_ORPHAN_CHUNKS",
    "DELETE_SNAPSHOT_AT",
    "DELETE_SNAPSHOT_CHUNKS_AT",
    "EVENT_CLASSES",
    "EVENT_COLUMNS",
    "EVENT_CRC_PREFIX",
    "EVENT_TYPES",
    "INSERT_EVENT",
    "INSERT_EVENTS",
    "INSERT_EVENT_BLOCK",
    "INSERT_QUARANTINE",
    "INSERT_SNAPSHOT",
    "INSERT_SNAPSHOT_CHUNK",
    "PRUNE_SNAPSHOTS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SELECT_SCHEMA_VERSION",
    "SELECT_SNAPSHOT_CHUNKS",
    "SNAPSHOT_CHUNK_BYTES",
    "SNAPSHOT_QUARANTINE_TYPE",
    "SNAPSHOT_ZLIB_LEVEL",
    "ZLIB_CHUNKED_MARKER",
    "ChunkedMarker",
    "check_schema_version",
    "check_types",
    "chunk_crc",
    "chunked_marker",
    "compress_chunk",
    "connect_read_only",
    "event_crc",
    "event_row_problem",
    "identify",
    "parse_chunked_marker",
    "read_only_uri",
    "refuse_empty",
    "snapshot_crc",
    "snapshot_ok",
    "stored_chunk_data",
    "with_event_crcs",
]

SCHEMA_VERSION: Final = 1
# SQLite's `PRAGMA application_id` (a 32-bit field of the database header): set when
# the journal is created, checked on every open, so that an existing file which is
# some other database is refused instead of being written into. b"TPJ1".
APPLICATION_ID: Final = 0x54504A31

# Readers in other processes can briefly see SQLITE_BUSY while a connection
# recovers the WAL index after a crash, and the writer can while a checkpoint
# from a reader process holds a lock; wait rather than fail on such blips.
BUSY_TIMEOUT_MS: Final = 5000

SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS events(
        seq INTEGER PRIMARY KEY,
        ts_ns INTEGER NOT NULL,
        type TEXT NOT NULL,
        payload BLOB NOT NULL,
        crc INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS snapshots(
        seq INTEGER PRIMARY KEY,
        created_ns INTEGER NOT NULL,
        payload BLOB NOT NULL,
        crc INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS quarantine(
        seq INTEGER,
        type TEXT,
        payload BLOB,
        crc INTEGER,
        reason TEXT NOT NULL,
        found_ns INTEGER NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)",
    # Added with chunked snapshots; older journals get it from the next writer that opens
    # them (CREATE ... IF NOT EXISTS), and a reader only looks here through a marker.
    """CREATE TABLE IF NOT EXISTS snapshot_chunks(
        seq INTEGER NOT NULL,
        part INTEGER NOT NULL,
        payload BLOB NOT NULL,
        crc INTEGER NOT NULL,
        PRIMARY KEY (seq, part))""",
)
EVENT_COLUMNS: Final = ("seq", "ts_ns", "type", "payload", "crc")
INSERT_EVENT: Final = "INSERT INTO events(seq, ts_ns, type, payload, crc) VALUES (?, ?, ?, ?, ?)"
# The same for INSERT_EVENT_BLOCK rows in one statement: a group commit inserts its rows
# in such blocks, one statement run per block instead of one per row (about half of
# executemany's cost per row).
INSERT_EVENT_BLOCK: Final = 32
INSERT_EVENTS: Final = INSERT_EVENT + ", (?, ?, ?, ?, ?)" * (INSERT_EVENT_BLOCK - 1)
INSERT_SNAPSHOT: Final = (
    "INSERT OR REPLACE INTO snapshots(seq, created_ns, payload, crc) VALUES (?, ?, ?, ?)"
)
PRUNE_SNAPSHOTS: Final = (
    "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)"
)
INSERT_SNAPSHOT_CHUNK: Final = (
    "INSERT OR REPLACE INTO snapshot_chunks(seq, part, payload, crc) VALUES (?, ?, ?, ?)"
)
# A chunked snapshot's first chunk clears any snapshot already stored at its seq, in the
# same transaction: its marker would otherwise keep pointing at chunks being overwritten
# one by one, and a crash in between would leave a marker over a mix of old and new
# chunks that each pass their checksum.
DELETE_SNAPSHOT_AT: Final = "DELETE FROM snapshots WHERE seq = ?"
DELETE_SNAPSHOT_CHUNKS_AT: Final = "DELETE FROM snapshot_chunks WHERE seq = ?"
SELECT_SNAPSHOT_CHUNKS: Final = (
    "SELECT part, payload, crc FROM snapshot_chunks WHERE seq = ? ORDER BY part"
)
# Chunks that no snapshots row (marker) refers to: a pruned snapshot's, or an unfinished
# one's after a crash. Deleted a few at a time, each a short transaction.
DELETE_ORPHAN_CHUNKS: Final = (
    "DELETE FROM snapshot_chunks WHERE rowid IN (SELECT rowid FROM snapshot_chunks "
    "WHERE seq NOT IN (SELECT seq FROM snapshots) LIMIT ?)"
)
# 256 KiB: storing one chunk takes well under a millisecond, so an event commit that
# waits behind it waits that long, not for the whole snapshot.
SNAPSHOT_CHUNK_BYTES: Final = 256 * 1024
CHUNKED_MARKER: Final = b"\x00TPJ-CHUNKED\x00"  # chunks stored as they are (still read)
ZLIB_CHUNKED_MARKER: Final = b"\x00TPJ-CHUNKZ1\x00"  # each chunk zlib-compressed (written)
CHUNKED_MARKERS: Final = (CHUNKED_MARKER, ZLIB_CHUNKED_MARKER)
# Level 1: about 3x smaller on a state snapshot at a few ms of CPU per chunk, spent on the
# writer thread with the GIL released (zlib lets go of it while deflating).
SNAPSHOT_ZLIB_LEVEL: Final = 1
_MARKER_COUNTS: Final = struct.Struct(">IQ")
INSERT_QUARANTINE: Final = (
    "INSERT INTO quarantine(seq, type, payload, crc, reason, found_ns) VALUES (?, ?, ?, ?, ?, ?)"
)
SNAPSHOT_QUARANTINE_TYPE: Final = "__snapshot__"
# The tables every journal has had (snapshot_chunks came later; see SCHEMA).
_TABLES: Final = frozenset({"events", "snapshots", "quarantine", "meta"})
SELECT_SCHEMA_VERSION: Final = "SELECT value FROM meta WHERE key = 'schema_version'"


# --- checksums ------------------------------------------------------------------

# What a row's checksum covers before the payload: b"seq:ts_ns:type:". Batch readers
# that verify many rows at once format it with this same template.
EVENT_CRC_PREFIX: Final = b"%d:%d:%b:"
# Type name -> its bytes in the row checksum.
_TYPE_BYTES: Final[dict[str, bytes]] = {name: name.encode() for name in EVENT_CLASSES}


def event_crc(seq: int, ts_ns: int, type_: str, payload: bytes) -> int:
    """The row checksum stored with every event."""
    return zlib.crc32(payload, zlib.crc32(EVENT_CRC_PREFIX % (seq, ts_ns, type_.encode())))


def with_event_crcs(
    rows: list[tuple[int, int, str, bytes]],
) -> list[tuple[int, int, str, bytes, int]]:
    """(seq, ts_ns, type, payload) rows with their `event_crc` appended, as stored.

    `event_crc` written out for a whole group commit: every event passes here, and the
    call per row was a fifth of the work (a test holds the two to the same value)."""
    crc32, prefix, names = zlib.crc32, EVENT_CRC_PREFIX, _TYPE_BYTES
    return [(s, t, ty, p, crc32(p, crc32(prefix % (s, t, names[ty])))) for s, t, ty, p in rows]


def snapshot_crc(seq: int, created_ns: int, payload: bytes) -> int:
    """The checksum stored with every snapshot."""
    return zlib.crc32(payload, zlib.crc32(f"snapshot:{seq}:{created_ns}:".encode()))


def chunk_crc(seq: int, part: int, payload: bytes) -> int:
    """The checksum stored with every snapshot chunk."""
    return zlib.crc32(payload, zlib.crc32(f"snapshot-chunk:{seq}:{part}:".encode()))


class ChunkedMarker(NamedTuple):
    """What a chunked snapshot's marker says: how many chunks, the uncompressed size,
    and whether every chunk is zlib-compressed."""

    parts: int
    total_bytes: int
    compressed: bool


def compress_chunk(data: bytes) -> bytes:
    """A chunk as stored under `ZLIB_CHUNKED_MARKER`."""
    return zlib.compress(data, SNAPSHOT_ZLIB_LEVEL)


def chunked_marker(parts: int, total_bytes: int, *, compressed: bool = True) -> bytes:
    """The `snapshots` payload that completes a snapshot stored in `parts` chunks."""
    prefix = ZLIB_CHUNKED_MARKER if compressed else CHUNKED_MARKER
    return prefix + _MARKER_COUNTS.pack(parts, total_bytes)


def parse_chunked_marker(payload: bytes) -> ChunkedMarker | None:
    """What `payload` says if it is a chunked snapshot's marker, else None."""
    for prefix in CHUNKED_MARKERS:
        if payload.startswith(prefix) and len(payload) == len(prefix) + _MARKER_COUNTS.size:
            parts, total = _MARKER_COUNTS.unpack_from(payload, len(prefix))
            return ChunkedMarker(int(parts), int(total), prefix is ZLIB_CHUNKED_MARKER)
    return None


def stored_chunk_data(stored: bytes, *, compressed: bool) -> bytes | None:
    """A verified chunk's payload bytes, or None if a compressed one does not inflate."""
    if not compressed:
        return stored
    try:
        return zlib.decompress(stored)
    except zlib.error:
        return None


def event_row_problem(row: tuple[Any, ...]) -> str | None:
    """Why a stored events row is not trustworthy, or None if it verifies."""
    seq, ts_ns, type_, payload, crc = row
    if type(ts_ns) is not int or type(type_) is not str or type(payload) is not bytes:
        return "column of the wrong type"
    if type(crc) is not int:
        return "checksum column of the wrong type"
    actual = event_crc(seq, ts_ns, type_, payload)
    if actual != crc:
        return f"checksum mismatch (stored {crc}, computed {actual})"
    return None


def snapshot_ok(seq: Any, created_ns: Any, payload: Any, crc: Any) -> bool:
    """Whether a stored snapshots row verifies."""
    return (
        type(created_ns) is int
        and type(payload) is bytes
        and type(crc) is int
        and snapshot_crc(seq, created_ns, payload) == crc
    )


# --- type names -----------------------------------------------------------------


def check_types(types: Collection[str] | None) -> list[str] | None:
    """`types` as a sorted list of known event type names (None stays None: all types)."""
    if types is None:
        return None
    if isinstance(types, str):
        raise TypeError("types must be a collection of type names, e.g. {'OrderFilled'}")
    type_list = sorted(set(types))
    unknown = [t for t in type_list if t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return type_list


# --- opening ----------------------------------------------------------------------


def read_only_uri(path: Path) -> str:
    """The URI `connect_read_only` opens; resolve once, so a later chdir cannot move it."""
    return f"{path.resolve().as_uri()}?mode=ro"


def connect_read_only(
    path: Path, *, uri: str | None = None, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A connection to the journal at `path` (or at `uri`, from `read_only_uri(path)`)
    that cannot write to it."""
    if uri is None:
        uri = read_only_uri(path)
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=check_same_thread
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Belt and braces on top of mode=ro: this connection must never write.
        conn.execute("PRAGMA query_only=1")
    except sqlite3.DatabaseError as exc:
        raise classify_sqlite_error(exc, path) from exc
    return conn


def check_schema_version(version: tuple[Any, ...] | None, path: Path) -> None:
    """Refuse a journal whose `meta.schema_version` row is missing or not ours."""
    if version is None or version[0] != str(SCHEMA_VERSION):
        raise JournalSchemaError(
            f"{path}: unsupported journal schema version "
            f"{None if version is None else version[0]!r} (expected {SCHEMA_VERSION})"
        )


def refuse_empty(path: Path) -> None:
    """Refuse an existing zero-byte file: SQLite would take it for a new, empty database.

    Every journal has at least one page (its creation writes the schema), so an
    empty file is a truncated journal or a failed copy, never a journal to start on.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise JournalError(f"cannot open journal {path}: {exc}") from exc
    if size == 0:
        raise JournalCorruptError(
            f"{path} is empty (0 bytes), a truncated file or a failed copy, not a journal; "
            "refusing to open it (restore it or move it aside: a new journal is created "
            "only where no file exists)"
        )


def identify(conn: sqlite3.Connection, path: Path) -> bool:
    """Refuse a database that is not a tradepipe journal; True if it is one from before
    the mark (`APPLICATION_ID`), which the writer then stamps.

    The rule for an unmarked file: it is a journal written by an older version if it
    has the journal's tables with the events columns; anything else is refused.
    """
    try:
        application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        if application_id == APPLICATION_ID:
            return False
        if application_id != 0:
            raise JournalSchemaError(
                f"{path} is a SQLite database of another application (application_id "
                f"{application_id:#010x}), not a tradepipe journal; refusing to open it"
            )
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(events)"))
    except sqlite3.DatabaseError as exc:
        raise classify_sqlite_error(exc, path) from exc
    if not _TABLES.issubset(tables) or columns != EVENT_COLUMNS:
        raise JournalSchemaError(
            f"{path} is a SQLite database but not a tradepipe journal (no journal mark, "
            f"tables {sorted(tables)}); refusing to open it (move it aside: a new journal is "
            "created only where no file exists)"
        )
    return True
