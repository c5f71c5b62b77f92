"""Durable, append-only event journal on SQLite (WAL mode) with group commit.

The package: `format` (the file format, shared with the batch reader in
`assets.resources.journal`), `reader` (`JournalReader`), `recovery`
(tail verification on open), `writer` (`Journal`), `errors`. Import the
public names from here.

Every state change of the trading core is appended here before the response is
sent; start-up replays it (from the latest snapshot) to rebuild state.

Ordering and acknowledgement
----------------------------
`Journal.append` runs on the event-loop thread. It assigns the next sequence
number (global, starting at 1, contiguous) and encodes the event; the row is
then committed with everything appended alongside it in one transaction (one
`executemany`, group commit):

- `Durability.PROCESS`: on the loop thread, at the end of the loop iteration
  (the first append of an iteration schedules the commit with `call_soon`,
  so every append made by the callbacks already queued shares it). Such a
  commit is a `write(2)` into the page cache, about as cheap as the hand-off
  to a thread and back that it replaces. While the writer thread runs a
  transaction of its own (a snapshot chunk, a cleanup), or the checkpointer
  thread completes a checkpoint (1-3 ms, each time the WAL has grown past
  64 MB, so that the next commit writes the WAL from its start again and the
  WAL stays bounded under load), the commit waits for it up to a couple of
  milliseconds; if the connection is still busy after that, the commit runs
  again at the next loop iteration, with the rows appended meanwhile, so seqs
  commit in order. `flush()` and `write_snapshot()` block the loop until that
  transaction ends, then commit the pending rows first. The writer's
  background work waits for a loop commit that is waiting.
- `Durability.FSYNC`: on one dedicated writer thread, so that an fsync never
  blocks the loop; appends that arrive while a commit is in progress share
  the next commit.

Snapshots are always written by the writer thread. One larger than
`format.SNAPSHOT_CHUNK_BYTES` is stored a chunk per transaction, each chunk
zlib-compressed on the writer thread, the events appended meanwhile committing
between two chunks (by the loop, or in `FSYNC` by the writer), and becomes visible
only when its completion marker commits; a crash before that leaves the previous
snapshot the newest (see `format`). The future returned by
`append` resolves to the seq only after the transaction holding the row has
committed: an event is *acknowledged* when its future has resolved. An event
whose future has not resolved may or may not survive a crash, but never
partially: a transaction is all or nothing. `append_unawaited` queues an event the
same way with no future (for events nobody waits on); it is committed in the same
order and transactions, and a failed commit fails the journal (`Journal.failure`).

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

A journal is created only where no file exists: built under another name with
SQLite's `application_id` set to `format.APPLICATION_ID` and renamed into
place. An existing file that is empty (zero bytes), is not SQLite, or is a
database without that mark is refused (`JournalCorruptError`,
`JournalSchemaError`) and left untouched; the one exception is an unmarked
file that has the journal's tables, which older versions wrote: it is read as
a journal and the next writer stamps it.

A journal file has one writer at a time (an exclusive lock on `<path>.lock`);
any number of `JournalReader`s, in this or other processes, may read it while
it is written.
"""

from realtime.journal.errors import (
    JournalClosedError,
    JournalCorruptError,
    JournalDecodeError,
    JournalError,
    JournalLockedError,
    JournalNotFoundError,
    JournalSchemaError,
    JournalUsageError,
    JournalWriteError,
)
from realtime.journal.format import EVENT_CRC_PREFIX, EVENT_TYPES, SCHEMA_VERSION, event_crc
from realtime.journal.reader import JournalReader
from realtime.journal.recovery import RecoveryReport
from realtime.journal.writer import (
    DEFAULT_SNAPSHOTS_KEPT,
    DEFAULT_TAIL_CHECK_ROWS,
    Durability,
    Journal,
    JournalSettings,
)

__all__ = [
    "DEFAULT_SNAPSHOTS_KEPT",
    "DEFAULT_TAIL_CHECK_ROWS",
    "EVENT_CRC_PREFIX",
    "EVENT_TYPES",
    "SCHEMA_VERSION",
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
    "event_crc",
]
