"""Terminal orders older than the retention window leave the in-memory state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from realtime import queries
from realtime.domain import Side, TimeInForce
from realtime.engine import EngineConfig, OrderNotFound
from realtime.retained import BLOCK, SlotLog
from realtime.service import TradingService
from realtime.settings import ServiceSettings
from tests.realtime.harness import Harness, limit, open_engine
from tests.realtime.test_engine import snapshot_view

SECOND = 1_000_000_000


def config(snapshots: bool) -> EngineConfig:
    return EngineConfig(
        auto_pump=False,
        price_sample_interval_ns=0,
        retain_terminal_s=10.0,
        snapshot_every=3 if snapshots else 10**9,
        snapshot_on_close=snapshots,
    )


async def cancel_one_and_age_it(h: Harness) -> None:
    h.quote("AAPL", 99.99, 100.01)
    await h.submit(limit("old", Side.BUY, 10, 99.00))
    await h.settle()
    await h.engine.cancel("alice", "O1")
    await h.submit(limit("open", Side.BUY, 10, 99.00, tif=TimeInForce.GTC))
    await h.settle()
    retry = await h.submit(limit("old", Side.BUY, 10, 99.00))
    assert not retry.created and retry.order.order_id == "O1"  # inside the window
    h.clock.advance(11 * SECOND)
    h.quote("AAPL", 99.98, 100.02)  # any later event: the canceled order is now too old
    await h.engine.journal.flush()


def test_terminal_order_when_older_than_retention_then_leaves_memory(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with open_engine(tmp_path / "j.db", config=config(False)) as h:
            await cancel_one_and_age_it(h)
            state = h.engine.state
            assert "O1" not in state.orders
            assert ("alice", "old") not in state.client_ids
            with pytest.raises(OrderNotFound):
                h.engine.order("alice", "O1")  # the API answers 404 ORDER_NOT_FOUND
            page, cursor = queries.order_page(state, "alice")
            assert [o.order_id for o in page] == ["O2"] and cursor is None
            assert h.engine.order("alice", "O2").is_open  # open orders never age out
            # Beyond the window the client_order_id is free again (README: retention).
            again = await h.submit(limit("old", Side.BUY, 10, 99.00))
            assert again.created and again.order.order_id == "O3"

    asyncio.run(scenario())


@pytest.mark.parametrize("snapshots", [False, True])
def test_restart_when_orders_were_evicted_then_state_is_identical(
    tmp_path: Path, snapshots: bool
) -> None:
    views: list[dict[str, object]] = []

    async def first_life() -> None:
        async with open_engine(tmp_path / "j.db", config=config(snapshots)) as h:
            await cancel_one_and_age_it(h)
            views.append(snapshot_view(h))

    async def second_life() -> None:
        async with open_engine(tmp_path / "j.db", config=config(snapshots)) as h:
            views.append(snapshot_view(h))
            assert "O1" not in h.engine.state.orders
            assert h.engine.state.watermark_ns > 0

    asyncio.run(first_life())
    asyncio.run(second_life())
    assert views[0] == views[1]


def test_slot_log_when_entries_evicted_then_cursors_and_order_hold() -> None:
    log: SlotLog[int] = SlotLog()
    for i in range(3 * BLOCK):
        assert log.append(i) == i
    for i in range(BLOCK):  # a whole block: released
        log.evict(i)
    log.evict(BLOCK + 5)
    log.evict(BLOCK + 5)  # twice is harmless
    assert len(log) == 2 * BLOCK - 1 and log.end == 3 * BLOCK
    assert log.get(3) is None and log.get(BLOCK + 6) == BLOCK + 6
    page, cursor = log.page(0, 3, lambda _: True)
    assert page == [BLOCK, BLOCK + 1, BLOCK + 2] and cursor == BLOCK + 3
    page, cursor = log.page(BLOCK + 3, 3, lambda _: True)
    assert page == [BLOCK + 3, BLOCK + 4, BLOCK + 6]
    evens, _ = log.page(2 * BLOCK, BLOCK, lambda i: i % 2 == 0)
    assert evens == list(range(2 * BLOCK, 3 * BLOCK, 2))
    assert list(log) == [i for i in range(BLOCK, 3 * BLOCK) if i != BLOCK + 5]


def test_retention_setting_when_set_then_the_engine_state_uses_it(tmp_path: Path) -> None:
    env = {
        "TRADEPIPE_DATA_DIR": str(tmp_path / "data"),
        "TRADEPIPE_FEATURES_REFRESH_S": "0",
        "TRADEPIPE_ORDER_RETENTION_S": "42.5",
    }

    async def scenario() -> None:
        service = TradingService(ServiceSettings.from_env(env), own_feed=False)
        await service.start()
        try:
            assert service.engine.state.retain_terminal_ns == 42_500_000_000
        finally:
            await service.stop()

    asyncio.run(scenario())
