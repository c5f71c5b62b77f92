"""A process killed with SIGKILL mid-stream loses no acknowledged order or fill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from realtime.domain import Order
from realtime.engine import rebuild_state
from realtime.events import OrderFilled
from realtime.journal import Journal
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
