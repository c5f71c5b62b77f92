"""A process killed with SIGKILL mid-stream loses no acknowledged order or fill."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from realtime.domain import Order
from realtime.engine import rebuild_state
from realtime.events import OrderFilled
from realtime.journal import Journal
from realtime.state import EngineState
from tests.realtime import snapshot_crash_child
from tests.realtime.harness import INSTRUMENTS, make_limits

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sigkill_mid_stream_when_restarted_then_every_acknowledged_order_and_fill_survives(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.realtime.crash_child", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    acked: dict[str, Order] = {}
    fills: list[OrderFilled] = []
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "READY"
        for line in child.stdout:
            tag, _, payload = line.partition(" ")
            if tag == "ACK":
                order = msgspec.json.decode(payload, type=Order)
                acked[order.order_id] = order
            elif tag == "FILL":
                fills.append(msgspec.json.decode(payload, type=OrderFilled))
            if len(acked) >= 1_500:
                break
        child.send_signal(signal.SIGKILL)  # mid-stream: the child is still submitting
    finally:
        child.kill()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert fills, "the child should have seen some fills"

    journal = Journal.open(path)
    try:
        state = rebuild_state(journal, INSTRUMENTS, make_limits())
        assert journal.latest_snapshot() is not None  # restart used a snapshot
    finally:
        journal.close()

    for order_id, seen in acked.items():
        recovered = state.orders[order_id]
        assert (recovered.client_order_id, recovered.quantity, recovered.limit_price) == (
            seen.client_order_id,
            seen.quantity,
            seen.limit_price,
        )
        # The venue may have moved an open order on after its ack; a final status never changes.
        if seen.status.is_terminal:
            assert recovered.status is seen.status
        assert recovered.filled_quantity >= seen.filled_quantity
    client_ids = [o.client_order_id for o in state.orders.values()]
    assert len(client_ids) == len(set(client_ids)), "no order appears twice"

    book = state.accounts["alice"]
    recovered_fills = {f.fill_id: f for f in book.fills}
    for fill in fills:
        kept = recovered_fills[fill.fill_id]
        assert (kept.order_id, kept.quantity, kept.price) == (
            fill.order_id,
            fill.quantity,
            fill.price,
        )
    for symbol, symbol_book in book.symbols.items():
        signed = sum(f.side.sign * f.quantity for f in book.fills if f.symbol == symbol)
        assert symbol_book.position.quantity == signed


def test_sigkill_while_storing_a_snapshot_when_restarted_then_previous_snapshot_plus_events(
    tmp_path: Path,
) -> None:
    """A crash half-way through a chunked snapshot: the partial one is never loaded;
    recovery starts from the previous complete snapshot and replays the events after it."""
    path = tmp_path / "journal.db"
    child = subprocess.run(
        [sys.executable, "-m", "tests.realtime.snapshot_crash_child", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    lines = dict(line.split(" ", 1) for line in child.stdout.splitlines())
    snapshot_seq, last_seq = int(lines["SNAPSHOT"]), int(lines["EVENTS"])
    assert "NOT" not in lines
    with contextlib.closing(sqlite3.connect(path)) as db:
        # What the crash left: snapshot B's first chunks, no marker for them.
        partial = db.execute(
            "SELECT count(*) FROM snapshot_chunks WHERE seq NOT IN (SELECT seq FROM snapshots)"
        ).fetchone()[0]
        assert partial == 2
        assert db.execute("SELECT seq FROM snapshots").fetchall() == [(snapshot_seq,)]

    journal = Journal.open(path)
    try:
        assert "deleted 2 chunk(s)" in journal.recovery.detail
        assert journal.recovery.last_seq == last_seq
        latest = journal.latest_snapshot()
        assert latest is not None and latest[0] == snapshot_seq
        limits = make_limits()
        recovered = rebuild_state(journal, INSTRUMENTS, limits)
        replayed = EngineState(INSTRUMENTS, limits)
        for seq, _, event in journal.read():
            replayed.apply(event, seq)
    finally:
        journal.close()
    assert recovered.last_seq == last_seq
    assert len(recovered.orders) == snapshot_crash_child.ORDERS + snapshot_crash_child.MORE
    assert recovered.snapshot() == replayed.snapshot()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM snapshot_chunks").fetchone()[0] > 2  # A's
        assert (
            db.execute(
                "SELECT count(*) FROM snapshot_chunks WHERE seq NOT IN (SELECT seq FROM snapshots)"
            ).fetchone()[0]
            == 0
        )
