"""Snapshots encoded a chunk at a time (realtime.snapshot_build) while the state moves on."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import Any

import msgspec
import pytest

from realtime.domain import OrderStatus, Side, TimeInForce
from realtime.engine import EngineConfig
from realtime.journal import JournalReader
from realtime.snapshot_build import SnapshotBuild
from realtime.snapshot_format import (
    MAGIC,
    SnapshotFormatError,
    StateSnapshot,
    decode_snapshot,
    encode_snapshot,
)
from tests.realtime.harness import limit as limit_order
from tests.realtime.harness import make_limits, open_engine
from tests.realtime.test_engine import snapshot_view, trade_a_while

QUIET = EngineConfig(
    auto_pump=False, price_sample_interval_ns=0, snapshot_every=10**9, snapshot_on_close=False
)


def test_build_when_state_unchanged_then_payload_is_the_one_shot_encoding(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db", config=QUIET) as h:
            await trade_a_while(h)
            state = h.engine.state
            build = SnapshotBuild(state)
            steps = 0
            while not build.step(1):
                steps += 1
            assert steps >= 1  # it did take more than one step
            payload = b"".join(build.pieces())
            assert payload == encode_snapshot(state.snapshot())
            assert decode_snapshot(payload).seq == state.last_seq

    asyncio.run(scenario())


def test_build_when_orders_change_mid_build_then_payload_is_the_state_at_capture(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        roomy = make_limits(order_burst=5_000, max_orders_per_second=10_000.0)
        async with open_engine(tmp_path / "j.db", config=QUIET, limits=roomy) as h:
            h.quote("AAPL", 99.99, 100.01)
            for i in range(1_200):  # more than one step's worth
                await h.submit(limit_order(f"c{i}", Side.BUY, 10, 99.00, tif=TimeInForce.GTC))
            await h.settle()
            state = h.engine.state
            expected = encode_snapshot(state.snapshot())
            build = SnapshotBuild(state)
            state.snapshot_build = build
            build.step(1)
            # Changes after the capture: a cancel of an order at the end (not yet
            # encoded), a fill, and a new order; none may reach this snapshot.
            await h.engine.cancel("alice", "O1200")
            await h.submit(limit_order("late", Side.BUY, 10, 99.00, tif=TimeInForce.GTC))
            h.quote("AAPL", 98.00, 98.02)  # crosses the resting buys: they fill
            await h.settle()
            assert state.orders["O1200"].status is OrderStatus.CANCELED
            assert state.orders["O1"].status is OrderStatus.FILLED
            while not build.step():
                pass
            state.snapshot_build = None
            assert b"".join(build.pieces()) == expected

    asyncio.run(scenario())


def test_restart_when_snapshot_built_while_trading_then_state_is_identical(
    tmp_path: Path,
) -> None:
    views: list[dict[str, object]] = []
    config = EngineConfig(
        auto_pump=False, price_sample_interval_ns=0, snapshot_every=5, snapshot_on_close=False
    )

    async def first_life() -> None:
        async with open_engine(tmp_path / "j.db", config=config) as h:
            await trade_a_while(h)
            await h.engine.journal.flush()
            assert h.engine.snapshots_taken > 1
            views.append(snapshot_view(h))

    async def second_life() -> None:
        async with open_engine(tmp_path / "j.db", config=config) as h:
            views.append(snapshot_view(h))

    asyncio.run(first_life())
    asyncio.run(second_life())
    assert views[0] == views[1]


# --- the format (realtime.snapshot_format) --------------------------------------------


def test_decode_when_old_map_form_snapshot_then_loads_the_same_state(tmp_path: Path) -> None:
    """Journals keep format-1 (map form) snapshots: they must still load."""

    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db", config=QUIET) as h:
            await trade_a_while(h)
            snap = h.engine.state.snapshot()
            old_form = msgspec.msgpack.encode(snap)  # what every snapshot was before format 2
            assert old_form[0] & 0xF0 == 0x80  # a msgpack map: format 1
            assert decode_snapshot(old_form) == snap
            compact = encode_snapshot(snap)
            assert compact.startswith(MAGIC)
            assert decode_snapshot(compact) == snap
            assert len(compact) < len(old_form) / 2

    asyncio.run(scenario())


def test_restart_when_journal_holds_an_old_map_form_snapshot_then_state_is_identical(
    tmp_path: Path,
) -> None:
    views: list[dict[str, object]] = []

    async def first_life() -> None:
        async with open_engine(tmp_path / "j.db", config=QUIET) as h:
            await trade_a_while(h)
            await h.engine.journal.flush()
            state = h.engine.state
            # As an older version wrote it: one row, map form, before more events.
            await h.engine.journal.write_snapshot(
                state.last_seq, msgspec.msgpack.encode(state.snapshot())
            )
            h.quote("AAPL", 99.0, 99.02, size=300)
            await h.submit(limit_order("after", Side.BUY, 10, 98.00, tif=TimeInForce.GTC))
            await h.settle()
            views.append(snapshot_view(h))

    async def second_life() -> None:
        async with open_engine(tmp_path / "j.db", config=QUIET) as h:
            views.append(snapshot_view(h))

    asyncio.run(first_life())
    reader = JournalReader(tmp_path / "j.db")
    latest = reader.latest_snapshot()
    assert latest is not None and not latest[1].startswith(MAGIC)
    asyncio.run(second_life())
    assert views[0] == views[1]


def test_decode_when_columns_differ_then_unknown_is_refused_and_missing_defaults(
    tmp_path: Path,
) -> None:
    async def scenario() -> StateSnapshot:
        async with open_engine(tmp_path / "j.db", config=QUIET) as h:
            await trade_a_while(h)
            return h.engine.state.snapshot()

    snap = asyncio.run(scenario())
    header, (orders, fills) = _split(encode_snapshot(snap))
    # A snapshot from before `fees` existed: the column is absent, the default applies.
    i = header["order_columns"].index("fees")
    header["order_columns"].pop(i)
    for row in orders:
        row.pop(i)
    old = decode_snapshot(_join(header, [orders, fills]))
    assert [o.fees for o in old.orders] == [0.0] * len(snap.orders)
    assert [o.order_id for o in old.orders] == [o.order_id for o in snap.orders]
    assert old.client_ids == snap.client_ids
    header["order_columns"][i - 1] = "colour"
    with pytest.raises(SnapshotFormatError) as info:
        decode_snapshot(_join(header, [orders, fills]))
    assert info.value.code == "SNAPSHOT_FORMAT"
    with pytest.raises(SnapshotFormatError):
        decode_snapshot(b"not a snapshot")


def _split(payload: bytes) -> tuple[dict[str, Any], list[Any]]:
    (length,) = struct.unpack_from(">I", payload, len(MAGIC))
    start = len(MAGIC) + 4
    header = msgspec.msgpack.decode(payload[start : start + length])
    return header, msgspec.msgpack.decode(payload[start + length :])


def _join(header: dict[str, Any], body: list[Any]) -> bytes:
    encoded = msgspec.msgpack.encode(header)
    return MAGIC + struct.pack(">I", len(encoded)) + encoded + msgspec.msgpack.encode(body)
