"""The event journal on real SQLite files: ordering, group commit, recovery, snapshots."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from realtime import events as ev
from realtime.domain import OrderRequest, OrderType, Side, TimeInForce, TradingState
from realtime.journal import (
    EVENT_TYPES,
    Durability,
    Journal,
    JournalClosedError,
    JournalCorruptError,
    JournalLockedError,
    JournalNotFoundError,
    JournalReader,
    JournalSchemaError,
    JournalUsageError,
    JournalWriteError,
)
from realtime.journal import writer as writer_module
from realtime.journal.format import (
    APPLICATION_ID,
    INSERT_EVENT_BLOCK,
    INSERT_SNAPSHOT,
    INSERT_SNAPSHOT_CHUNK,
    SNAPSHOT_CHUNK_BYTES,
    chunk_crc,
    chunked_marker,
    event_crc,
    snapshot_crc,
    with_event_crcs,
)

REQUEST = OrderRequest(
    client_order_id="c-1",
    symbol="AAPL",
    side=Side.BUY,
    quantity=100,
    order_type=OrderType.LIMIT,
    limit_price=187.25,
    time_in_force=TimeInForce.GTC,
)


def one_of_each() -> list[ev.AnyEvent]:
    return [
        ev.OrderAccepted(
            ts_ns=1, order_id="o-1", account="acc", request=REQUEST, reference_price=187.2
        ),
        ev.OrderRejected(
            ts_ns=2, order_id="o-2", account="acc", request=REQUEST, reason="LIMIT", detail="x"
        ),
        ev.OrderAcknowledged(ts_ns=3, order_id="o-1"),
        ev.VenueRejected(ts_ns=4, order_id="o-3", reason="HALTED"),
        ev.OrderFilled(
            ts_ns=5,
            order_id="o-1",
            fill_id="f-1",
            account="acc",
            symbol="AAPL",
            side=Side.BUY,
            quantity=40,
            price=187.25,
            liquidity="TAKER",
        ),
        ev.CancelRequested(ts_ns=6, order_id="o-1"),
        ev.OrderCanceled(ts_ns=7, order_id="o-1", reason="USER"),
        ev.CancelRejected(ts_ns=8, order_id="o-4", reason="UNKNOWN_ORDER"),
        ev.ReplaceRequested(ts_ns=9, order_id="o-5", quantity=10, limit_price=None),
        ev.OrderReplaced(ts_ns=10, order_id="o-5", quantity=10, limit_price=99.5),
        ev.ReplaceRejected(ts_ns=11, order_id="o-6", reason="TOO_LATE"),
        ev.OrderExpired(ts_ns=12, order_id="o-7"),
        ev.TradingStateChanged(
            ts_ns=13, account=None, state=TradingState.HALTED, actor="admin", reason="drill"
        ),
        ev.RiskLimitsChanged(
            ts_ns=14, digest="ab" * 32, source="config/limits.json", actor="ops", limits_json="{}"
        ),
        ev.PriceSampled(ts_ns=15, symbol="AAPL", bid=187.2, ask=187.3, bid_size=5, ask_size=7),
        ev.TradePrinted(ts_ns=16, symbol="AAPL", price=187.26, size=300),
        ev.ReplaceRiskRejected(
            ts_ns=17,
            order_id="o-8",
            quantity=900,
            limit_price=99.0,
            reason="MAX_ORDER_QUANTITY",
            detail="quantity 900 exceeds the maximum 500",
        ),
        ev.DuplicateOrderRejected(
            ts_ns=18,
            order_id="o-1",
            account="acc",
            request=REQUEST,
            reason="DUPLICATE_CLIENT_ORDER_ID",
            detail="client_order_id 'c-1' was already used for a different order",
        ),
        ev.FeatureLimitsChanged(
            ts_ns=19,
            scales={
                "AAPL": ev.FeatureScale(
                    collar_scale=2.0,
                    notional_scale=0.5,
                    reason="SCALED",
                    volatility=0.6,
                    feature_ts_ns=10,
                )
            },
            source="risk_features_v1",
        ),
    ]


def ack(i: int) -> ev.OrderAcknowledged:
    return ev.OrderAcknowledged(ts_ns=1_000 + i, order_id=f"o-{i}")


def seqs_of(journal: Journal | JournalReader) -> list[int]:
    return [seq for seq, _, _ in journal.read()]


async def append_all(journal: Journal, events: list[ev.OrderAcknowledged]) -> list[int]:
    return list(await asyncio.gather(*(journal.append(e) for e in events)))


@contextlib.contextmanager
def raw_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain SQLite connection, as an operator (or a disk fault) would change the file."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


# --- ordering and round trip -------------------------------------------------------


def test_append_then_read_round_trips_every_event_type(tmp_path: Path) -> None:
    originals = one_of_each()
    assert {type(e).__name__ for e in originals} == EVENT_TYPES
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> list[int]:
        seqs = [await journal.append(e) for e in originals]
        await journal.aclose()
        return seqs

    assert asyncio.run(main()) == list(range(1, len(originals) + 1))
    reader = Journal.open_reader(tmp_path / "j.db")
    assert list(reader.read()) == [(i + 1, e.ts_ns, e) for i, e in enumerate(originals)]
    assert [(s, t, ty) for s, t, ty, _ in reader.read_raw()] == [
        (i + 1, e.ts_ns, type(e).__name__) for i, e in enumerate(originals)
    ]


def test_append_when_reopened_then_seqs_continue_contiguously(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    assert journal.recovery.last_seq == 0
    assert asyncio.run(append_all(journal, [ack(i) for i in range(5)])) == [1, 2, 3, 4, 5]
    journal.close()

    journal = Journal.open(path)
    assert (journal.recovery.last_seq, journal.last_seq, journal.committed_seq) == (5, 5, 5)
    assert journal.append_many_sync([ack(i) for i in range(5, 12)], batch_size=3) == 12
    journal.close()

    journal = Journal.open(path)

    async def more() -> list[int]:
        seqs = await append_all(journal, [ack(i) for i in range(12, 15)])
        await journal.aclose()
        return seqs

    assert asyncio.run(more()) == [13, 14, 15]
    assert seqs_of(JournalReader(path)) == list(range(1, 16))


def test_append_when_concurrent_callers_then_share_commits_and_seqs_are_contiguous(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> list[int]:
        async def submit(i: int) -> int:
            return await journal.append(ack(i))

        seqs = await asyncio.gather(*(submit(i) for i in range(1000)))
        await journal.aclose()
        return list(seqs)

    seqs = asyncio.run(main())
    assert sorted(seqs) == list(range(1, 1001))
    assert journal.commits < 1000
    assert journal.committed_seq == journal.last_seq == 1000
    # Seq order is append order: task i appended the i-th event.
    events = {seq: e for seq, _, e in JournalReader(tmp_path / "j.db").read()}
    assert [events[s] for s in seqs] == [ack(i) for i in range(1000)]


def test_append_when_process_durability_then_one_loop_iteration_is_one_commit_on_the_loop(
    tmp_path: Path,
) -> None:
    """PROCESS commits at the end of the loop iteration on the loop thread: appends made
    in one iteration share one transaction, and each await is one commit, no thread hop."""
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> tuple[int, int, list[int]]:
        burst = [journal.append(ack(i)) for i in range(100)]
        seqs = list(await asyncio.gather(*burst))
        after_burst = journal.commits
        seqs.extend([await journal.append(ack(i)) for i in range(100, 110)])  # one by one
        await journal.aclose()
        return after_burst, journal.commits, seqs

    after_burst, commits, seqs = asyncio.run(main())
    assert after_burst == 1
    assert commits == 11
    assert seqs == list(range(1, 111))
    assert seqs_of(JournalReader(tmp_path / "j.db")) == list(range(1, 111))


@pytest.mark.parametrize("durability", list(Durability))
def test_append_when_writer_thread_holds_the_connection_then_rows_queue_behind_it_in_order(
    tmp_path: Path, durability: Durability
) -> None:
    """While the writer thread runs a transaction (a snapshot), the loop waits for the
    connection at most a couple of milliseconds per iteration: its rows commit after the
    writer's, and seqs still commit in order."""
    journal = Journal.open(tmp_path / "j.db", durability=durability)

    async def main() -> tuple[int, list[int]]:
        first = [journal.append(ack(i)) for i in range(5)]
        await asyncio.gather(*first)
        journal._conn_lock.acquire()  # as the writer thread does for a long snapshot
        try:
            held = [journal.append(ack(i)) for i in range(5, 10)]
            await asyncio.sleep(0)  # the loop iteration ends: its commit tries, then moves on
            await asyncio.sleep(0)
            committed_while_held = journal.committed_seq
        finally:
            journal._conn_lock.release()
        later = [journal.append(ack(i)) for i in range(10, 15)]
        seqs = list(await asyncio.gather(*first, *held, *later))
        await journal.aclose()
        return committed_while_held, seqs

    committed_while_held, seqs = asyncio.run(main())
    assert committed_while_held == 5
    assert seqs == list(range(1, 16))
    events = [e for _, _, e in JournalReader(tmp_path / "j.db").read()]
    assert events == [ack(i) for i in range(15)]


def test_append_when_writer_thread_holds_the_connection_then_the_loop_commits_the_rows_itself(
    tmp_path: Path,
) -> None:
    """PROCESS: rows that find the connection busy for longer than the loop's short wait stay
    on the loop and commit there once it is free. Handed to the writer thread instead, they
    waited for that thread to win the GIL back from the loop, which a loop releasing and
    retaking the GIL every millisecond (a snapshot being built) did not let it do: submits
    of 0.7-0.9 s in `bench.engine_submit --snapshot`."""
    journal = Journal.open(tmp_path / "j.db", durability=Durability.PROCESS)
    inserted_on: set[int] = set()

    def trace(statement: str) -> None:
        if statement.startswith("INSERT INTO events"):
            inserted_on.add(threading.get_ident())

    async def main() -> list[int]:
        await journal.append(ack(0))
        journal._conn.set_trace_callback(trace)
        journal._conn_lock.acquire()  # as the writer thread does while it stores a chunk
        try:
            held = [journal.append(ack(i)) for i in range(1, 6)]
            for _ in range(3):  # iterations go on: each tries the connection and moves on
                await asyncio.sleep(0)
            assert journal.committed_seq == 1
        finally:
            journal._conn_lock.release()
        seqs = list(await asyncio.gather(*held))
        await journal.aclose()
        return seqs

    seqs = asyncio.run(main())
    assert seqs == [2, 3, 4, 5, 6]
    assert inserted_on == {threading.get_ident()}  # the loop's thread, never the writer's
    assert [e for _, _, e in JournalReader(tmp_path / "j.db").read()] == [ack(i) for i in range(6)]


def test_orphan_chunk_delete_when_a_loop_commit_waits_then_the_loop_commits_first(
    tmp_path: Path,
) -> None:
    """The writer's background deletes do not take the connection from a loop commit that
    is waiting for it: a lock goes to whichever thread asks first once it is free, and a
    run of deletes kept the loop's rows out for 40-45 ms after each pruned snapshot."""
    journal = Journal.open(tmp_path / "j.db", durability=Durability.PROCESS)
    statements: list[str] = []

    def trace(statement: str) -> None:
        if statement.startswith(("INSERT INTO events", "DELETE FROM snapshot_chunks")):
            statements.append(statement.split("(")[0].strip())

    async def main() -> None:
        await journal.append(ack(0))
        journal._conn.set_trace_callback(trace)
        journal._conn_lock.acquire()  # as the writer thread does while it stores a chunk
        try:
            held = [journal.append(ack(i)) for i in range(1, 4)]
            await asyncio.sleep(0)  # the loop's commit finds the connection busy
            await asyncio.sleep(0)
            deleter = threading.Thread(target=journal._delete_orphan_chunks)
            deleter.start()  # as the writer does after a snapshot: asks for the connection
        finally:
            journal._conn_lock.release()
        await asyncio.gather(*held)
        deleter.join()
        await journal.aclose()

    asyncio.run(main())
    assert statements[0].startswith("INSERT INTO events")
    assert statements[-1].startswith("DELETE FROM snapshot_chunks")


class _WriterBusyLock:
    """The write connection's lock as the loop sees it while the writer thread is in a
    transaction: a try (non-blocking) fails, and a timed wait fails while `stalled`
    (a slow disk) without taking any time; an untimed wait gets the lock. Records the
    loop's waiting flag at each wait, and counts the timed ones."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.real = threading.Lock()
        self.stalled = False
        self.timed_waits = 0
        self.waiting_at_wait: list[bool] = []

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not blocking:
            return False
        self.waiting_at_wait.append(self.journal._loop_waiting)
        if timeout >= 0:
            self.timed_waits += 1
            if self.stalled:
                return False
        return self.real.acquire()

    def release(self) -> None:
        self.real.release()

    def __enter__(self) -> bool:
        return self.real.acquire()

    def __exit__(self, *exc: object) -> None:
        self.real.release()


def test_flush_when_writer_is_in_a_transaction_then_its_background_work_waits_for_the_loop(
    tmp_path: Path,
) -> None:
    """A flush blocks the loop until the writer's transaction ends, so the writer's
    background deletes must give way to it from the start of that wait, as they do to a
    scheduled commit: otherwise a run of deletes after a pruned snapshot held the loop
    for 16-30 ms on a flush (and flush runs on the submit path, for a retried order)."""
    journal = Journal.open(tmp_path / "j.db", durability=Durability.PROCESS)

    async def main() -> None:
        await journal.append(ack(0))
        busy = _WriterBusyLock(journal)
        journal._conn_lock = busy  # type: ignore[assignment]
        held = journal.append(ack(1))
        await journal.flush()
        assert busy.waiting_at_wait == [True]  # the flag was up before the loop blocked
        assert journal._loop_turn.is_set() and not journal._loop_waiting  # and handed back
        assert await held == 2
        await journal.aclose()

    asyncio.run(main())


def test_commit_when_flushed_while_a_scheduled_commit_is_queued_then_one_retry_per_iteration(
    tmp_path: Path,
) -> None:
    """A flush that commits the rows of a scheduled commit still queued leaves that one to
    commit what comes next: a second chain of retries would double the loop's waits for a
    stalled writer (a couple of milliseconds each, every iteration, per chain)."""
    journal = Journal.open(tmp_path / "j.db", durability=Durability.PROCESS)

    async def main() -> list[int]:
        await journal.append(ack(0))
        busy = _WriterBusyLock(journal)
        journal._conn_lock = busy  # type: ignore[assignment]
        first = journal.append(ack(1))  # schedules the iteration's commit
        journal._commit_on_loop(wait=True)  # what a flush does first: commits ack(1)
        second = journal.append(ack(2))  # must join the commit already queued
        busy.stalled = True
        busy.timed_waits = 0
        for _ in range(4):
            await asyncio.sleep(0)
        retries = busy.timed_waits
        busy.stalled = False
        seqs = [await first, await second]
        await journal.aclose()
        assert retries <= 4, retries  # one chain: a try per iteration (two chains: 8)
        return seqs

    assert asyncio.run(main()) == [2, 3]
    assert [e for _, _, e in JournalReader(tmp_path / "j.db").read()] == [ack(i) for i in range(3)]


class _CommitsNeverPause(sqlite3.Connection):
    """The checkpointer's connection under a load that never pauses: every checkpoint pass
    the write connection is free for runs while a commit is in progress (its rows written,
    its COMMIT not yet run), as in `bench.engine_submit --snapshot`, where commits are a
    few ms apart and a pass takes longer. That commit began before the pass had copied
    every frame, so SQLite appends it to the WAL instead of restarting the WAL."""

    journal: Journal
    batch: list[ev.OrderAcknowledged]

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if not sql.startswith("PRAGMA wal_checkpoint") or self.journal._conn_lock.locked():
            return super().execute(sql, parameters)
        passes: list[sqlite3.Cursor] = []

        def before_commit(statement: str) -> None:
            if statement == "COMMIT":
                passes.append(super(_CommitsNeverPause, self).execute(sql, parameters))

        self.journal._conn.set_trace_callback(before_commit)
        try:
            self.journal.append_many_sync(self.batch)
        finally:
            self.journal._conn.set_trace_callback(None)
        assert len(passes) == 1, "the pass did not run inside the commit"
        return passes[0]


def _run_checkpointer_under_load(path: Path, restart_frames: int, rounds: int) -> tuple[int, int]:
    """`rounds` checkpointer steps under `_CommitsNeverPause`; return how many times the WAL
    was restarted (its header's checkpoint sequence number) and the WAL file's size."""
    journal = Journal.open(path)
    journal._conn.execute("PRAGMA wal_autocheckpoint=0")  # as once the checkpointer runs
    conn = sqlite3.connect(path, factory=_CommitsNeverPause, isolation_level=None)
    conn.journal = journal
    conn.batch = [ack(i) for i in range(200)]
    wal = Path(f"{path}-wal")
    db_fd = min(writer_module._fds_on(path))  # flushed before the pass under the lock
    try:
        journal.append_many_sync(conn.batch)
        first = struct.unpack(">I", wal.read_bytes()[12:16])[0]
        for _ in range(rounds):
            journal._checkpoint_step(conn, restart_frames, db_fd)
        last = struct.unpack(">I", wal.read_bytes()[12:16])[0]
        size = wal.stat().st_size
    finally:
        conn.close()
        journal.close()
    assert seqs_of(JournalReader(path)) == list(range(1, 1 + 200 * (1 + rounds)))
    return last - first, size


def test_checkpointer_when_commits_never_pause_then_the_wal_restarts_and_stays_bounded(
    tmp_path: Path,
) -> None:
    """SQLite restarts the WAL only when a commit begins with every frame checkpointed. With
    a commit in progress during every pass, the PASSIVE pass alone never gets there (first
    run: the threshold out of reach) and the WAL grows with every commit; past the
    threshold, the pass completed with the write connection held lets the next commit
    restart it."""
    frame = 4096 + 24  # a page and its header
    restarts, size = _run_checkpointer_under_load(tmp_path / "a.db", 10**9, rounds=60)
    assert restarts == 0
    assert size > 300 * frame
    restarts, size = _run_checkpointer_under_load(tmp_path / "b.db", 100, rounds=200)
    assert restarts >= 20
    assert size <= 32 + 150 * frame  # the threshold, and the commits until it is checked


def test_close_when_loop_ended_before_its_commit_ran_then_the_appends_are_committed(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")
    loop = asyncio.new_event_loop()

    async def append_and_leave() -> None:
        for i in range(3):
            journal.append(ack(i))

    # run_until_complete stops right after the coroutine: the scheduled commit never runs.
    loop.run_until_complete(append_and_leave())
    loop.close()
    assert asyncio.run(append_all(journal, [ack(3)])) == [4]  # rebinding commits them first
    journal.close()
    assert seqs_of(JournalReader(tmp_path / "j.db")) == [1, 2, 3, 4]


def test_flush_when_appends_not_awaited_then_waits_until_all_are_committed(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> tuple[int, int, list[asyncio.Future[int]]]:
        futures = [journal.append(ack(i)) for i in range(300)]
        await journal.flush()
        committed = journal.committed_seq
        readable = len(list(journal.read()))
        await journal.aclose()
        return committed, readable, futures

    committed, readable, futures = asyncio.run(main())
    assert (committed, readable) == (300, 300)
    assert [f.result() for f in futures] == list(range(1, 301))


def test_close_when_no_loop_runs_then_commits_appends_that_were_never_awaited(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")

    async def fire_and_forget() -> None:
        for i in range(50):
            journal.append(ack(i))

    asyncio.run(fire_and_forget())
    journal.close()
    journal.close()  # idempotent
    assert seqs_of(JournalReader(tmp_path / "j.db")) == list(range(1, 51))


def test_append_when_used_from_a_later_event_loop_then_rebinds_and_continues(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")
    assert asyncio.run(append_all(journal, [ack(1), ack(2)])) == [1, 2]
    assert asyncio.run(append_all(journal, [ack(3)])) == [3]
    journal.close()


def test_append_when_not_an_event_then_type_error_and_no_seq_is_consumed(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> int:
        with pytest.raises(TypeError):
            journal.append(REQUEST)  # type: ignore[arg-type]
        seq = await journal.append(ack(1))
        await journal.aclose()
        return seq

    assert asyncio.run(main()) == 1


# --- reading -----------------------------------------------------------------------


def test_read_when_after_seq_limit_and_types_then_filters_in_seq_order(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.db")
    kinds = len(one_of_each())
    journal.append_many_sync(one_of_each() * 3)  # each type at seqs k, k + kinds, k + 2 kinds
    total = 3 * kinds

    assert [s for s, _, _ in journal.read(after_seq=total - 5)] == list(range(total - 4, total + 1))
    assert [s for s, _, _ in journal.read(after_seq=10, limit=4)] == [11, 12, 13, 14]
    assert list(journal.read(after_seq=total)) == []
    assert list(journal.read(limit=0)) == []
    fill, price = 5, 15  # positions of OrderFilled and PriceSampled in one_of_each()
    market = list(journal.read(types={"OrderFilled", "PriceSampled"}))
    assert [(s, type(e).__name__) for s, _, e in market] == [
        (fill, "OrderFilled"),
        (price, "PriceSampled"),
        (fill + kinds, "OrderFilled"),
        (price + kinds, "PriceSampled"),
        (fill + 2 * kinds, "OrderFilled"),
        (price + 2 * kinds, "PriceSampled"),
    ]
    fills_after = journal.read(after_seq=fill, limit=2, types=["OrderFilled"])
    assert [s for s, _, _ in fills_after] == [fill + kinds, fill + 2 * kinds]
    assert list(journal.read(types=[])) == []
    with pytest.raises(ValueError, match="NoSuchEvent"):
        journal.read(types={"NoSuchEvent"})
    with pytest.raises(TypeError):
        journal.read(types="OrderFilled")
    journal.close()


def test_read_when_more_rows_than_one_chunk_then_pages_through_all_of_them(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")
    journal.append_many_sync(ack(i) for i in range(10_000))
    assert seqs_of(journal) == list(range(1, 10_001))
    assert [s for s, _, _, _ in journal.read_raw(after_seq=4000, limit=5000)] == list(
        range(4001, 9001)
    )
    journal.close()


def test_read_when_called_from_another_thread_during_appends_then_sees_a_contiguous_prefix(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> tuple[list[int], int]:
        await append_all(journal, [ack(i) for i in range(200)])
        pending = [journal.append(ack(i)) for i in range(200, 400)]
        seen = await asyncio.to_thread(seqs_of, journal)
        await asyncio.gather(*pending)
        await journal.aclose()
        return seen, len(pending)

    seen, _ = asyncio.run(main())
    assert seen == list(range(1, len(seen) + 1))
    assert 200 <= len(seen) <= 400


@pytest.mark.slow
def test_reader_when_in_another_process_then_reads_while_the_writer_holds_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    journal.append_many_sync(ack(i) for i in range(250))
    script = (
        "import sys; from realtime.journal import JournalReader; "
        "r = JournalReader(sys.argv[1]); "
        "print(sum(1 for _ in r.read()), r.last_seq)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.split() == ["250", "250"]
    journal.close()


_KILLED_WRITER = """
import asyncio, sys
from realtime.events import OrderAcknowledged
from realtime.journal import Journal

async def main() -> None:
    journal = Journal.open(sys.argv[1])
    i = 0
    while True:  # 64 appends in flight; print each acknowledged seq, then go on
        events = [OrderAcknowledged(ts_ns=k, order_id=str(k)) for k in range(i, i + 64)]
        batch = [journal.append(e) for e in events]
        i += 64
        for seq in await asyncio.gather(*batch):
            sys.stdout.write(f"{seq}\\n")
        sys.stdout.flush()

asyncio.run(main())
"""


@pytest.mark.slow
def test_append_when_writer_process_is_sigkilled_then_no_acknowledged_event_is_lost(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    acknowledged = 0
    for line in child.stdout:  # kill it mid-stream, while appends are in flight
        acknowledged = max(acknowledged, int(line))
        if acknowledged >= 3000:
            child.kill()
            break
    child.wait()
    acknowledged = max([acknowledged, *(int(x) for x in child.stdout.read().split())])
    child.stdout.close()

    journal = Journal.open(path)
    assert journal.recovery.last_seq >= acknowledged
    assert journal.recovery.quarantined == 0
    assert seqs_of(journal) == list(range(1, journal.last_seq + 1))
    journal.close()


def test_reader_when_no_file_then_raises_not_found_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(JournalNotFoundError) as info:
        JournalReader(tmp_path / "missing.db")
    assert info.value.code == "JOURNAL_NOT_FOUND"
    assert list(tmp_path.iterdir()) == []


# --- recovery ----------------------------------------------------------------------


def test_open_when_last_row_payload_is_corrupt_then_quarantines_it_and_resumes_after_last_good(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    journal.append_many_sync(ack(i) for i in range(10))
    journal.close()
    with raw_db(path) as db:
        (payload,) = db.execute("SELECT payload FROM events WHERE seq = 10").fetchone()
        db.execute("UPDATE events SET payload = ? WHERE seq = 10", (payload[:-3] + b"XX}",))

    journal = Journal.open(path)
    assert journal.recovery.last_seq == 9
    assert journal.recovery.quarantined == 1
    assert "seq 10..10" in journal.recovery.detail
    assert seqs_of(journal) == list(range(1, 10))
    assert asyncio.run(append_all(journal, [ack(99)])) == [10]
    journal.close()

    with raw_db(path) as db:
        quarantined = db.execute("SELECT seq, type, payload, reason FROM quarantine").fetchall()
    assert [(s, t) for s, t, _, _ in quarantined] == [(10, "OrderAcknowledged")]
    assert quarantined[0][2].endswith(b"XX}")
    assert "checksum mismatch" in quarantined[0][3]
    assert [e for _, _, e in JournalReader(path).read(after_seq=9)] == [ack(99)]


def test_open_when_tail_is_quarantined_then_snapshots_beyond_it_are_quarantined_too(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(6)])
        await journal.write_snapshot(4, b"state@4")
        await journal.write_snapshot(6, b"state@6")
        await journal.aclose()

    asyncio.run(main())
    with raw_db(path) as db:
        db.execute("UPDATE events SET crc = crc + 1 WHERE seq >= 5")

    journal = Journal.open(path)
    assert (journal.recovery.last_seq, journal.recovery.quarantined) == (4, 3)
    assert journal.latest_snapshot() == (4, b"state@4")
    journal.close()


def test_open_when_wal_is_truncated_mid_frame_then_recovers_to_last_committed_transaction(
    tmp_path: Path,
) -> None:
    """A crash image: db and -wal copied while the journal was open, the WAL torn."""
    live = tmp_path / "live" / "j.db"
    live.parent.mkdir()
    journal = Journal.open(live)

    async def write_two_groups() -> None:
        await append_all(journal, [ack(i) for i in range(100)])
        await journal.flush()
        await append_all(journal, [ack(i) for i in range(100, 200)])
        await journal.flush()  # the writer is idle: nothing is half written

    asyncio.run(write_two_groups())
    crash = tmp_path / "crash"
    crash.mkdir()
    shutil.copyfile(live, crash / "j.db")
    shutil.copyfile(f"{live}-wal", crash / "j.db-wal")
    journal.close()

    wal = (crash / "j.db-wal").read_bytes()
    (page_size,) = struct.unpack(">I", wal[8:12])
    assert len(wal) > 32 + 2 * (24 + page_size)  # header plus frames of both groups
    (crash / "j.db-wal").write_bytes(wal[: len(wal) - page_size // 2])

    journal = Journal.open(crash / "j.db")
    recovered = journal.recovery.last_seq
    assert 100 <= recovered < 200  # the torn last transaction is gone, earlier ones remain
    assert journal.recovery.quarantined == 0  # SQLite's WAL checksums dropped it whole
    assert seqs_of(journal) == list(range(1, recovered + 1))
    assert [e for _, _, e in journal.read()] == [ack(i) for i in range(recovered)]
    assert asyncio.run(append_all(journal, [ack(999)])) == [recovered + 1]
    journal.close()


def test_open_when_a_middle_row_is_corrupt_then_raises_corrupt_error_naming_the_seq(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    journal.append_many_sync(ack(i) for i in range(10))
    journal.close()
    with raw_db(path) as db:
        db.execute("UPDATE events SET payload = CAST('{}' AS BLOB) WHERE seq = 5")

    with pytest.raises(JournalCorruptError, match="seq 5") as info:
        Journal.open(path)
    assert (info.value.code, info.value.seq) == ("JOURNAL_CORRUPT", 5)
    with raw_db(path) as db:  # nothing was moved or deleted
        assert db.execute("SELECT count(*) FROM events").fetchone() == (10,)
        assert db.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_open_when_a_middle_row_is_missing_then_raises_corrupt_error(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    journal.append_many_sync(ack(i) for i in range(10))
    journal.close()
    with raw_db(path) as db:
        db.execute("DELETE FROM events WHERE seq = 4")

    with pytest.raises(JournalCorruptError, match=re.escape("4..4 are missing")):
        Journal.open(path)


def test_open_when_a_row_was_moved_to_another_seq_then_raises_corrupt_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    journal.append_many_sync(ack(i) for i in range(10))
    journal.close()
    with raw_db(path) as db:  # swap the bodies of rows 3 and 4, checksums included
        row3 = db.execute("SELECT payload, crc FROM events WHERE seq = 3").fetchone()
        row4 = db.execute("SELECT payload, crc FROM events WHERE seq = 4").fetchone()
        db.execute("UPDATE events SET payload = ?, crc = ? WHERE seq = 3", row4)
        db.execute("UPDATE events SET payload = ?, crc = ? WHERE seq = 4", row3)

    with pytest.raises(JournalCorruptError) as info:
        Journal.open(path)
    assert info.value.seq == 3


def test_read_when_a_row_beyond_the_verified_tail_is_corrupt_then_raises_corrupt_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    journal.append_many_sync(ack(i) for i in range(100))
    journal.close()
    with raw_db(path) as db:
        db.execute("UPDATE events SET ts_ns = ts_ns + 1 WHERE seq = 7")

    journal = Journal.open(path, tail_check_rows=10)  # seq 7 is outside the checked tail
    assert journal.recovery.quarantined == 0
    read = journal.read()
    assert [next(read)[0] for _ in range(6)] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(JournalCorruptError, match="seq 7") as info:
        next(read)
    assert info.value.seq == 7
    with pytest.raises(JournalCorruptError):
        list(journal.read_raw(after_seq=5))
    assert [s for s, _, _ in journal.read(after_seq=7, limit=3)] == [8, 9, 10]
    journal.close()


def test_open_when_file_is_not_a_database_then_raises_corrupt_error_and_leaves_it_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    garbage = b"this is not a SQLite database\n" * 200
    path.write_bytes(garbage)

    with pytest.raises(JournalCorruptError) as info:
        Journal.open(path)
    assert info.value.code == "JOURNAL_CORRUPT"
    assert "not a readable journal database" in str(info.value)
    with pytest.raises(JournalCorruptError):
        JournalReader(path)
    assert path.read_bytes() == garbage
    assert not Path(f"{path}-wal").exists()


def test_open_when_file_is_empty_then_raises_corrupt_error_and_leaves_it_empty(
    tmp_path: Path,
) -> None:
    """A zero-byte journal.db (a truncated file, a failed copy) was taken for a new journal."""
    path = tmp_path / "j.db"
    path.touch()

    with pytest.raises(JournalCorruptError) as info:
        Journal.open(path)
    assert "is empty (0 bytes)" in str(info.value)
    assert str(path) in str(info.value)
    with pytest.raises(JournalCorruptError, match="is empty"):
        JournalReader(path)
    assert path.stat().st_size == 0
    assert not Path(f"{path}-wal").exists()


def test_open_when_file_is_another_sqlite_database_then_raises_schema_error_and_leaves_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    with raw_db(path) as db:
        db.execute("CREATE TABLE users(name TEXT)")
        db.execute("INSERT INTO users VALUES ('ada')")
    before = path.read_bytes()

    with pytest.raises(JournalSchemaError) as info:
        Journal.open(path)
    assert info.value.code == "JOURNAL_SCHEMA"
    assert "not a tradepipe journal" in str(info.value)
    with pytest.raises(JournalSchemaError, match="not a tradepipe journal"):
        JournalReader(path)
    assert path.read_bytes() == before
    with raw_db(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert tables == {"users"}


def test_open_when_journal_tables_but_another_application_id_then_raises_schema_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    Journal.open(path).close()
    with raw_db(path) as db:
        db.execute("PRAGMA application_id=7")

    with pytest.raises(JournalSchemaError, match="another application"):
        Journal.open(path)
    with pytest.raises(JournalSchemaError, match="another application"):
        JournalReader(path)


def test_open_when_new_then_the_file_carries_the_journal_mark_and_no_draft_is_left(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    Path(f"{path}.new").write_bytes(b"a draft a crash left behind")
    Journal.open(path).close()

    with raw_db(path) as db:
        assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    assert not Path(f"{path}.new").exists()


def test_open_when_journal_predates_the_mark_then_accepts_it_and_stamps_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(3)])
        await journal.aclose()

    asyncio.run(main())
    with raw_db(path) as db:
        db.execute("PRAGMA application_id=0")  # as every journal before the mark

    assert seqs_of(JournalReader(path)) == [1, 2, 3]  # a reader reads it as it is
    with raw_db(path) as db:
        assert db.execute("PRAGMA application_id").fetchone() == (0,)
    reopened = Journal.open(path)
    assert reopened.recovery.last_seq == 3
    reopened.close()
    with raw_db(path) as db:
        assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)


def test_open_when_already_open_for_writing_then_raises_locked_error(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.db")
    with pytest.raises(JournalLockedError) as info:
        Journal.open(tmp_path / "j.db")
    assert info.value.code == "JOURNAL_LOCKED"
    journal.close()
    Journal.open(tmp_path / "j.db").close()


# --- snapshots -----------------------------------------------------------------------


def test_latest_snapshot_when_several_written_then_returns_newest_and_keeps_three(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    assert journal.latest_snapshot() is None

    async def main() -> None:
        for i in range(1, 6):
            await journal.append(ack(i))
            await journal.write_snapshot(i, f"state@{i}".encode())
        with pytest.raises(ValueError, match="outside"):
            journal.write_snapshot(6, b"future state")
        await journal.aclose()

    asyncio.run(main())
    reader = JournalReader(path)
    assert reader.latest_snapshot() == (5, b"state@5")
    with raw_db(path) as db:
        assert db.execute("SELECT seq FROM snapshots ORDER BY seq").fetchall() == [
            (3,),
            (4,),
            (5,),
        ]


def test_latest_snapshot_when_newest_is_corrupt_then_returns_the_previous_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(3)])
        await journal.write_snapshot(2, b"state@2")
        await journal.write_snapshot(3, b"state@3")
        await journal.aclose()

    asyncio.run(main())
    with raw_db(path) as db:
        db.execute("UPDATE snapshots SET payload = CAST('state@X' AS BLOB) WHERE seq = 3")

    journal = Journal.open(path)
    assert journal.latest_snapshot() == (2, b"state@2")
    journal.close()


def _big_pieces(tag: int, chunks: int) -> list[bytes]:
    """A payload of about `chunks` chunks, in pieces that do not align with chunks."""
    piece = bytes([tag]) * 100_003
    return [piece] * (chunks * SNAPSHOT_CHUNK_BYTES // len(piece) + 1)


def test_write_snapshot_when_larger_than_a_chunk_then_stored_in_chunks_and_read_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    first, second = _big_pieces(1, 3), _big_pieces(2, 5)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(4)])
        await journal.write_snapshot(2, first)
        await journal.write_snapshot(4, b"".join(second))  # one big buffer is cut too
        await journal.aclose()

    asyncio.run(main())
    reader = JournalReader(path)
    assert reader.latest_snapshot() == (4, b"".join(second))
    with raw_db(path) as db:
        parts = db.execute("SELECT seq, count(*) FROM snapshot_chunks GROUP BY seq").fetchall()
        assert parts == [(2, 4), (4, 6)]
        stored = [p for (p,) in db.execute("SELECT payload FROM snapshot_chunks")]
        # Each chunk is SNAPSHOT_CHUNK_BYTES of the payload (the last shorter), compressed.
        assert max(len(zlib.decompress(p)) for p in stored) == SNAPSHOT_CHUNK_BYTES
        assert max(len(p) for p in stored) < SNAPSHOT_CHUNK_BYTES
        # A chunk that fails its checksum: that snapshot is skipped for the previous one.
        db.execute("UPDATE snapshot_chunks SET payload = zeroblob(10) WHERE seq = 4 AND part = 3")
    assert reader.latest_snapshot() == (2, b"".join(first))
    with raw_db(path) as db:
        db.execute("DELETE FROM snapshot_chunks WHERE seq = 2 AND part = 1")  # one missing
    assert reader.latest_snapshot() is None


def _store_chunked_by_hand(
    path: Path, seq: int, chunks: list[bytes], total: int, *, compressed: bool
) -> None:
    """A chunked snapshot written as a writer of that format would have written it."""
    with raw_db(path) as db:
        db.execute("BEGIN")
        for part, chunk in enumerate(chunks):
            db.execute(INSERT_SNAPSHOT_CHUNK, (seq, part, chunk, chunk_crc(seq, part, chunk)))
        marker = chunked_marker(len(chunks), total, compressed=compressed)
        db.execute(INSERT_SNAPSHOT, (seq, 7, marker, snapshot_crc(seq, 7, marker)))
        db.execute("COMMIT")


def test_latest_snapshot_when_chunks_stored_uncompressed_then_still_read(
    tmp_path: Path,
) -> None:
    # Journals written on 2026-12-04 before chunk compression hold uncompressed chunks.
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    journal.append_many_sync([ack(i) for i in range(3)])
    journal.close()
    data = b"".join(_big_pieces(5, 2))
    chunks = [data[i : i + SNAPSHOT_CHUNK_BYTES] for i in range(0, len(data), SNAPSHOT_CHUNK_BYTES)]
    _store_chunked_by_hand(path, 3, chunks, len(data), compressed=False)
    assert JournalReader(path).latest_snapshot() == (3, data)


def test_latest_snapshot_when_a_compressed_chunk_does_not_inflate_then_previous_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(4)])
        await journal.write_snapshot(2, b"state@2")
        await journal.aclose()

    asyncio.run(main())
    # Checksums right, bytes not zlib: a writer bug, not a disk fault; never loaded.
    _store_chunked_by_hand(path, 4, [b"not zlib", b"either"], 14, compressed=True)
    assert JournalReader(path).latest_snapshot() == (2, b"state@2")


def test_write_snapshot_when_chunked_then_event_commits_do_not_wait_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal.open(tmp_path / "j.db")
    # The writer thread is held inside the snapshot (before its second chunk) until the
    # events below have committed: they must not need it to finish.
    second_chunk = threading.Event()
    events_committed = threading.Event()
    compress = writer_module.compress_chunk
    calls = 0

    def held_compress(data: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 2:
            second_chunk.set()
            assert events_committed.wait(10), "the events never committed"
        return compress(data)

    monkeypatch.setattr(writer_module, "compress_chunk", held_compress)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(2)])
        snapshot = journal.write_snapshot(2, _big_pieces(3, 64))  # 16 MiB, 64 chunks
        assert await asyncio.to_thread(second_chunk.wait, 10)
        for i in range(2, 12):
            await journal.append(ack(i))
        assert not snapshot.done()
        assert journal.committed_seq == 12
        events_committed.set()
        await snapshot
        await journal.aclose()

    asyncio.run(main())
    journal = Journal.open(tmp_path / "j.db")
    latest = journal.latest_snapshot()
    journal.close()
    assert latest is not None and latest[0] == 2 and len(latest[1]) > 64 * SNAPSHOT_CHUNK_BYTES


def test_write_snapshot_when_same_seq_rewritten_and_storing_fails_then_never_a_mix(
    tmp_path: Path,
) -> None:
    # A second chunked snapshot at a seq that already has one overwrites its chunks one
    # transaction at a time: if it stops half-way, the old marker must not be left
    # pointing at new and old chunks (each passes its checksum, the sizes match).
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    old, new = _big_pieces(1, 3), _big_pieces(2, 3)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(3)])
        await journal.write_snapshot(1, b"state@1")
        await journal.write_snapshot(2, old)
        with raw_db(path) as db:  # a fault from outside: the rewrite fails after part 0
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON snapshot_chunks "
                "WHEN NEW.part >= 1 BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        with pytest.raises(JournalWriteError, match="injected failure"):
            await journal.write_snapshot(2, new)
        await journal.aclose()

    asyncio.run(main())
    assert JournalReader(path).latest_snapshot() == (1, b"state@1")


def test_write_snapshot_when_kept_ones_pruned_then_their_chunks_are_deleted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path, snapshots_kept=1)

    async def main() -> None:
        await append_all(journal, [ack(i) for i in range(3)])
        for seq in (1, 2, 3):
            await journal.write_snapshot(seq, _big_pieces(seq, 2))
        await journal.aclose()

    asyncio.run(main())
    with raw_db(path) as db:
        assert db.execute("SELECT DISTINCT seq FROM snapshot_chunks").fetchall() == [(3,)]
    journal = Journal.open(path)
    assert journal.recovery.detail.endswith("clean")
    journal.close()


def test_write_snapshot_when_appended_in_the_same_batch_then_commits_with_its_events(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> tuple[int, tuple[int, bytes] | None]:
        futures = [journal.append(ack(i)) for i in range(10)]
        snapshot = journal.write_snapshot(10, b"state@10")
        await snapshot
        committed = journal.committed_seq
        latest = journal.latest_snapshot()
        await asyncio.gather(*futures)
        await journal.aclose()
        return committed, latest

    assert asyncio.run(main()) == (10, (10, b"state@10"))


# --- settings, failures and lifecycle ------------------------------------------------


def test_open_when_durability_fsync_then_synchronous_is_full(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "f.db", durability=Durability.FSYNC)
    assert journal.settings.synchronous == "FULL"
    assert journal.settings.journal_mode == "wal"
    journal.close()

    journal = Journal.open(tmp_path / "p.db")
    assert journal.settings.durability is Durability.PROCESS
    assert journal.settings.synchronous == "NORMAL"
    assert journal.settings.busy_timeout_ms > 0
    journal.close()
    with raw_db(tmp_path / "p.db") as db:  # WAL mode is persistent in the file
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_append_when_closed_then_every_write_and_read_raises_closed_error(
    tmp_path: Path,
) -> None:
    journal = Journal.open(tmp_path / "j.db")

    async def main() -> None:
        await journal.append(ack(1))
        await journal.aclose()
        await journal.aclose()  # idempotent
        with pytest.raises(JournalClosedError) as info:
            journal.append(ack(2))
        assert info.value.code == "JOURNAL_CLOSED"
        with pytest.raises(JournalClosedError):
            journal.write_snapshot(1, b"state")
        with pytest.raises(JournalClosedError):
            await journal.flush()

    asyncio.run(main())
    journal.close()  # idempotent after aclose
    with pytest.raises(JournalClosedError):
        journal.append_many_sync([ack(3)])
    with pytest.raises(JournalClosedError):
        journal.read()
    assert seqs_of(JournalReader(tmp_path / "j.db")) == [1]


def test_append_many_sync_when_writer_thread_runs_then_is_refused(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.db")
    journal.append_many_sync([ack(0)])

    async def main() -> None:
        await journal.append(ack(1))
        with pytest.raises(JournalUsageError) as info:
            journal.append_many_sync([ack(2)])
        assert info.value.code == "JOURNAL_MISUSE"

    asyncio.run(main())
    with pytest.raises(JournalUsageError):  # the writer still owns the connection
        journal.append_many_sync([ack(2)])
    journal.close()
    assert seqs_of(JournalReader(tmp_path / "j.db")) == [1, 2]


def test_append_when_commit_fails_then_futures_fail_and_the_journal_refuses_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)

    async def main() -> None:
        assert await append_all(journal, [ack(i) for i in range(3)]) == [1, 2, 3]
        with raw_db(path) as db:  # a fault injected from outside: every insert now aborts
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON events "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        failing = journal.append(ack(4))
        with pytest.raises(JournalWriteError, match="injected failure") as info:
            await failing
        assert info.value.code == "JOURNAL_WRITE_FAILED"
        with pytest.raises(JournalWriteError):
            journal.append(ack(5))
        with pytest.raises(JournalWriteError):
            await journal.flush()
        assert journal.committed_seq == 3
        await journal.aclose()

    asyncio.run(main())
    with raw_db(path) as db:
        db.execute("DROP TRIGGER refuse")
    journal = Journal.open(path)
    assert journal.recovery.last_seq == 3
    journal.close()


def test_with_event_crcs_when_rows_given_then_each_crc_is_event_crc() -> None:
    rows = [
        (seq, 1_000 + seq, type(event).__name__, ev.encode_event(event))
        for seq, event in enumerate(one_of_each(), 1)
    ]
    assert with_event_crcs(rows) == [(*row, event_crc(*row)) for row in rows]


def test_append_unawaited_when_its_commit_fails_then_the_journal_has_failed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.db"
    journal = Journal.open(path)

    async def main() -> None:
        journal.append_unawaited(ack(1))
        assert await journal.append(ack(2)) == 2  # in order, in the same transaction
        assert journal.failure is None
        with raw_db(path) as db:  # a fault injected from outside: every insert now aborts
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON events "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        journal.append_unawaited(ack(3))
        with pytest.raises(JournalWriteError, match="injected failure"):
            await journal.flush()
        assert isinstance(journal.failure, JournalWriteError)
        with pytest.raises(JournalWriteError):
            journal.append_unawaited(ack(4))
        assert journal.committed_seq == 2
        await journal.aclose()

    asyncio.run(main())
    assert seqs_of(JournalReader(path)) == [1, 2]


def test_append_when_a_group_commit_spans_blocks_then_every_row_is_stored_in_order(
    tmp_path: Path,
) -> None:
    """A group commit inserts INSERT_EVENT_BLOCK rows per statement, the rest one by one."""
    journal = Journal.open(tmp_path / "j.db")
    count = 2 * INSERT_EVENT_BLOCK + 5

    async def main() -> None:
        commits = journal.commits
        assert await append_all(journal, [ack(i) for i in range(count)]) == list(
            range(1, count + 1)
        )
        assert journal.commits == commits + 1  # one transaction for all of them
        await journal.aclose()

    asyncio.run(main())
    reader = JournalReader(tmp_path / "j.db")
    assert [(seq, e) for seq, _, e in reader.read()] == [(i + 1, ack(i)) for i in range(count)]


def test_append_when_a_block_of_a_group_commit_fails_then_the_whole_group_rolls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The second block fails: the first block's rows roll back with it, every future of
    the group fails, and the failure is logged where it happens."""
    path = tmp_path / "j.db"
    journal = Journal.open(path)
    count = 2 * INSERT_EVENT_BLOCK + 5

    async def main() -> None:
        assert await append_all(journal, [ack(0)]) == [1]
        with raw_db(path) as db:  # a row of the second block (seq 1 + 32 + 8) aborts
            db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON events "
                f"WHEN NEW.seq = {2 + INSERT_EVENT_BLOCK + 8} "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            )
        futures = [journal.append(ack(i)) for i in range(1, count + 1)]
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(r, JournalWriteError) for r in results)
        assert journal.committed_seq == 1
        await journal.aclose()

    with caplog.at_level("ERROR", logger="realtime.journal.writer"):
        asyncio.run(main())
    assert seqs_of(JournalReader(path)) == [1]
    assert [r.message for r in caplog.records if "injected failure" in r.getMessage()] != []
