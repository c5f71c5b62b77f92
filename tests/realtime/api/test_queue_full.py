"""A full venue queue: 429 VENUE_QUEUE_FULL with Retry-After, and nothing changes.

The server gets a one-request venue queue and a 3 s acknowledgement latency, so the
first order keeps the queue full for the next few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.realtime.api.support import (
    ALICE,
    BOB,
    HTTP_TIMEOUT,
    STACKS,
    Server,
    assert_problem,
    copy_config,
    limit_order,
    metric,
    orders_unchanged,
    parse_metrics,
    place,
    resting_buy_price,
    running_server,
    wait_for_status,
)

pytestmark = pytest.mark.slow

ACK_LATENCY_S = 3


@pytest.fixture(scope="module", params=list(STACKS))
def full_queue_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """On both stacks (support.STACKS): POST /orders is a fast-path route."""
    base = tmp_path_factory.mktemp("queue-full")
    env = {
        "TRADEPIPE_FAST_PATH": STACKS[request.param],
        "TRADEPIPE_VENUE_QUEUE": "1",
        "TRADEPIPE_ACK_LATENCY_US": str(ACK_LATENCY_S * 1_000_000),
    }
    with running_server(base / "data", copy_config(base / "config"), base / "log", env) as srv:
        yield srv


def test_when_venue_queue_full_then_429_retry_after_and_state_unchanged(
    full_queue_server: Server,
) -> None:
    with httpx.Client(base_url=full_queue_server.base_url, timeout=HTTP_TIMEOUT) as client:
        price = resting_buy_price(client)
        first = place(client, ALICE, limit_order(price, "BUY", 1))
        assert first["status"] == "PENDING_NEW"  # waiting in the venue queue
        refused_body = limit_order(price, "BUY", 2)

        with orders_unchanged(client, ALICE), orders_unchanged(client, BOB):
            refused = client.post("/orders", headers=ALICE, json=refused_body)
            assert_problem(refused, 429, "VENUE_QUEUE_FULL")
            assert int(refused.headers["retry-after"]) >= 1
            # The queue is the venue's, not the account's: bob is refused too.
            other = client.post("/orders", headers=BOB, json=limit_order(price, "BUY", 1))
            assert_problem(other, 429, "VENUE_QUEUE_FULL")
            # A cancel needs a venue request as well.
            cancel = client.delete(f"/orders/{first['order_id']}", headers=ALICE)
            assert_problem(cancel, 429, "VENUE_QUEUE_FULL")
            assert int(cancel.headers["retry-after"]) >= 1

            samples = parse_metrics(client.get("/metrics").text)
            assert metric(samples, "tradepipe_venue_queue_depth") == 1
            throttled = {"outcome": "throttled", "reason": "VENUE_QUEUE_FULL"}
            assert metric(samples, "tradepipe_orders_total", **throttled) == 2

        # Once the venue works the queue off, the refused order is new to the service:
        # the same client_order_id is accepted (201), not answered as a retry.
        wait_for_status(client, ALICE, first["order_id"], {"NEW"}, timeout=ACK_LATENCY_S + 10)
        accepted = client.post("/orders", headers=ALICE, json=refused_body)
        assert accepted.status_code == 201, accepted.text
