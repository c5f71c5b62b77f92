"""Retention over HTTP: an order evicted from memory answers 404 ORDER_NOT_FOUND.

The server is a real process, so its clock is the system clock: the test sets a short
window and awaits the eviction (polling), which the feed's journaled price samples
bring about by moving the state's watermark past the order's last change.
"""

from __future__ import annotations

import httpx
import pytest

from tests.realtime.api.support import (
    ALICE,
    HTTP_TIMEOUT,
    assert_problem,
    copy_config,
    market_order,
    poll,
    running_server,
)

pytestmark = pytest.mark.slow

RETENTION_S = "0.05"


def test_get_order_when_evicted_by_retention_then_404_order_not_found(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.mktemp("retention")
    env = {"TRADEPIPE_ORDER_RETENTION_S": RETENTION_S}
    with (
        running_server(base / "data", copy_config(base / "config"), base / "server.log", env) as s,
        httpx.Client(base_url=s.base_url, timeout=HTTP_TIMEOUT) as client,
    ):
        # A risk rejection is terminal at once, so it starts ageing immediately.
        rejected = client.post("/orders", headers=ALICE, json=market_order("BUY", 10_001))
        order_id = assert_problem(rejected, 422, "MAX_ORDER_QUANTITY")["order"]["order_id"]
        gone = poll(
            lambda: client.get(f"/orders/{order_id}", headers=ALICE),
            lambda r: r.status_code != 200,
            timeout=10.0,
            what=f"order {order_id} to leave memory",
        )
        assert_problem(gone, 404, "ORDER_NOT_FOUND")
        listed = client.get("/orders", headers=ALICE, params={"limit": 1000}).json()["orders"]
        assert order_id not in {o["order_id"] for o in listed}
