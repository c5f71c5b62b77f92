"""Durable, append-only event journal on SQLite (WAL mode) with group commit.

Every state change of the trading core is appended here before the response is
sent; start-up replays it (from the latest snapshot) to rebuild state.

Ordering and acknowledgement
----------------------------
`Journal.append` runs on the event-loop thread. It assigns the next sequence
number (global, starting at 1, contiguous), encodes the event and hands the row
to one dedicated writer thread, which owns the write connection. The writer
takes everything buffered, writes it with one `executemany` in one transaction
and commits; appends that arrive while a commit is in progress share the next
commit (group commit). The future returned by `append` resolves to the seq only
after the transaction holding the row has committed: an event is *acknowledged*
when its future has resolved. An event whose future has not resolved may or may
not survive a crash, but never partially: a transaction is all or nothing.

Durability: which failures an acknowledged event survives
---------------------------------------------------------
`Durability.PROCESS` (default; WAL + `synchronous=NORMAL`)
    A commit is a `write(2)` of the transaction's WAL frames into the operating
    system's page cache, with no fsync. Survives: an exception or crash of the
    Python process, SIGKILL, the OOM killer, a container/process restart on a
    host that keeps running. Does NOT survive: a kernel panic, power loss, a
    VM/host crash or hard reset. After such a failure the database is still
    consistent (SQLite's WAL checksums reject torn frames) but the most recent
    acknowledged transactions, those since the last checkpoint (the WAL is
    fsynced before every checkpoint), may be missing.
`Durability.FSYNC` (WAL + `synchronous=FULL`)
    Every group commit fsyncs the WAL before the futures resolve. Survives
    everything PROCESS does plus an OS crash and power loss, provided the
    storage honours fsync (no volatile write cache that lies about flushing).
    Costs one fsync per group commit; concurrent appenders share it.

Neither setting survives: loss or failure of the disk, deleting the files,
copying the database file without its `-wal` file (committed events may live
only in the WAL until a checkpoint: copy both, or use SQLite's backup API),
or a network filesystem without working POSIX locks and shared memory.

Integrity
---------
Each row carries a CRC-32 over (seq, ts_ns, type, payload), so a row that was
altered, moved to another seq or bit-rotted is detected. `Journal.open`
verifies the last `tail_check_rows` rows: a bad *suffix* (a torn or damaged
tail) is moved to the `quarantine` table and the journal resumes after the
last good event, reported in `Journal.recovery`; a bad row followed by good
ones, or a gap in the sequence, raises `JournalCorruptError`. `read` and
`read_raw` verify every row they return. Nothing is ever read past a bad row,
and a damaged file is never silently replaced by an empty journal.

A journal file has one writer at a time (an exclusive lock on `<path>.lock`);
any number of `JournalReader`s, in this or other processes, may read it while
it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Final, Self, get_args

import msgspec

from realtime.events import AnyEvent, Event, decode_event, encode_event, event_type

__all__ = [
    "EVENT_TYPES",
    "Durability",
    "Journal",
    "JournalClosedError",
    "JournalCorruptError",
    "JournalDecodeError",
    "JournalError",
    "JournalLockedError",
    "JournalNotFoundError",
    "JournalReader",
    "JournalSchemaError",
    "JournalSettings",
    "JournalUsageError",
    "JournalWriteError",
    "RecoveryReport",
]

SCHEMA_VERSION: Final = 1
DEFAULT_TAIL_CHECK_ROWS: Final = 10_000
DEFAULT_SNAPSHOTS_KEPT: Final = 3

# Journal rows are small (~100-300 bytes), so 1000 pages (~4 MB of WAL) hold
# thousands of events; a checkpoint this size costs a few ms once in a while
# instead of letting the WAL (which every reader must index) grow unbounded.
_WAL_AUTOCHECKPOINT_PAGES: Final = 1000
# The WAL file is reused, not shrunk, after a checkpoint; after a burst (e.g. a
# bulk import) truncate it back so one burst does not pin disk space forever.
_JOURNAL_SIZE_LIMIT_BYTES: Final = 64 * 1024 * 1024
# Readers in other processes can briefly see SQLITE_BUSY while a connection
# recovers the WAL index after a crash, and the writer can while a checkpoint
# from a reader process holds a lock; wait rather than fail on such blips.
_BUSY_TIMEOUT_MS: Final = 5000
# Rows per fetch when reading: large enough to amortise the per-query cost,
# small enough that no read holds a snapshot open for long.
_READ_CHUNK: Final = 4096
# Once the writer thread runs, WAL checkpoints move to their own thread and
# connection (PASSIVE, so they never block a commit): run inline, a checkpoint
# and its fsyncs stalled whichever commit crossed the autocheckpoint threshold,
# which showed as multi-millisecond P99.9 spikes in every submit benchmark.
_CHECKPOINT_INTERVAL_S: Final = 0.1
_SYNC_BATCH: Final = 100_000

_EVENT_CLASSES: Final[frozenset[type[Any]]] = frozenset(get_args(AnyEvent))
EVENT_TYPES: Final[frozenset[str]] = frozenset(cls.__name__ for cls in _EVENT_CLASSES)

_SCHEMA: Final = (
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
)
_EVENT_COLUMNS: Final = ("seq", "ts_ns", "type", "payload", "crc")
_INSERT_EVENT: Final = "INSERT INTO events(seq, ts_ns, type, payload, crc) VALUES (?, ?, ?, ?, ?)"
_INSERT_SNAPSHOT: Final = (
    "INSERT OR REPLACE INTO snapshots(seq, created_ns, payload, crc) VALUES (?, ?, ?, ?)"
)
_PRUNE_SNAPSHOTS: Final = (
    "DELETE FROM snapshots WHERE seq NOT IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)"
)
_INSERT_QUARANTINE: Final = (
    "INSERT INTO quarantine(seq, type, payload, crc, reason, found_ns) VALUES (?, ?, ?, ?, ?, ?)"
)
_SNAPSHOT_QUARANTINE_TYPE: Final = "__snapshot__"

_SYNCHRONOUS_NAMES: Final = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


# --- errors -------------------------------------------------------------------


class JournalError(Exception):
    """Base of all journal errors; `code` is stable and safe to show to clients."""

    code: ClassVar[str] = "JOURNAL_ERROR"


class JournalCorruptError(JournalError):
    """The file is not a journal database, or a row fails verification."""

    code: ClassVar[str] = "JOURNAL_CORRUPT"

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class JournalWriteError(JournalError):
    """A commit failed; the journal refuses further writes until reopened."""

    code: ClassVar[str] = "JOURNAL_WRITE_FAILED"


class JournalClosedError(JournalError):
    code: ClassVar[str] = "JOURNAL_CLOSED"


class JournalLockedError(JournalError):
    """Another `Journal` (in this or another process) has the file open for writing."""

    code: ClassVar[str] = "JOURNAL_LOCKED"


class JournalNotFoundError(JournalError):
    code: ClassVar[str] = "JOURNAL_NOT_FOUND"


class JournalSchemaError(JournalError):
    """A SQLite database that is not a journal, or one of an unsupported version."""

    code: ClassVar[str] = "JOURNAL_SCHEMA"


class JournalDecodeError(JournalError):
    """A row passes its checksum but does not decode as a known event type."""

    code: ClassVar[str] = "JOURNAL_UNDECODABLE"


class JournalUsageError(JournalError):
    """The journal was used against its threading or lifecycle rules."""

    code: ClassVar[str] = "JOURNAL_MISUSE"


# --- value types ----------------------------------------------------------------


class Durability(StrEnum):
    """What an acknowledged append survives; see the module docstring."""

    PROCESS = "PROCESS"
    FSYNC = "FSYNC"


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """Outcome of the tail verification run by `Journal.open`."""

    last_seq: int
    quarantined: int
    detail: str
    checked: int = 0


@dataclass(frozen=True, slots=True)
class JournalSettings:
    """Settings of the write connection as read back from SQLite after opening."""

    durability: Durability
    journal_mode: str
    synchronous: str
    wal_autocheckpoint: int
    journal_size_limit: int
    busy_timeout_ms: int


# --- checksums ------------------------------------------------------------------


# What a row's checksum covers before the payload: b"seq:ts_ns:type:". Batch readers
# that verify many rows at once format it with this same template.
EVENT_CRC_PREFIX: Final = b"%d:%d:%b:"


def event_crc(seq: int, ts_ns: int, type_: str, payload: bytes) -> int:
    """The row checksum stored with every event."""
    return zlib.crc32(payload, zlib.crc32(EVENT_CRC_PREFIX % (seq, ts_ns, type_.encode())))


def _snapshot_crc(seq: int, created_ns: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(f"snapshot:{seq}:{created_ns}:".encode()))


def _event_row_problem(row: tuple[Any, ...]) -> str | None:
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


def _snapshot_ok(seq: Any, created_ns: Any, payload: Any, crc: Any) -> bool:
    return (
        type(created_ns) is int
        and type(payload) is bytes
        and type(crc) is int
        and _snapshot_crc(seq, created_ns, payload) == crc
    )


def _classify_sqlite_error(exc: sqlite3.Error, path: Path) -> JournalError:
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return JournalCorruptError(
            f"{path} is not a readable journal database ({name}: {exc}); "
            "refusing to open it (restore it or move it aside)"
        )
    return JournalError(f"cannot open journal {path}: {exc}")


# --- reading --------------------------------------------------------------------


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
        self._uri = f"{self._path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(self._connect()) as conn:
            try:
                version = conn.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'"
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                if "no such table" in str(exc):
                    raise JournalSchemaError(f"{self._path} is not a journal") from exc
                raise _classify_sqlite_error(exc, self._path) from exc
        if version is None or version[0] != str(SCHEMA_VERSION):
            raise JournalSchemaError(
                f"{self._path}: unsupported journal schema version "
                f"{None if version is None else version[0]!r} (expected {SCHEMA_VERSION})"
            )

    @property
    def path(self) -> Path:
        return self._path

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self._uri, uri=True, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            # Belt and braces on top of mode=ro: this connection must never write.
            conn.execute("PRAGMA query_only=1")
        except sqlite3.DatabaseError as exc:
            raise _classify_sqlite_error(exc, self._path) from exc
        return conn

    @property
    def last_seq(self) -> int:
        """Highest committed seq (0 for an empty journal)."""
        with contextlib.closing(self._connect()) as conn:
            try:
                row = conn.execute("SELECT max(seq) FROM events").fetchone()
            except sqlite3.DatabaseError as exc:
                raise _classify_sqlite_error(exc, self._path) from exc
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
        type_list = _check_types(types)
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
                n = _READ_CHUNK if remaining is None else min(_READ_CHUNK, remaining)
                try:
                    rows = conn.execute(sql, (position, *extra, n)).fetchall()
                except sqlite3.DatabaseError as exc:
                    raise _classify_sqlite_error(exc, self._path) from exc
                for seq, ts_ns, type_, payload, crc in rows:
                    try:
                        good = event_crc(seq, ts_ns, type_, payload) == crc
                    except TypeError:
                        good = False
                    if not good:
                        raise JournalCorruptError(
                            f"{self._path}: event seq {seq} fails its checksum", seq=seq
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
        """The newest snapshot whose checksum verifies, as (seq, payload); None if none.

        A corrupt snapshot is skipped in favour of the previous one, never returned.
        """
        with contextlib.closing(self._connect()) as conn:
            try:
                rows = conn.execute(
                    "SELECT seq, created_ns, payload, crc FROM snapshots ORDER BY seq DESC"
                ).fetchall()
            except sqlite3.DatabaseError as exc:
                raise _classify_sqlite_error(exc, self._path) from exc
        for seq, created_ns, payload, crc in rows:
            if _snapshot_ok(seq, created_ns, payload, crc):
                return int(seq), bytes(payload)
        return None


def _check_types(types: Collection[str] | None) -> list[str] | None:
    if types is None:
        return None
    if isinstance(types, str):
        raise TypeError("types must be a collection of type names, e.g. {'OrderFilled'}")
    type_list = sorted(set(types))
    unknown = [t for t in type_list if t not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")
    return type_list


# --- writing --------------------------------------------------------------------

_Row = tuple[int, int, str, bytes]
_Snap = tuple[int, int, bytes, asyncio.Future[None]]


class Journal:
    """The write side of the journal. Create with `Journal.open`.

    Threading: `append`, `write_snapshot`, `flush` and `aclose` are called on the
    event-loop thread (the journal binds to the loop of the first such call);
    commits happen on one writer thread started at the first `append`/`start`.
    `append_many_sync` is for tools with no event loop and writes on the
    caller's thread; it is refused once the writer thread runs.
    """

    def __init__(
        self,
        *,
        path: Path,
        conn: sqlite3.Connection,
        lock_fd: int,
        settings: JournalSettings,
        recovery: RecoveryReport,
        snapshots_kept: int,
    ) -> None:
        self._path = path
        self._conn = conn
        self._lock_fd: int | None = lock_fd
        self._settings = settings
        self._recovery = recovery
        self._snapshots_kept = snapshots_kept
        self._reader = JournalReader(path)

        self._next_seq = recovery.last_seq + 1
        self._committed_seq = recovery.last_seq
        self._commits = 0

        # Shared with the writer thread; guarded by _mutex.
        self._mutex = threading.Lock()
        self._rows: list[_Row] = []
        self._futs: list[asyncio.Future[int]] = []
        self._snaps: list[_Snap] = []
        self._barriers: list[asyncio.Future[None]] = []
        self._writer_idle = False
        self._stopping = False
        # A binary semaphore the writer blocks on while idle; an appender that
        # finds the writer idle releases it exactly once. Cheaper than a
        # threading.Condition, whose wait/notify are implemented in Python.
        self._wakeup = threading.Lock()
        self._wakeup.acquire()

        self._thread: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._checkpoint_stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit_fut: asyncio.Future[None] | None = None
        self._inflight = 0  # loop side: appends/snapshots/barriers not yet resolved
        self._error: JournalWriteError | None = None  # set by whichever thread writes
        self._closing = False
        self._released = False

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        durability: Durability = Durability.PROCESS,
        tail_check_rows: int = DEFAULT_TAIL_CHECK_ROWS,
        snapshots_kept: int = DEFAULT_SNAPSHOTS_KEPT,
    ) -> Journal:
        """Open or create the journal at `path` and verify its tail.

        Raises `JournalCorruptError` for a file that is not a SQLite database or
        whose tail cannot be repaired by quarantining a bad suffix,
        `JournalLockedError` if another writer has it open.
        """
        durability = Durability(durability)
        if tail_check_rows < 1:
            raise ValueError("tail_check_rows must be >= 1")
        if snapshots_kept < 1:
            raise ValueError("snapshots_kept must be >= 1")
        path = Path(path)
        lock_fd = _acquire_writer_lock(path)
        conn: sqlite3.Connection | None = None
        try:
            # check_same_thread=False: opened here, then used only by the writer
            # thread (or, before it exists, by append_many_sync) - never both.
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            try:
                settings = _configure(conn, durability)
                _ensure_schema(conn, path)
                recovery = _recover(conn, path, tail_check_rows)
            except sqlite3.DatabaseError as exc:
                raise _classify_sqlite_error(exc, path) from exc
            return cls(
                path=path,
                conn=conn,
                lock_fd=lock_fd,
                settings=settings,
                recovery=recovery,
                snapshots_kept=snapshots_kept,
            )
        except BaseException:
            if conn is not None:
                conn.close()
            os.close(lock_fd)
            raise

    @staticmethod
    def open_reader(path: str | Path) -> JournalReader:
        """A read-only reader of the journal at `path` (for other threads/processes)."""
        return JournalReader(path)

    # -- state -----------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self._path

    @property
    def recovery(self) -> RecoveryReport:
        return self._recovery

    @property
    def settings(self) -> JournalSettings:
        return self._settings

    @property
    def last_seq(self) -> int:
        """Highest seq assigned, including appends not yet committed."""
        return self._next_seq - 1

    @property
    def committed_seq(self) -> int:
        """Highest seq whose transaction has committed."""
        return self._committed_seq

    @property
    def commits(self) -> int:
        """Number of transactions committed by this instance (group commits count once)."""
        return self._commits

    @property
    def closed(self) -> bool:
        return self._closing

    # -- appending (event-loop thread) ------------------------------------------

    def start(self) -> None:
        """Bind to the running loop and start the writer thread now, not at first append."""
        self._bind(asyncio.get_running_loop())

    def append(self, event: Event) -> asyncio.Future[int]:
        """Queue `event`; the future resolves to its seq once committed.

        Never blocks. Raises at once if the journal is closed or has failed
        (`JournalClosedError`, `JournalWriteError`); the future fails with
        `JournalWriteError` if the commit holding the event fails.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._closing or self._error is not None:
            self._bind(loop)
        if type(event) not in _EVENT_CLASSES:
            raise TypeError(f"not a journal event type: {type(event).__name__}")
        # Encode before taking a seq so a failing encode cannot leave a gap.
        payload = encode_event(event)
        seq = self._next_seq
        self._next_seq = seq + 1
        fut: asyncio.Future[int] = loop.create_future()
        self._inflight += 1
        with self._mutex:
            self._rows.append((seq, event.ts_ns, event_type(event), payload))
            self._futs.append(fut)
            if self._writer_idle:
                self._writer_idle = False
                self._wakeup.release()
        return fut

    def write_snapshot(self, seq: int, payload: bytes) -> asyncio.Future[None]:
        """Store a snapshot of the state after event `seq`, ordered after that event.

        Only the newest `snapshots_kept` snapshots are kept.
        """
        loop = asyncio.get_running_loop()
        self._bind(loop)
        if not 0 <= seq <= self.last_seq:
            raise ValueError(f"snapshot seq {seq} is outside 0..{self.last_seq}")
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise TypeError("snapshot payload must be bytes")
        fut: asyncio.Future[None] = loop.create_future()
        self._inflight += 1
        with self._mutex:
            self._snaps.append((seq, time.time_ns(), bytes(payload), fut))
            self._wake_locked()
        return fut

    async def flush(self) -> None:
        """Wait until everything appended so far (events and snapshots) is committed."""
        loop = asyncio.get_running_loop()
        self._bind(loop)
        await self._barrier(loop)

    def _barrier(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = loop.create_future()
        self._inflight += 1
        with self._mutex:
            self._barriers.append(fut)
            self._wake_locked()
        return fut

    def _wake_locked(self) -> None:
        if self._writer_idle:
            self._writer_idle = False
            self._wakeup.release()

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Refuse if closed or failed; bind to `loop` and start the writer if needed."""
        if self._closing:
            raise JournalClosedError(f"journal {self._path} is closed")
        if self._error is not None:
            raise JournalWriteError(f"journal {self._path} has failed: {self._error}")
        if loop is self._loop:
            return
        if self._loop is not None and self._inflight:
            raise JournalUsageError(
                f"journal is bound to another event loop with {self._inflight} "
                "operations in flight; call it from that loop's thread"
            )
        self._loop = loop
        if self._thread is None:
            thread = threading.Thread(
                target=self._run_writer, name=f"journal-writer:{self._path.name}", daemon=True
            )
            self._thread = thread
            thread.start()
            checkpointer = threading.Thread(
                target=self._run_checkpointer,
                name=f"journal-checkpoint:{self._path.name}",
                daemon=True,
            )
            self._checkpointer = checkpointer
            checkpointer.start()

    # -- the writer thread ------------------------------------------------------

    def _run_checkpointer(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            while not self._checkpoint_stop.wait(_CHECKPOINT_INTERVAL_S):
                # A failed checkpoint only leaves the WAL longer; the next one catches up.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def _run_writer(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_autocheckpoint=0")  # _run_checkpointer does it
        try:
            while True:
                with self._mutex:
                    rows, futs, snaps, barriers = (
                        self._rows,
                        self._futs,
                        self._snaps,
                        self._barriers,
                    )
                    if not (rows or snaps or barriers):
                        if self._stopping:
                            break
                        self._writer_idle = True
                    else:
                        self._rows, self._futs, self._snaps, self._barriers = [], [], [], []
                if not (rows or snaps or barriers):
                    self._wakeup.acquire()
                    continue
                error = self._error
                if error is None and (rows or snaps):
                    try:
                        self._commit(rows, snaps)
                    except Exception as exc:
                        error = JournalWriteError(
                            f"commit of {len(rows)} event(s) from seq "
                            f"{rows[0][0] if rows else '-'} failed: {exc}"
                        )
                        error.__cause__ = exc
                        self._error = error
                first_seq = rows[0][0] if rows else 0
                self._post(self._on_batch_done, futs, first_seq, snaps, barriers, error)
        except BaseException as exc:  # pragma: no cover - defensive: never hang appenders
            if self._error is None:
                failure = JournalWriteError(f"journal writer thread died: {exc!r}")
                failure.__cause__ = exc
                self._error = failure
            raise
        finally:
            exit_fut = self._exit_fut
            if exit_fut is not None:
                self._post(_resolve_none, exit_fut)

    def _commit(self, rows: list[_Row], snaps: list[_Snap]) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        try:
            if rows:
                conn.executemany(
                    _INSERT_EVENT, [(s, t, ty, p, event_crc(s, t, ty, p)) for s, t, ty, p in rows]
                )
            if snaps:
                for seq, created_ns, payload, _ in snaps:
                    conn.execute(
                        _INSERT_SNAPSHOT,
                        (seq, created_ns, payload, _snapshot_crc(seq, created_ns, payload)),
                    )
                conn.execute(_PRUNE_SNAPSHOTS, (self._snapshots_kept,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        if rows:
            self._committed_seq = rows[-1][0]
        self._commits += 1

    def _post(self, callback: Callable[..., object], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closed, so nobody is left to await the result.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback, *args)

    def _on_batch_done(
        self,
        futs: list[asyncio.Future[int]],
        first_seq: int,
        snaps: list[_Snap],
        barriers: list[asyncio.Future[None]],
        error: JournalWriteError | None,
    ) -> None:
        self._inflight -= len(futs) + len(snaps) + len(barriers)
        if error is None:
            seq = first_seq
            for fut in futs:
                if not fut.done():
                    fut.set_result(seq)
                seq += 1
            for *_, snap_fut in snaps:
                if not snap_fut.done():
                    snap_fut.set_result(None)
            for barrier in barriers:
                if not barrier.done():
                    barrier.set_result(None)
            return
        message = str(error)
        failed: Iterable[asyncio.Future[Any]] = itertools.chain(
            futs, (s[3] for s in snaps), barriers
        )
        for fut_any in failed:
            if not fut_any.done():
                exc = JournalWriteError(message)
                exc.__cause__ = error.__cause__
                fut_any.set_exception(exc)

    # -- bulk, synchronous ------------------------------------------------------

    def append_many_sync(self, events: Iterable[Event], *, batch_size: int = _SYNC_BATCH) -> int:
        """Append `events` on the caller's thread in large transactions; return the last seq.

        For tools, benchmarks and tests with no event loop. Refused once the
        writer thread runs (after the first `append` or `start`).
        """
        if self._closing:
            raise JournalClosedError(f"journal {self._path} is closed")
        if self._thread is not None:
            raise JournalUsageError(
                "append_many_sync cannot be used while the writer thread runs "
                "(after append()/start()); use append() from the event loop"
            )
        if self._error is not None:
            raise JournalWriteError(f"journal {self._path} has failed: {self._error}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        conn = self._conn
        classes = _EVENT_CLASSES
        crc32 = zlib.crc32
        iterator = iter(events)
        while chunk := list(itertools.islice(iterator, batch_size)):
            seq = self._next_seq
            rows: list[tuple[int, int, str, bytes, int]] = []
            append_row = rows.append
            for event in chunk:
                cls = type(event)
                if cls not in classes:
                    raise TypeError(f"not a journal event type: {cls.__name__}")
                type_ = cls.__name__
                payload = encode_event(event)
                ts_ns = event.ts_ns
                crc = crc32(payload, crc32(f"{seq}:{ts_ns}:{type_}:".encode()))
                append_row((seq, ts_ns, type_, payload, crc))
                seq += 1
            try:
                conn.execute("BEGIN")
                conn.executemany(_INSERT_EVENT, rows)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                error = JournalWriteError(f"bulk commit from seq {rows[0][0]} failed: {exc}")
                self._error = error
                raise error from exc
            self._next_seq = seq
            self._committed_seq = seq - 1
            self._commits += 1
        return self._committed_seq

    # -- reading ----------------------------------------------------------------

    def read(
        self,
        after_seq: int = 0,
        *,
        limit: int | None = None,
        types: Collection[str] | None = None,
    ) -> Iterator[tuple[int, int, AnyEvent]]:
        """Committed events with seq > after_seq as (seq, ts_ns, event), verified, in order.

        Uses its own read-only connection; see `JournalReader.read`.
        """
        self._check_open()
        return self._reader.read(after_seq, limit=limit, types=types)

    def read_raw(
        self,
        after_seq: int = 0,
        *,
        limit: int | None = None,
        types: Collection[str] | None = None,
    ) -> Iterator[tuple[int, int, str, bytes]]:
        """Like `read`, but yields (seq, ts_ns, type, payload) without decoding."""
        self._check_open()
        return self._reader.read_raw(after_seq, limit=limit, types=types)

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        """The newest committed snapshot that verifies, as (seq, payload)."""
        self._check_open()
        return self._reader.latest_snapshot()

    def _check_open(self) -> None:
        if self._closing:
            raise JournalClosedError(f"journal {self._path} is closed")

    # -- closing ----------------------------------------------------------------

    async def aclose(self) -> None:
        """Flush, stop the writer thread and close. Idempotent.

        Write failures were already reported through the futures of the
        affected appends; closing does not raise them again.
        """
        if self._closing:
            return
        self._closing = True
        thread = self._thread
        loop = asyncio.get_running_loop()
        if thread is not None and self._loop is loop:
            with contextlib.suppress(JournalWriteError):
                await self._barrier(loop)
            exit_fut: asyncio.Future[None] = loop.create_future()
            self._exit_fut = exit_fut
            self._signal_stop()
            await exit_fut  # the writer has drained its buffer; the join below is instant
        self._stop_writer()
        self._release()

    def close(self) -> None:
        """Synchronous close for code with no running loop: commits what is buffered,
        stops the writer thread and closes. Idempotent; blocks until done."""
        if self._released:
            return
        self._closing = True
        self._stop_writer()
        self._release()

    def _signal_stop(self) -> None:
        with self._mutex:
            self._stopping = True
            self._wake_locked()

    def _stop_writer(self) -> None:
        checkpointer = self._checkpointer
        if checkpointer is not None:
            self._checkpoint_stop.set()
            checkpointer.join()
        thread = self._thread
        if thread is None:
            return
        self._signal_stop()
        thread.join()

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        self._conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _resolve_none(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


# --- opening helpers --------------------------------------------------------------


def _acquire_writer_lock(path: Path) -> int:
    # A separate lock file: an fd on the database itself would break SQLite's
    # POSIX locks when closed (closing any fd drops all of a process's locks).
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalLockedError(f"journal {path} is already open for writing") from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _configure(conn: sqlite3.Connection, durability: Durability) -> JournalSettings:
    # First, so that the journal_mode switch below waits for a busy lock too.
    conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
    if mode != "wal":
        raise JournalError(f"could not switch the journal to WAL mode (got {mode!r})")
    synchronous = "FULL" if durability is Durability.FSYNC else "NORMAL"
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT_PAGES}")
    conn.execute(f"PRAGMA journal_size_limit={_JOURNAL_SIZE_LIMIT_BYTES}")

    def read_back(name: str) -> int:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])

    sync_value = read_back("synchronous")
    return JournalSettings(
        durability=durability,
        journal_mode=mode,
        synchronous=_SYNCHRONOUS_NAMES.get(sync_value, str(sync_value)),
        wal_autocheckpoint=read_back("wal_autocheckpoint"),
        journal_size_limit=read_back("journal_size_limit"),
        busy_timeout_ms=read_back("busy_timeout"),
    )


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if version is None or version[0] != str(SCHEMA_VERSION):
        raise JournalSchemaError(
            f"{path}: unsupported journal schema version "
            f"{None if version is None else version[0]!r} (expected {SCHEMA_VERSION})"
        )
    columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(events)"))
    if columns != _EVENT_COLUMNS:
        raise JournalSchemaError(f"{path}: table events has columns {columns}, not a journal")


def _recover(conn: sqlite3.Connection, path: Path, tail_check_rows: int) -> RecoveryReport:
    """Verify the last rows; quarantine a bad suffix, refuse a bad middle."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        report = _verify_tail(conn, path, tail_check_rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return report


def _verify_tail(conn: sqlite3.Connection, path: Path, tail_check_rows: int) -> RecoveryReport:
    rows: list[tuple[Any, ...]] = conn.execute(
        "SELECT seq, ts_ns, type, payload, crc FROM events ORDER BY seq DESC LIMIT ?",
        (tail_check_rows,),
    ).fetchall()
    rows.reverse()
    whole_table = len(rows) < tail_check_rows
    problems = [_event_row_problem(row) for row in rows]
    first_bad = next((i for i, p in enumerate(problems) if p is not None), len(rows))
    if first_bad < len(rows):
        later_good = next(
            (rows[i][0] for i in range(first_bad + 1, len(rows)) if problems[i] is None), None
        )
        bad_seq = rows[first_bad][0]
        if later_good is not None:
            raise JournalCorruptError(
                f"{path}: event seq {bad_seq} is corrupt ({problems[first_bad]}) but later "
                f"event seq {later_good} is intact; refusing to guess - restore from backup",
                seq=bad_seq,
            )
        if first_bad == 0:
            raise JournalCorruptError(
                f"{path}: none of the last {len(rows)} events verifies (first bad seq "
                f"{bad_seq}: {problems[0]}); refusing to guess - restore from backup",
                seq=bad_seq,
            )
    good = rows[:first_bad]
    if whole_table and good and good[0][0] != 1:
        raise JournalCorruptError(
            f"{path}: the journal starts at seq {good[0][0]}, events 1..{good[0][0] - 1} "
            "are missing",
            seq=1,
        )
    for previous, row in itertools.pairwise(good):
        if row[0] != previous[0] + 1:
            raise JournalCorruptError(
                f"{path}: events {previous[0] + 1}..{row[0] - 1} are missing", seq=previous[0] + 1
            )
    last_seq = int(good[-1][0]) if good else 0
    now = time.time_ns()
    bad = rows[first_bad:]
    details: list[str] = []
    if bad:
        conn.executemany(
            _INSERT_QUARANTINE,
            [
                (
                    seq,
                    type_,
                    payload,
                    crc,
                    f"tail verification on open: {problems[first_bad + i]}",
                    now,
                )
                for i, (seq, _, type_, payload, crc) in enumerate(bad)
            ],
        )
        conn.execute("DELETE FROM events WHERE seq > ?", (last_seq,))
        details.append(
            f"quarantined {len(bad)} corrupt tail event(s) seq {bad[0][0]}..{bad[-1][0]} "
            f"({problems[first_bad]}); the journal resumes after seq {last_seq}"
        )
    stale = conn.execute(
        "SELECT seq, created_ns, payload, crc FROM snapshots WHERE seq > ?", (last_seq,)
    ).fetchall()
    if stale:
        conn.executemany(
            _INSERT_QUARANTINE,
            [
                (
                    seq,
                    _SNAPSHOT_QUARANTINE_TYPE,
                    payload,
                    crc,
                    f"snapshot covers seq {seq}, beyond the last good event {last_seq}",
                    now,
                )
                for seq, _, payload, crc in stale
            ],
        )
        conn.execute("DELETE FROM snapshots WHERE seq > ?", (last_seq,))
        details.append(f"quarantined {len(stale)} snapshot(s) beyond seq {last_seq}")
    if not details:
        details.append(
            f"verified the last {len(rows)} event(s); clean" if rows else "empty journal"
        )
    return RecoveryReport(
        last_seq=last_seq,
        quarantined=len(bad) + len(stale),
        detail="; ".join(details),
        checked=len(rows),
    )
