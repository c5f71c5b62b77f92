"""Liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

import httpx
import pytest

from tests.realtime.api.support import (
    ALICE,
    BOB,
    Server,
    assert_problem,
    market_order,
    metric,
    parse_metrics,
    place,
    place_resting_buy,
    wait_for_status,
)

pytestmark = pytest.mark.slow

LATENCY = "tradepipe_submit_latency_seconds"


def scrape(client: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse_metrics(response.text)


def test_health_when_running_then_200_ok_and_the_instance_id_without_key(
    server: Server, client: httpx.Client
) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "instance": server.instance_id}


def test_ready_when_running_with_live_feed_then_200_and_every_check_true(
    client: httpx.Client,
) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["checks"] == {
        "journal_open": True,
        "engine_healthy": True,
        "feed_live": True,
        "accepting": True,
    }


def test_metrics_text_declares_every_family_with_help_and_type(client: httpx.Client) -> None:
    text = client.get("/metrics").text
    for family, kind in [
        ("tradepipe_orders_total", "counter"),
        (LATENCY, "histogram"),
        ("tradepipe_http_requests_total", "counter"),
        ("tradepipe_venue_queue_depth", "gauge"),
        ("tradepipe_venue_queue_capacity", "gauge"),
        ("tradepipe_feed_lag_seconds", "gauge"),
    ]:
        assert f"# TYPE {family} {kind}\n" in text
        assert f"# HELP {family} " in text
    assert text.endswith("\n")


def test_metrics_when_orders_submitted_then_counted_by_outcome_and_reason(
    client: httpx.Client,
) -> None:
    before = scrape(client)
    place(client, ALICE, market_order("BUY", 1))
    assert_problem(
        client.post("/orders", headers=ALICE, json=market_order("BUY", 10_001)),
        422,
        "MAX_ORDER_QUANTITY",
    )
    assert_problem(
        client.post("/orders", headers=BOB, json=market_order("BUY", 1, "TSLA")),
        422,
        "RESTRICTED_SYMBOL",
    )
    body = market_order("SELL", 1)
    place(client, BOB, body)
    assert client.post("/orders", headers=BOB, json=body).status_code == 200
    after = scrape(client)

    def delta(**labels: str) -> float:
        name = "tradepipe_orders_total"
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta(outcome="accepted", reason="") == 2
    assert delta(outcome="rejected", reason="MAX_ORDER_QUANTITY") == 1
    assert delta(outcome="rejected", reason="RESTRICTED_SYMBOL") == 1
    assert delta(outcome="retried", reason="") == 1
    # Every submission that reached the engine is one latency observation.
    assert metric(after, f"{LATENCY}_count") - metric(before, f"{LATENCY}_count") == 5


def test_metrics_submit_latency_histogram_is_cumulative_and_consistent(
    client: httpx.Client,
) -> None:
    place(client, ALICE, market_order("BUY", 1))
    samples = scrape(client)
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in samples.items()
        if name == f"{LATENCY}_bucket"
    )
    assert buckets[-1][0] == float("inf")
    counts = [value for _, value in buckets]
    assert counts == sorted(counts)
    count = metric(samples, f"{LATENCY}_count")
    assert counts[-1] == count >= 1
    assert 0 < metric(samples, f"{LATENCY}_sum") < count  # each well under a second


def test_metrics_gauges_report_queue_depth_and_a_fresh_feed(client: httpx.Client) -> None:
    samples = scrape(client)
    assert metric(samples, "tradepipe_venue_queue_depth") == 0
    assert 0 <= metric(samples, "tradepipe_feed_lag_seconds") < 2.0
    assert metric(samples, "tradepipe_journal_committed_seq") > 0


def test_metrics_http_requests_counted_by_route_template_and_status(
    client: httpx.Client,
) -> None:
    order = place_resting_buy(client, ALICE)
    wait_for_status(client, ALICE, order["order_id"], {"NEW"})
    before = scrape(client)
    client.get(f"/orders/{order['order_id']}", headers=ALICE)
    client.get("/orders/O999999", headers=ALICE)
    after = scrape(client)
    name = "tradepipe_http_requests_total"
    route = {"method": "GET", "route": "/orders/{order_id}"}
    assert (
        metric(after, name, **route, status="200") - metric(before, name, **route, status="200")
        == 1
    )
    assert (
        metric(after, name, **route, status="404") - metric(before, name, **route, status="404")
        == 1
    )
