"""Writing a journal: `Journal`, with group commit on one writer thread.

See the package docstring (`realtime.journal`) for ordering, acknowledgement
and what each `Durability` survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from realtime.events import AnyEvent, Event, encode_event
from realtime.journal.errors import (
    JournalClosedError,
    JournalError,
    JournalLockedError,
    JournalSchemaError,
    JournalUsageError,
    JournalWriteError,
    classify_sqlite_error,
)
from realtime.journal.format import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    CHUNKED_MARKERS,
    DELETE_ORPHAN_CHUNKS,
    DELETE_SNAPSHOT_AT,
    DELETE_SNAPSHOT_CHUNKS_AT,
    EVENT_CLASSES,
    EVENT_COLUMNS,
    INSERT_EVENT,
    INSERT_EVENT_BLOCK,
    INSERT_EVENTS,
    INSERT_SNAPSHOT,
    INSERT_SNAPSHOT_CHUNK,
    PRUNE_SNAPSHOTS,
    SCHEMA,
    SCHEMA_VERSION,
    SELECT_SCHEMA_VERSION,
    SNAPSHOT_CHUNK_BYTES,
    check_schema_version,
    chunk_crc,
    chunked_marker,
    compress_chunk,
    event_crc,
    identify,
    refuse_empty,
    snapshot_crc,
    with_event_crcs,
)
from realtime.journal.reader import JournalReader
from realtime.journal.recovery import RecoveryReport, recover

log = logging.getLogger(__name__)

DEFAULT_TAIL_CHECK_ROWS: Final = 10_000
DEFAULT_SNAPSHOTS_KEPT: Final = 3

# Journal rows are small (~100-300 bytes), so 1000 pages (~4 MB of WAL) hold
# thousands of events; a checkpoint this size costs a few ms once in a while
# instead of letting the WAL (which every reader must index) grow unbounded.
_WAL_AUTOCHECKPOINT_PAGES: Final = 1000
# SQLite writes the WAL from its start again (a restart) only when a write transaction
# begins with every frame checkpointed. Under continuous load the checkpointer's PASSIVE
# pass never catches up with commits a few ms apart, so the WAL grew by ~35 MB/s in
# `bench.engine_submit --snapshot` until a rare lull. Once the WAL holds this much, the
# checkpointer completes its checkpoint with the write connection held (see
# `_checkpoint_step`), so that the next commit restarts it.
_WAL_RESTART_BYTES: Final = 64 * 1024 * 1024
# The WAL file is reused, not shrunk, after a restart; after a burst (e.g. a bulk
# import) the first commit after a restart truncates it back to this, so one burst does
# not pin disk space forever. Above _WAL_RESTART_BYTES with room for the frames written
# while the checkpointer catches up, so that under steady load nothing is truncated:
# the first commit after a restart truncating the WAL from 445 MB to 64 MB (an ftruncate
# with ext4 `discard`) stalled the loop for 70-130 ms.
_JOURNAL_SIZE_LIMIT_BYTES: Final = 2 * _WAL_RESTART_BYTES
# A WAL frame is a page plus its 24-byte header.
_WAL_FRAME_HEADER_BYTES: Final = 24
# Once the writer thread runs, WAL checkpoints move to their own thread and
# connection (PASSIVE, so they never block a commit): run inline, a checkpoint
# and its fsyncs stalled whichever commit crossed the autocheckpoint threshold,
# which showed as multi-millisecond P99.9 spikes in every submit benchmark.
_CHECKPOINT_INTERVAL_S: Final = 0.1
_SYNC_BATCH: Final = 100_000
# How long a loop commit waits for the write connection while the writer thread stores a
# snapshot chunk (well under a millisecond) before it gives up for this loop iteration and
# tries again at the next; the rows stay on the loop, in seq order. Waiting on the lock
# releases the GIL, so the writer finishes at once. Short enough that a stalled disk costs
# the loop at most this per iteration.
#
# The rows are never handed to the writer thread instead (as they were until 2026-12-06):
# there they waited for that thread to take the GIL back between its SQLite calls, and
# CPython's GIL does not let a waiting thread in while the holder releases and retakes it
# more often than every switch interval (each release wakes the waiter, which finds the GIL
# taken again and restarts its 5 ms wait before it would ask for a switch). The loop does
# exactly that while it builds a snapshot step by step with nothing else to run, so handed
# rows waited until the build ended: 0.7-0.9 s submits in `bench.engine_submit --snapshot`.
_LOOP_COMMIT_WAIT_S: Final = 0.002

_SYNCHRONOUS_NAMES: Final = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}

# A set, not the name map: `type(event) in _EVENT_CLASSES` is the hot-path check.
_EVENT_CLASSES: Final[frozenset[type[Any]]] = frozenset(EVENT_CLASSES.values())


class Durability(StrEnum):
    """What an acknowledged append survives; see the package docstring."""

    PROCESS = "PROCESS"
    FSYNC = "FSYNC"


@dataclass(frozen=True, slots=True)
class JournalSettings:
    """Settings of the write connection as read back from SQLite after opening."""

    durability: Durability
    journal_mode: str
    synchronous: str
    wal_autocheckpoint: int
    journal_size_limit: int
    busy_timeout_ms: int


_Row = tuple[int, int, str, bytes]
# An append's future; None for `append_unawaited`.
_Fut = asyncio.Future[int] | None
_Snap = tuple[int, int, bytes, asyncio.Future[None]]
# Orphaned chunks deleted per transaction after a chunked snapshot completes: freeing a
# chunk walks its overflow pages, so a few at a time keep each transaction short.
_CHUNKS_DELETED_PER_COMMIT: Final = 4


class _ChunkedSnapshot:
    """A snapshot too large for one row, being stored a chunk per transaction."""

    __slots__ = ("barriers", "chunks", "created_ns", "fut", "parts", "seq", "total")

    def __init__(
        self, seq: int, created_ns: int, pieces: Sequence[bytes], fut: asyncio.Future[None]
    ) -> None:
        self.seq = seq
        self.created_ns = created_ns
        self.chunks = _chunks(pieces, SNAPSHOT_CHUNK_BYTES)
        self.parts = 0
        self.total = 0
        self.fut = fut
        # Flushes that arrived while this snapshot was being stored: resolved after it.
        self.barriers: list[asyncio.Future[None]] = []


def _chunks(pieces: Sequence[bytes], size: int) -> Iterator[bytes]:
    """`pieces`, concatenated, cut into chunks of `size` bytes (the last one shorter)."""
    buffer: list[memoryview] = []
    filled = 0
    for piece in pieces:
        view = memoryview(piece).cast("B")
        while len(view):
            take = view[: size - filled]
            buffer.append(take)
            filled += len(take)
            view = view[len(take) :]
            if filled == size:
                yield b"".join(buffer)
                buffer, filled = [], 0
    if buffer:
        yield b"".join(buffer)


class Journal:
    """The write side of the journal. Create with `Journal.open`.

    Threading: `append`, `write_snapshot`, `flush` and `aclose` are called on the
    event-loop thread (the journal binds to the loop of the first such call);
    appends commit on that thread (PROCESS) or on one writer thread (FSYNC), and
    snapshots on the writer thread, started at the first `append`/`start`.
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
        self._futs: list[_Fut] = []
        self._snaps: list[_Snap] = []
        self._big_snaps: list[_ChunkedSnapshot] = []
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

        # PROCESS durability commits appends on the loop thread (see the package
        # docstring); FSYNC on the writer thread, where an fsync cannot stall the loop.
        self._loop_commits = settings.durability is Durability.PROCESS
        # Loop side: the rows appended since the last loop commit, and whether that
        # commit is scheduled (once per loop iteration, whatever the number of appends).
        self._pending_rows: list[_Row] = []
        self._pending_futs: list[_Fut] = []
        self._commit_scheduled = False
        # Held by whichever thread runs a transaction on the write connection. The
        # loop's scheduled commit only tries it for _LOOP_COMMIT_WAIT_S: if the writer
        # thread is still busy (a snapshot chunk), the commit runs again next iteration.
        self._conn_lock = threading.Lock()
        # Set by the loop while its commit waits for the connection, until that commit is
        # done: the writer's background work (orphan chunks) waits for it before taking the
        # connection again. A lock is not fair: released and retaken at once by a thread
        # that is running, it goes to that thread again, and a run of orphan deletes after
        # each pruned snapshot kept the loop's commit out for 40-45 ms. The bool beside
        # the Event is what every loop commit reads: setting the Event each time would
        # take its lock on the hot path.
        self._loop_waiting = False
        self._loop_turn = threading.Event()
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
        """Open the journal at `path`, creating it only if no file exists, and verify its tail.

        Raises `JournalCorruptError` for a file that is empty or not a SQLite
        database, or whose tail cannot be repaired by quarantining a bad suffix;
        `JournalSchemaError` for a SQLite database that is not a tradepipe journal;
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
            if not path.exists():
                _create(path)
            refuse_empty(path)
            # check_same_thread=False: opened here, then used only by the writer
            # thread (or, before it exists, by append_many_sync) - never both.
            conn = _connect_rw(path)
            try:
                # Before anything writes: a foreign database must stay untouched.
                unmarked = identify(conn, path)
                settings = _configure(conn, durability)
                _ensure_schema(conn, path, stamp=unmarked)
                recovery = recover(conn, path, tail_check_rows)
            except sqlite3.DatabaseError as exc:
                raise classify_sqlite_error(exc, path) from exc
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
    def failure(self) -> JournalWriteError | None:
        """Why the journal can no longer commit (set by the first failed commit), or None."""
        return self._error

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
        fut: asyncio.Future[int] = loop.create_future()
        self._append(loop, event, fut)
        return fut

    def append_unawaited(self, event: Event) -> None:
        """Queue `event` like `append`, for an event nobody waits on (the engine's
        venue reports, market samples): same order, same transaction, no future.

        A future per such event cost its creation, a done callback and that
        callback's loop turn on every commit, for an answer nobody needed. If its
        commit fails, the journal has failed (`failure`), so every later append
        raises, as with `append`.
        """
        self._append(asyncio.get_running_loop(), event, None)

    def _append(
        self, loop: asyncio.AbstractEventLoop, event: Event, fut: asyncio.Future[int] | None
    ) -> None:
        if loop is not self._loop or self._closing or self._error is not None:
            self._bind(loop)
        if type(event) not in _EVENT_CLASSES:
            raise TypeError(f"not a journal event type: {type(event).__name__}")
        # Encode before taking a seq so a failing encode cannot leave a gap.
        payload = encode_event(event)
        seq = self._next_seq
        self._next_seq = seq + 1
        self._inflight += 1
        row = (seq, event.ts_ns, type(event).__name__, payload)  # event_type(), inlined
        if self._loop_commits:
            self._pending_rows.append(row)
            self._pending_futs.append(fut)
            if not self._commit_scheduled:
                # call_soon runs after every callback already queued for this
                # iteration: all their appends share this one transaction.
                self._commit_scheduled = True
                loop.call_soon(self._commit_on_loop)
            return
        with self._mutex:
            self._rows.append(row)
            self._futs.append(fut)
            if self._writer_idle:
                self._writer_idle = False
                self._wakeup.release()

    def write_snapshot(
        self, seq: int, payload: bytes | bytearray | memoryview | Sequence[bytes]
    ) -> asyncio.Future[None]:
        """Store a snapshot of the state after event `seq`, ordered after that event.

        `payload` is the bytes, or a sequence of pieces whose concatenation they are
        (stored without ever being joined into one buffer). Up to
        `SNAPSHOT_CHUNK_BYTES` it is one row committed like an event; larger, it is
        stored a chunk per transaction between event commits, so event commits never
        wait for more than one chunk, and completed by its marker (see
        `realtime.journal.format`). The future resolves once the snapshot is complete;
        until then, and after a crash before then, the previous one is the newest.
        Only the newest `snapshots_kept` snapshots are kept.
        """
        loop = asyncio.get_running_loop()
        self._bind(loop)
        if not 0 <= seq <= self.last_seq:
            raise ValueError(f"snapshot seq {seq} is outside 0..{self.last_seq}")
        if isinstance(payload, bytes | bytearray | memoryview):
            pieces: list[bytes] = [bytes(payload)]
        elif isinstance(payload, Sequence) and all(isinstance(p, bytes) for p in payload):
            pieces = [bytes(p) for p in payload]  # bytes(b) of a bytes is b itself: no copy
        else:
            raise TypeError("snapshot payload must be bytes or a sequence of bytes pieces")
        total = sum(len(p) for p in pieces)
        self._commit_on_loop(wait=True)  # the events it covers commit first
        fut: asyncio.Future[None] = loop.create_future()
        self._inflight += 1
        created_ns = time.time_ns()
        with self._mutex:
            if total > SNAPSHOT_CHUNK_BYTES or (pieces and pieces[0].startswith(CHUNKED_MARKERS)):
                self._big_snaps.append(_ChunkedSnapshot(seq, created_ns, pieces, fut))
            else:
                self._snaps.append((seq, created_ns, b"".join(pieces), fut))
            self._wake_locked()
        return fut

    async def flush(self) -> None:
        """Wait until everything appended so far (events and snapshots) is committed."""
        loop = asyncio.get_running_loop()
        self._bind(loop)
        await self._barrier(loop)

    def _barrier(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        self._commit_on_loop(wait=True)
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
        if self._loop is not None and self._loop.is_closed():
            self._commit_leftovers()  # appends whose loop ended before its commit ran
        if self._loop is not None and self._inflight:
            raise JournalUsageError(
                f"journal is bound to another event loop with {self._inflight} "
                "operations in flight; call it from that loop's thread"
            )
        self._loop = loop
        if self._thread is None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_autocheckpoint=0")  # _run_checkpointer does it
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
        before = _fds_on(self._path)
        conn = _connect_rw(self._path)
        try:
            # The database file descriptor SQLite opened for this connection; see
            # _checkpoint_step. Never closed here: closing any descriptor on the file would
            # drop every SQLite lock this process holds on it. If another thread opened the
            # file meanwhile this may be its descriptor instead: flushing it flushes the same
            # file, and once it is closed (and its number perhaps reused) a failed or stray
            # fdatasync only leaves the flush to the pass under the lock.
            db_fd = min(_fds_on(self._path) - before, default=None)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            restart_frames = _WAL_RESTART_BYTES // (page_size + _WAL_FRAME_HEADER_BYTES)
            while not self._checkpoint_stop.wait(_CHECKPOINT_INTERVAL_S):
                # A failed checkpoint only leaves the WAL longer; the next one catches up.
                with contextlib.suppress(sqlite3.Error):
                    self._checkpoint_step(conn, restart_frames, db_fd)
        finally:
            conn.close()

    def _checkpoint_step(
        self, conn: sqlite3.Connection, restart_frames: int, db_fd: int | None = None
    ) -> None:
        """One pass of the checkpointer thread, on its own connection `conn`: copy the WAL
        into the database (PASSIVE: never blocks a commit, nor waits for one), and once
        the WAL holds `restart_frames` frames, see that the next commit restarts it.
        `db_fd`: a descriptor on the database file, to flush it before holding the lock."""
        log, backfilled = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1:]
        if backfilled < log or log < restart_frames:
            return  # short enough, or a reader still needs old frames: it cannot complete
        # Every frame there was when the pass began is in the database, but commits went on
        # meanwhile, so the next commit would append to the WAL again. With the write
        # connection held none can: a pass then copies those few frames and completes the
        # checkpoint, and the next commit writes the WAL from its start. Completing it
        # fsyncs the database, which no pass under load does otherwise: flushed under the
        # lock, the pages copied since the last complete checkpoint (tens of MB) took
        # 4-23 ms. Flushed first, the pass under the lock flushes its few pages.
        if db_fd is not None:
            with contextlib.suppress(OSError):
                os.fdatasync(db_fd)
        # The loop's commit only tries the connection for _LOOP_COMMIT_WAIT_S and then
        # runs again at the next loop iteration, so the loop goes on meanwhile; the FSYNC
        # writer thread waits, as it does for a loop commit.
        with self._conn_lock:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _run_writer(self) -> None:
        # Chunked snapshots being stored, oldest first; and whether chunks of pruned
        # snapshots are left to delete. Both advance one short transaction per pass,
        # after the events that queued meanwhile have committed.
        jobs: deque[_ChunkedSnapshot] = deque()
        cleanup = False
        try:
            while True:
                with self._mutex:
                    rows, futs, snaps, big, barriers = (
                        self._rows,
                        self._futs,
                        self._snaps,
                        self._big_snaps,
                        self._barriers,
                    )
                    queued = bool(rows or snaps or big or barriers)
                    if queued:
                        self._rows, self._futs, self._snaps = [], [], []
                        self._big_snaps, self._barriers = [], []
                    elif not (jobs or cleanup):
                        if self._stopping:
                            break
                        self._writer_idle = True
                if not (queued or jobs or cleanup):
                    self._wakeup.acquire()
                    continue
                error = self._error
                if error is None and (rows or snaps):
                    try:
                        with self._conn_lock:
                            self._commit(rows, snaps)
                    except Exception as exc:
                        error = self._failed(exc, rows)
                jobs.extend(big)
                if jobs:
                    # "Everything appended so far" includes the snapshots being stored.
                    jobs[-1].barriers.extend(barriers)
                    barriers = []
                if queued:
                    first_seq = rows[0][0] if rows else 0
                    self._post(self._on_batch_done, futs, first_seq, snaps, barriers, error)
                if jobs:
                    if self._store_chunk(jobs[0]):
                        jobs.popleft()
                        cleanup = True
                elif cleanup:
                    # Only while no chunked snapshot is being stored: its chunks have no
                    # marker yet, so they are "orphans" to DELETE_ORPHAN_CHUNKS.
                    cleanup = self._delete_orphan_chunks()
        except BaseException as exc:  # pragma: no cover - defensive: never hang appenders
            if self._error is None:
                failure = JournalWriteError(f"journal writer thread died: {exc!r}")
                failure.__cause__ = exc
                self._set_error(failure)
            raise
        finally:
            exit_fut = self._exit_fut
            if exit_fut is not None:
                self._post(_resolve_none, exit_fut)

    def _failed(self, exc: Exception, rows: list[_Row]) -> JournalWriteError:
        error = JournalWriteError(
            f"commit of {len(rows)} event(s) from seq {rows[0][0] if rows else '-'} failed: {exc}"
        )
        error.__cause__ = exc
        self._set_error(error)
        return error

    def _store_chunk(self, job: _ChunkedSnapshot) -> bool:
        """Store `job`'s next chunk, or its marker after the last; True once it is done
        (stored, or failed: its future and the flushes behind it then fail)."""
        error = self._error
        chunk = None if error is not None else next(job.chunks, None)
        if error is None:
            conn = self._conn
            try:
                # Before the lock, so a loop commit meanwhile does not wait for it; zlib
                # releases the GIL while it deflates, so the loop runs on meanwhile too.
                stored = None if chunk is None else compress_chunk(chunk)
                with self._conn_lock, _transaction(conn):
                    if stored is not None:
                        part = job.parts
                        if part == 0:
                            conn.execute(DELETE_SNAPSHOT_AT, (job.seq,))
                            conn.execute(DELETE_SNAPSHOT_CHUNKS_AT, (job.seq,))
                        conn.execute(
                            INSERT_SNAPSHOT_CHUNK,
                            (job.seq, part, stored, chunk_crc(job.seq, part, stored)),
                        )
                    else:
                        marker = chunked_marker(job.parts, job.total)
                        crc = snapshot_crc(job.seq, job.created_ns, marker)
                        conn.execute(INSERT_SNAPSHOT, (job.seq, job.created_ns, marker, crc))
                        conn.execute(PRUNE_SNAPSHOTS, (self._snapshots_kept,))
                self._commits += 1
            except Exception as exc:
                error = JournalWriteError(
                    f"storing snapshot seq {job.seq} (part {job.parts}) failed: {exc}"
                )
                error.__cause__ = exc
                self._set_error(error)
        if error is None and chunk is not None:
            job.parts += 1
            job.total += len(chunk)
            return False
        self._post(self._on_batch_done, [], 0, [(job.seq, 0, b"", job.fut)], job.barriers, error)
        return True

    def _delete_orphan_chunks(self) -> bool:
        """Delete a few chunks that no snapshot refers to any more; True while some remain."""
        if self._error is not None:
            return False
        if self._loop_waiting:
            self._loop_turn.wait()  # the loop's commit first: this can wait, that cannot
        conn = self._conn
        try:
            with self._conn_lock:
                deleted = conn.execute(DELETE_ORPHAN_CHUNKS, (_CHUNKS_DELETED_PER_COMMIT,)).rowcount
        except sqlite3.Error:
            return False  # the next open deletes them (realtime.journal.recovery)
        return deleted == _CHUNKS_DELETED_PER_COMMIT

    def _commit(self, rows: list[_Row], snaps: list[_Snap]) -> None:
        conn = self._conn
        with _transaction(conn):
            if rows:
                _insert_events(conn, with_event_crcs(rows))
            if snaps:
                for seq, created_ns, payload, _ in snaps:
                    conn.execute(
                        INSERT_SNAPSHOT,
                        (seq, created_ns, payload, snapshot_crc(seq, created_ns, payload)),
                    )
                conn.execute(PRUNE_SNAPSHOTS, (self._snapshots_kept,))
        if rows:
            self._committed_seq = rows[-1][0]
        self._commits += 1

    # -- the loop-thread commit (PROCESS) -----------------------------------------

    def _commit_on_loop(self, *, wait: bool = False) -> None:
        """Commit the rows appended since the last commit, on the loop thread, and resolve
        their futures. If the writer thread holds the connection for longer than
        _LOOP_COMMIT_WAIT_S, try again at the next loop iteration. With `wait` (a flush
        or a snapshot, which must follow these rows) block until the writer's current
        transaction ends instead. Either way, from the moment this finds the connection
        taken, the writer's background work gives way to it (`_loop_turn`)."""
        if not wait:
            # The scheduled call. A flush leaves a queued one in place (and the flag
            # set), so that appends after it do not queue a second: that one commits them.
            self._commit_scheduled = False
        rows, futs = self._pending_rows, self._pending_futs
        if not rows:
            return
        error = self._error
        if error is None:
            lock = self._conn_lock
            if not lock.acquire(blocking=False):
                self._loop_turn.clear()
                self._loop_waiting = True
                if not lock.acquire(timeout=-1 if wait else _LOOP_COMMIT_WAIT_S):
                    self._commit_scheduled = True
                    asyncio.get_running_loop().call_soon(self._commit_on_loop)
                    return
            try:
                error = self._try_commit(rows)
            finally:
                lock.release()
        self._give_turn_back()
        self._pending_rows, self._pending_futs = [], []
        self._inflight -= len(futs)
        _resolve(futs, rows[0][0], error)

    def _give_turn_back(self) -> None:
        if self._loop_waiting:
            self._loop_waiting = False
            self._loop_turn.set()

    def _try_commit(self, rows: list[_Row]) -> JournalWriteError | None:
        try:
            self._commit(rows, [])
        except Exception as exc:
            error = JournalWriteError(
                f"commit of {len(rows)} event(s) from seq {rows[0][0]} failed: {exc}"
            )
            error.__cause__ = exc
            self._set_error(error)
            return error
        return None

    def _commit_leftovers(self) -> None:
        """Commit rows whose loop commit never ran (their loop ended first), on this
        thread; the writer thread has stopped or has nothing of theirs."""
        rows, futs = self._pending_rows, self._pending_futs
        if not rows:
            return
        self._pending_rows, self._pending_futs = [], []
        self._commit_scheduled = False
        with self._conn_lock:
            error = self._error or self._try_commit(rows)
        self._give_turn_back()
        self._inflight -= len(futs)
        # RuntimeError: the future's loop is closed, so nobody is left to await it.
        with contextlib.suppress(RuntimeError):
            _resolve(futs, rows[0][0], error)

    def _post(self, callback: Callable[..., object], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closed, so nobody is left to await the result.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback, *args)

    def _on_batch_done(
        self,
        futs: list[_Fut],
        first_seq: int,
        snaps: list[_Snap],
        barriers: list[asyncio.Future[None]],
        error: JournalWriteError | None,
    ) -> None:
        self._inflight -= len(futs) + len(snaps) + len(barriers)
        if error is None:
            seq = first_seq
            for fut in futs:
                if fut is not None and not fut.done():
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
            (f for f in futs if f is not None), (s[3] for s in snaps), barriers
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
                append_row((seq, ts_ns, type_, payload, event_crc(seq, ts_ns, type_, payload)))
                seq += 1
            try:
                conn.execute("BEGIN")
                conn.executemany(INSERT_EVENT, rows)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                error = JournalWriteError(f"bulk commit from seq {rows[0][0]} failed: {exc}")
                self._set_error(error)
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

    def _set_error(self, error: JournalWriteError) -> None:
        """Record the journal's failure, logged where it happens: the events of
        `append_unawaited` have no future to carry it to anyone, and the engine learns
        of it only at its next command (`failure`)."""
        if self._error is None:
            log.error("journal failed; no further event will commit: %s", error)
        self._error = error

    # -- closing ----------------------------------------------------------------

    async def aclose(self) -> None:
        """Flush, stop the writer thread and close. Idempotent.

        Write failures were already reported through the futures of the
        affected appends, and logged (`_set_error`) for the events appended without
        one; closing does not raise them again.
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
        self._commit_leftovers()
        self._release()

    def close(self) -> None:
        """Synchronous close for code with no running loop: commits what is buffered,
        stops the writer thread and closes. Idempotent; blocks until done."""
        if self._released:
            return
        self._closing = True
        self._stop_writer()  # first: FSYNC rows queued for the writer commit before it stops
        self._commit_leftovers()
        self._release()

    def _signal_stop(self) -> None:
        self._give_turn_back()  # nothing of the loop's is left to wait for
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


def _resolve(futs: list[_Fut], first_seq: int, error: JournalWriteError | None) -> None:
    """Resolve the futures of rows first_seq, first_seq + 1, ... committed together."""
    if error is None:
        for seq, fut in enumerate(futs, first_seq):
            if fut is not None and not fut.done():
                fut.set_result(seq)
        return
    for fut in futs:
        if fut is not None and not fut.done():
            exc = JournalWriteError(str(error))
            exc.__cause__ = error.__cause__
            fut.set_exception(exc)


def _insert_events(conn: sqlite3.Connection, rows: list[tuple[int, int, str, bytes, int]]) -> None:
    """Insert `rows` (in seq order) in blocks of INSERT_EVENT_BLOCK, the rest one by one."""
    whole = len(rows) - len(rows) % INSERT_EVENT_BLOCK
    chain = itertools.chain.from_iterable
    for start in range(0, whole, INSERT_EVENT_BLOCK):
        conn.execute(INSERT_EVENTS, list(chain(rows[start : start + INSERT_EVENT_BLOCK])))
    if whole < len(rows):
        conn.executemany(INSERT_EVENT, rows[whole:])


def _fds_on(path: Path) -> set[int]:
    """This process's open file descriptors on the file at `path`."""
    try:
        target = path.stat()
        names = os.listdir("/proc/self/fd")
    except OSError:
        return set()  # no /proc: the checkpointer flushes under the lock instead
    fds = set()
    for name in names:
        with contextlib.suppress(OSError):
            st = os.stat(int(name))
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                fds.add(int(name))
    return fds


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
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
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


def _connect_rw(path: Path) -> sqlite3.Connection:
    """A write connection to an existing file; mode=rw, so SQLite never creates one."""
    try:
        return sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.DatabaseError as exc:
        raise classify_sqlite_error(exc, path) from exc


def _create(path: Path) -> None:
    """Create a marked, empty journal at `path`, atomically.

    Built beside it under another name and renamed into place, so that a crash
    half-way leaves no file at `path` (which would be refused as not a journal)
    but a leftover `.new` file that the next creation replaces. The caller holds
    the writer lock, so no one else creates or opens the journal meanwhile.
    """
    draft = path.with_name(f"{path.name}.new")
    for leftover in (draft, *(Path(f"{draft}{s}") for s in ("-wal", "-shm", "-journal"))):
        leftover.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(draft, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            _write_schema(conn, stamp=True)
        # Closing the last connection checkpointed and removed the WAL: the draft
        # is one self-contained file. Make it and its name durable before use.
        fd = os.open(draft, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(draft, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except sqlite3.DatabaseError as exc:
        raise classify_sqlite_error(exc, draft) from exc
    except OSError as exc:
        raise JournalError(f"cannot create journal {path}: {exc}") from exc


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN ... COMMIT around the block; on any exception a ROLLBACK (whose own failure
    is not allowed to hide the first one) and the exception goes on."""
    conn.execute("BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _write_schema(conn: sqlite3.Connection, *, stamp: bool) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        if stamp:
            # Transactional like the tables: a file has the mark only with its schema.
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _ensure_schema(conn: sqlite3.Connection, path: Path, *, stamp: bool) -> None:
    _write_schema(conn, stamp=stamp)
    check_schema_version(conn.execute(SELECT_SCHEMA_VERSION).fetchone(), path)
    columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(events)"))
    if columns != EVENT_COLUMNS:
        raise JournalSchemaError(f"{path}: table events has columns {columns}, not a journal")
