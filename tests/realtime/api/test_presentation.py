"""What a person meets in the API's answers: rounded prices and money, ISO-8601 UTC
times beside nanoseconds, contract multipliers in money, symbols in either case with
close matches for a typo, and telling a missing key from a wrong one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.realtime.api.support import (
    ALICE,
    BOB,
    Server,
    assert_problem,
    market_order,
    place,
    poll,
    wait_for_status,
)

pytestmark = pytest.mark.slow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ESZ6_MULTIPLIER = 50.0  # config/instruments.toml


def micros_of(iso: str) -> int:
    parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    assert iso.endswith("Z") and parsed.utcoffset() == timedelta(0), iso
    return (parsed - EPOCH) // timedelta(microseconds=1)


def assert_time_pair(body: dict[str, Any], iso_name: str, ns_name: str) -> None:
    assert isinstance(body[ns_name], int)
    assert micros_of(body[iso_name]) == body[ns_name] // 1000


def decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0


# --- times and rounding ---------------------------------------------------------------


def test_post_orders_when_placed_then_times_are_iso_utc_and_prices_rounded(
    client: httpx.Client,
) -> None:
    order = place(client, ALICE, market_order("BUY", 3))
    assert_time_pair(order, "created_at", "created_ns")
    assert_time_pair(order, "updated_at", "updated_ns")
    assert decimals(order["risk_price"]) <= 3  # AAPL: half of a 0.01 tick
    filled = wait_for_status(client, ALICE, order["order_id"], {"FILLED"})
    assert decimals(filled["average_fill_price"]) <= 3
    assert decimals(filled["fees"]) <= 2
    fills = client.get("/fills", headers=ALICE, params={"symbol": "AAPL"}).json()["fills"]
    fill = next(f for f in fills if f["order_id"] == order["order_id"])
    assert_time_pair(fill, "ts", "ts_ns")
    assert fill["notional"] == round(fill["quantity"] * fill["price"], 2)


def test_pnl_when_read_then_every_money_figure_is_in_cents(client: httpx.Client) -> None:
    place(client, ALICE, market_order("BUY", 7, symbol="MSFT"))
    pnl = poll(
        lambda: client.get("/pnl", headers=ALICE).json(),
        lambda p: any(x["symbol"] == "MSFT" for x in p["positions"]),
        what="an MSFT position",
    )
    for name in ("realized_pnl", "unrealized_pnl", "total_pnl", "equity", "gross_exposure"):
        assert decimals(pnl[name]) <= 2, (name, pnl[name])
    for position in pnl["positions"]:
        for name in ("realized_pnl", "unrealized_pnl", "market_value"):
            assert decimals(position[name]) <= 2, (name, position)
        for name in ("average_cost", "mark"):
            assert decimals(position[name]) <= 3, (name, position)


def test_ws_orders_when_order_placed_then_events_carry_iso_time_and_rounded_prices(
    client: httpx.Client, server: Server
) -> None:
    with connect(server.ws_url + "/ws/orders", additional_headers=ALICE, open_timeout=5) as ws:
        order = place(client, ALICE, market_order("BUY", 2))
        events = []
        while not any(e["type"] == "OrderFilled" for e in events):
            message = json.loads(ws.recv(timeout=5))
            if message["event"].get("order_id") == order["order_id"]:
                events.append(message["event"])
    for event in events:
        assert_time_pair(event, "ts", "ts_ns")
    accepted = next(e for e in events if e["type"] == "OrderAccepted")
    assert decimals(accepted["reference_price"]) <= 3
    filled = next(e for e in events if e["type"] == "OrderFilled")
    assert decimals(filled["price"]) <= 3 and decimals(filled["fee"]) <= 2


# --- contract multipliers -------------------------------------------------------------


def test_esz6_when_bought_then_notional_exposure_and_value_count_the_multiplier(
    client: httpx.Client,
) -> None:
    order = place(client, ALICE, market_order("BUY", 1, symbol="ESZ6"))
    wait_for_status(client, ALICE, order["order_id"], {"FILLED"})
    fills = client.get("/fills", headers=ALICE, params={"symbol": "ESZ6"}).json()["fills"]
    fill = next(f for f in fills if f["order_id"] == order["order_id"])
    assert fill["notional"] == round(fill["price"] * ESZ6_MULTIPLIER, 2)
    position = next(
        p
        for p in client.get("/positions", headers=ALICE).json()["positions"]
        if p["symbol"] == "ESZ6"
    )
    quantity, mark, cost = position["quantity"], position["mark"], position["average_cost"]
    assert position["market_value"] == pytest.approx(quantity * mark * ESZ6_MULTIPLIER, abs=0.01)
    assert position["unrealized_pnl"] == pytest.approx(
        (mark - cost) * quantity * ESZ6_MULTIPLIER, abs=0.01
    )
    pnl = client.get("/pnl", headers=ALICE).json()
    assert pnl["gross_exposure"] >= abs(quantity) * mark * ESZ6_MULTIPLIER - 0.01


def test_esz6_when_one_contract_is_over_the_order_notional_limit_then_rejected(
    client: httpx.Client,
) -> None:
    # bob's max_order_notional is 250,000: one ESZ6 contract near 5,600 is 280,000 of
    # notional with the multiplier (5,600 without it).
    response = client.post("/orders", headers=BOB, json=market_order("BUY", 1, symbol="ESZ6"))
    problem = assert_problem(response, 422, "MAX_ORDER_NOTIONAL")
    assert problem["order"]["status"] == "REJECTED"


# --- symbols ----------------------------------------------------------------------------


def test_post_orders_when_lower_case_symbol_then_placed_as_upper_case(
    client: httpx.Client,
) -> None:
    order = place(client, ALICE, market_order("BUY", 1, symbol="aapl"))
    assert order["symbol"] == "AAPL"


@pytest.mark.parametrize("path", ["/orders", "/risk/check"])
def test_order_when_symbol_misspelled_then_422_unknown_symbol_with_close_matches(
    client: httpx.Client, path: str
) -> None:
    response = client.post(path, headers=ALICE, json=market_order("BUY", 1, symbol="APPL"))
    problem = assert_problem(response, 422, "UNKNOWN_SYMBOL")
    assert problem["suggestions"][0] == "AAPL"
    assert "did you mean AAPL" in problem["detail"]
    if path == "/orders":  # a journaled risk rejection, with its order
        assert problem["order"]["status"] == "REJECTED"
        assert problem["order"]["reject_reason"] == "UNKNOWN_SYMBOL"


# --- keys -------------------------------------------------------------------------------


def test_orders_when_key_missing_or_wrong_then_401_with_different_details(
    client: httpx.Client,
) -> None:
    missing = assert_problem(client.get("/orders"), 401, "UNAUTHENTICATED")
    wrong = assert_problem(
        client.get("/orders", headers={"X-API-Key": "not-a-key"}), 401, "UNAUTHENTICATED"
    )
    assert "no API key" in missing["detail"]
    assert "not a known API key" in wrong["detail"]
    assert missing["detail"] != wrong["detail"]


def test_post_orders_when_key_missing_or_wrong_then_401_with_different_details(
    client: httpx.Client,
) -> None:
    body = market_order()
    missing = assert_problem(client.post("/orders", json=body), 401, "UNAUTHENTICATED")
    wrong = client.post("/orders", json=body, headers={"X-API-Key": "not-a-key"})
    assert missing["detail"] != assert_problem(wrong, 401, "UNAUTHENTICATED")["detail"]
