"""Orders, fills, positions, P&L and risk checks: success paths, lifecycle errors,
risk rejections (journaled, 422 with the reason) and account isolation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.realtime.api.support import (
    ADMIN,
    ALICE,
    BOB,
    all_orders,
    assert_problem,
    get_order,
    limit_order,
    market_order,
    on_grid,
    orders_unchanged,
    place,
    place_resting_buy,
    poll,
    quote,
    resting_buy_price,
    resting_sell_price,
    wait_for_status,
)

pytestmark = pytest.mark.slow

TERMS = ("client_order_id", "symbol", "side", "order_type", "time_in_force", "quantity")


# --- submit ---------------------------------------------------------------------


def test_post_orders_when_limit_order_valid_then_201_pending_new_and_listed(
    client: httpx.Client,
) -> None:
    price = resting_buy_price(client)
    body = limit_order(price, "BUY", 3, time_in_force="GTC")
    response = client.post("/orders", headers=ALICE, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    order = response.json()
    assert order["status"] == "PENDING_NEW"
    assert order["account"] == "alice"
    assert order["limit_price"] == price
    assert {k: order[k] for k in TERMS} == {k: body[k] for k in TERMS}
    acknowledged = wait_for_status(client, ALICE, order["order_id"], {"NEW"})
    assert acknowledged["filled_quantity"] == 0
    assert order["order_id"] in {o["order_id"] for o in all_orders(client, ALICE)}


def test_post_orders_when_market_order_then_filled_with_fill_position_and_pnl(
    client: httpx.Client,
) -> None:
    positions_before = {
        p["symbol"]: p["quantity"]
        for p in client.get("/positions", headers=BOB).json()["positions"]
    }
    order = place(client, BOB, market_order("BUY", 7, symbol="MSFT"))
    filled = wait_for_status(client, BOB, order["order_id"], {"FILLED"})
    assert filled["filled_quantity"] == 7
    _, ask = quote(client, "MSFT")
    assert filled["average_fill_price"] == pytest.approx(ask, rel=0.05)

    fills = client.get("/fills", headers=BOB, params={"symbol": "MSFT"}).json()["fills"]
    mine = [f for f in fills if f["order_id"] == order["order_id"]]
    assert sum(f["quantity"] for f in mine) == 7
    assert all(f["account"] == "bob" and f["side"] == "BUY" for f in mine)

    positions = client.get("/positions", headers=BOB).json()["positions"]
    msft = next(p for p in positions if p["symbol"] == "MSFT")
    assert msft["quantity"] == positions_before.get("MSFT", 0) + 7

    pnl = client.get("/pnl", headers=BOB).json()
    assert pnl["account"] == "bob"
    assert pnl["total_pnl"] == pytest.approx(pnl["realized_pnl"] + pnl["unrealized_pnl"])
    assert pnl["gross_exposure"] > 0
    assert {p["symbol"] for p in pnl["positions"]} >= {"MSFT"}


def test_post_orders_when_same_body_retried_then_200_same_order_once(
    client: httpx.Client,
) -> None:
    body = limit_order(resting_buy_price(client), "BUY", 2)
    first = client.post("/orders", headers=ALICE, json=body)
    retry = client.post("/orders", headers=ALICE, json=body)
    assert first.status_code == 201
    assert retry.status_code == 200, retry.text
    assert retry.json()["order_id"] == first.json()["order_id"]
    listed = [
        o for o in all_orders(client, ALICE) if o["client_order_id"] == body["client_order_id"]
    ]
    assert len(listed) == 1


def test_post_orders_when_client_order_id_reused_with_other_terms_then_422_duplicate(
    client: httpx.Client,
) -> None:
    body = limit_order(resting_buy_price(client), "BUY", 2)
    original = place(client, ALICE, body)
    response = client.post("/orders", headers=ALICE, json={**body, "quantity": 3})
    problem = assert_problem(response, 422, "DUPLICATE_CLIENT_ORDER_ID")
    # No new order: the problem names the order the client_order_id already belongs to.
    assert problem["order"]["order_id"] == original["order_id"]
    assert get_order(client, ALICE, original["order_id"])["quantity"] == 2


def test_post_orders_when_same_client_order_id_from_other_account_then_independent(
    client: httpx.Client,
) -> None:
    body = limit_order(resting_buy_price(client), "BUY", 1)
    alice = place(client, ALICE, body)
    bob = place(client, BOB, body)
    assert alice["order_id"] != bob["order_id"]
    assert bob["account"] == "bob"


# --- risk rejections: 422 with the reason, journaled as REJECTED ---------------------


def _collar_breach(client: httpx.Client, factor: float) -> dict[str, Any]:
    bid, ask = quote(client, "AAPL")
    return limit_order(on_grid(round((bid + ask) / 2 * factor / 0.01), 0.01))


def _off_tick(client: httpx.Client) -> dict[str, Any]:
    return limit_order(round(resting_buy_price(client) + 0.005, 3))


RejectionCase = tuple[str, dict[str, str], Callable[[httpx.Client], dict[str, Any]]]
REJECTIONS: dict[str, RejectionCase] = {
    "quantity_over_max": ("MAX_ORDER_QUANTITY", ALICE, lambda c: market_order("BUY", 10_001)),
    "price_below_collar": ("PRICE_OUTSIDE_COLLAR", ALICE, lambda c: _collar_breach(c, 0.93)),
    "price_above_collar": ("PRICE_OUTSIDE_COLLAR", ALICE, lambda c: _collar_breach(c, 1.07)),
    "price_off_tick": ("OFF_TICK_PRICE", ALICE, _off_tick),
    "not_tradable": ("SYMBOL_NOT_TRADABLE", ALICE, lambda c: market_order(symbol="DELISTED")),
    "unknown_symbol": ("UNKNOWN_SYMBOL", ALICE, lambda c: market_order(symbol="APPL")),
    "restricted": ("RESTRICTED_SYMBOL", BOB, lambda c: market_order("BUY", 1, "TSLA")),
    "notional_over_max": ("MAX_ORDER_NOTIONAL", BOB, lambda c: market_order("BUY", 2_000)),
    "limit_without_price": (
        "MISSING_LIMIT_PRICE",
        ALICE,
        lambda c: {**market_order(), "order_type": "LIMIT"},
    ),
    "market_with_price": (
        "UNEXPECTED_LIMIT_PRICE",
        ALICE,
        lambda c: {**market_order(), "limit_price": 190.0},
    ),
}


@pytest.mark.parametrize("case", list(REJECTIONS.values()), ids=list(REJECTIONS))
def test_post_orders_when_risk_rejects_then_422_reason_and_listed_as_rejected(
    client: httpx.Client, case: RejectionCase
) -> None:
    reason, headers, build = case
    body = build(client)
    response = client.post("/orders", headers=headers, json=body)
    problem = assert_problem(response, 422, reason)
    rejected = problem["order"]
    assert rejected["status"] == "REJECTED"
    assert rejected["reject_reason"] == reason
    assert rejected["client_order_id"] == body["client_order_id"]
    # Journaled like any order: it is in the account's list and can be fetched.
    assert get_order(client, headers, rejected["order_id"]) == rejected
    listed = client.get("/orders", headers=headers, params={"status": "REJECTED", "limit": 1000})
    assert rejected["order_id"] in {o["order_id"] for o in listed.json()["orders"]}
    # A retry of the same body answers the same rejection without a second order.
    retry = client.post("/orders", headers=headers, json=body)
    assert assert_problem(retry, 422, reason)["order"]["order_id"] == rejected["order_id"]
    # The rejected order holds its client_order_id: other terms are a duplicate.
    other_terms = {**body, "quantity": body["quantity"] + 1}
    duplicate = client.post("/orders", headers=headers, json=other_terms)
    duplicate_problem = assert_problem(duplicate, 422, "DUPLICATE_CLIENT_ORDER_ID")
    assert duplicate_problem["order"]["order_id"] == rejected["order_id"]
    cid = body["client_order_id"]
    assert [o["client_order_id"] for o in all_orders(client, headers)].count(cid) == 1


def test_risk_check_when_order_acceptable_then_accepted_and_nothing_placed(
    client: httpx.Client,
) -> None:
    with orders_unchanged(client, ALICE):
        response = client.post("/risk/check", headers=ALICE, json=market_order("BUY", 5))
        assert response.status_code == 200
        verdict = response.json()
        assert (verdict["accepted"], verdict["code"], verdict["detail"]) == (True, None, None)
        # no feature store has been written here: the static limits, and it says so
        features = verdict["features"]
        assert features["service"] == "risk_features_v1"
        assert (features["reason"], features["age_s"]) == ("MISSING", None)
        assert (features["collar_scale"], features["notional_scale"]) == (1.0, 1.0)


def test_risk_check_when_order_breaches_limit_then_verdict_with_code_and_nothing_placed(
    client: httpx.Client,
) -> None:
    with orders_unchanged(client, BOB):
        response = client.post("/risk/check", headers=BOB, json=market_order("BUY", 1, "TSLA"))
        assert response.status_code == 200
        verdict = response.json()
        assert verdict["accepted"] is False
        assert verdict["code"] == "RESTRICTED_SYMBOL"


# --- cancel and replace ------------------------------------------------------------


def test_delete_order_when_resting_then_202_pending_cancel_then_canceled(
    client: httpx.Client,
) -> None:
    order = place_resting_buy(client, ALICE)
    response = client.delete(f"/orders/{order['order_id']}", headers=ALICE)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "PENDING_CANCEL"
    wait_for_status(client, ALICE, order["order_id"], {"CANCELED"})


def test_delete_order_when_filled_then_409_illegal_transition_and_unchanged(
    client: httpx.Client,
) -> None:
    order = place(client, ALICE, market_order("BUY", 1))
    wait_for_status(client, ALICE, order["order_id"], {"FILLED"})
    with orders_unchanged(client, ALICE):
        response = client.delete(f"/orders/{order['order_id']}", headers=ALICE)
        assert_problem(response, 409, "ILLEGAL_TRANSITION")


def test_delete_order_when_already_canceled_then_409_illegal_transition(
    client: httpx.Client,
) -> None:
    order = place_resting_buy(client, ALICE)
    assert client.delete(f"/orders/{order['order_id']}", headers=ALICE).status_code == 202
    wait_for_status(client, ALICE, order["order_id"], {"CANCELED"})
    with orders_unchanged(client, ALICE):
        response = client.delete(f"/orders/{order['order_id']}", headers=ALICE)
        assert_problem(response, 409, "ILLEGAL_TRANSITION")


def test_replace_when_resting_then_202_pending_replace_then_new_terms(
    client: httpx.Client,
) -> None:
    order = place_resting_buy(client, ALICE, quantity=4)
    new_price = resting_buy_price(client, fraction=0.965)
    response = client.post(
        f"/orders/{order['order_id']}/replace",
        headers=ALICE,
        json={"quantity": 9, "limit_price": new_price},
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "PENDING_REPLACE"
    replaced = wait_for_status(client, ALICE, order["order_id"], {"NEW"})
    assert replaced["quantity"] == 9
    assert replaced["limit_price"] == new_price


# A replace goes through the same pre-trade checks as a new order, so new terms that fail
# one answer the check's code, not INVALID_REPLACE (README, error codes).
REPLACE_PRICE_REJECTIONS: dict[str, tuple[str, Callable[[httpx.Client], float]]] = {
    "outside_collar": ("PRICE_OUTSIDE_COLLAR", lambda c: resting_buy_price(c, fraction=0.8)),
    "off_tick": ("OFF_TICK_PRICE", lambda c: round(resting_buy_price(c) + 0.005, 3)),
}


@pytest.mark.parametrize("case", list(REPLACE_PRICE_REJECTIONS))
def test_replace_when_new_price_fails_a_check_then_422_its_code_and_unchanged(
    client: httpx.Client, case: str
) -> None:
    code, new_price = REPLACE_PRICE_REJECTIONS[case]
    order = place_resting_buy(client, ALICE)
    with orders_unchanged(client, ALICE):
        response = client.post(
            f"/orders/{order['order_id']}/replace",
            headers=ALICE,
            json={"quantity": 2, "limit_price": new_price(client)},
        )
        assert_problem(response, 422, code)


def test_replace_when_filled_then_409_illegal_transition_and_unchanged(
    client: httpx.Client,
) -> None:
    order = place(client, ALICE, market_order("SELL", 1))
    wait_for_status(client, ALICE, order["order_id"], {"FILLED"})
    with orders_unchanged(client, ALICE):
        response = client.post(
            f"/orders/{order['order_id']}/replace", headers=ALICE, json={"quantity": 3}
        )
        assert_problem(response, 409, "ILLEGAL_TRANSITION")


def test_replace_when_rejected_order_then_409_illegal_transition(client: httpx.Client) -> None:
    response = client.post("/orders", headers=ALICE, json=market_order(symbol="DELISTED"))
    rejected = assert_problem(response, 422, "SYMBOL_NOT_TRADABLE")["order"]
    with orders_unchanged(client, ALICE):
        response = client.post(
            f"/orders/{rejected['order_id']}/replace", headers=ALICE, json={"quantity": 3}
        )
        assert_problem(response, 409, "ILLEGAL_TRANSITION")


def test_replace_when_market_order_partially_filled_then_422_invalid_replace(
    client: httpx.Client,
) -> None:
    # A market order far larger than the displayed size fills over many quotes; while it
    # works it is PARTIALLY_FILLED, which is when these replace requests are checked.
    order = place(client, ALICE, market_order("BUY", 7_000, symbol="NVDA"))
    try:
        working = poll(
            lambda: get_order(client, ALICE, order["order_id"]),
            lambda o: o["status"] == "PARTIALLY_FILLED" or o["status"] == "FILLED",
            what="a partial fill",
        )
        if working["status"] == "FILLED":
            # The live feed, not the test, decides how fast a market order fills, so a
            # real server cannot be held at PARTIALLY_FILLED. The rule is held
            # deterministically (fake clock) by tests/realtime/test_engine.py's test of
            # the same name; this one adds the HTTP mapping to 422 when the order is
            # still working (7,000 NVDA against the feed's displayed size: almost always).
            pytest.skip("the market order filled completely before it could be replaced")
        at_or_below_filled = client.post(
            f"/orders/{order['order_id']}/replace", headers=ALICE, json={"quantity": 1}
        )
        with_price = client.post(
            f"/orders/{order['order_id']}/replace",
            headers=ALICE,
            json={"quantity": 7_000, "limit_price": resting_buy_price(client, "NVDA")},
        )
        assert_problem(at_or_below_filled, 422, "INVALID_REPLACE")
        assert_problem(with_price, 422, "INVALID_REPLACE")
    finally:
        client.delete(f"/orders/{order['order_id']}", headers=ALICE)
        wait_for_status(client, ALICE, order["order_id"], {"CANCELED", "FILLED"})


# --- listing ----------------------------------------------------------------------


def test_get_orders_when_paged_then_pages_cover_the_full_list_in_order(
    client: httpx.Client,
) -> None:
    for _ in range(3):
        place(client, ALICE, limit_order(resting_buy_price(client)))
    full = client.get("/orders", headers=ALICE, params={"limit": 1000}).json()
    assert full["next_cursor"] is None
    paged: list[dict[str, Any]] = []
    cursor: int | None = 0
    while cursor is not None:
        page = client.get("/orders", headers=ALICE, params={"limit": 2, "cursor": cursor}).json()
        assert len(page["orders"]) <= 2
        paged.extend(page["orders"])
        cursor = page["next_cursor"]
    assert [o["order_id"] for o in paged] == [o["order_id"] for o in full["orders"]]
    created = [o["created_ns"] for o in paged]
    assert created == sorted(created)


def test_get_orders_when_filtered_then_only_matching_orders(client: httpx.Client) -> None:
    place(client, ALICE, limit_order(resting_sell_price(client, "MSFT"), "SELL", symbol="MSFT"))
    by_symbol = client.get("/orders", headers=ALICE, params={"symbol": "MSFT"}).json()["orders"]
    assert by_symbol and all(o["symbol"] == "MSFT" for o in by_symbol)
    resting = place_resting_buy(client, ALICE)
    assert client.delete(f"/orders/{resting['order_id']}", headers=ALICE).status_code == 202
    wait_for_status(client, ALICE, resting["order_id"], {"CANCELED"})
    canceled = client.get(
        "/orders", headers=ALICE, params={"status": "CANCELED", "limit": 1000}
    ).json()["orders"]
    assert resting["order_id"] in {o["order_id"] for o in canceled}
    assert all(o["status"] == "CANCELED" for o in canceled)


# --- account isolation --------------------------------------------------------------


def test_get_order_when_other_accounts_order_then_404_order_not_found(
    client: httpx.Client,
) -> None:
    order = place_resting_buy(client, ALICE)
    assert_problem(client.get(f"/orders/{order['order_id']}", headers=BOB), 404, "ORDER_NOT_FOUND")


def test_cancel_and_replace_when_other_accounts_order_then_404_and_untouched(
    client: httpx.Client,
) -> None:
    order = place_resting_buy(client, ALICE)
    with orders_unchanged(client, ALICE), orders_unchanged(client, BOB):
        assert_problem(
            client.delete(f"/orders/{order['order_id']}", headers=BOB), 404, "ORDER_NOT_FOUND"
        )
        assert_problem(
            client.post(f"/orders/{order['order_id']}/replace", headers=BOB, json={"quantity": 3}),
            404,
            "ORDER_NOT_FOUND",
        )
    assert get_order(client, ALICE, order["order_id"])["status"] == "NEW"


def test_lists_when_two_accounts_trade_then_each_sees_only_its_own(
    client: httpx.Client,
) -> None:
    place(client, ALICE, market_order("BUY", 2, symbol="AMZN"))
    place(client, BOB, market_order("BUY", 3, symbol="GOOGL"))
    for headers, name in ((ALICE, "alice"), (BOB, "bob")):
        orders = all_orders(client, headers)
        assert orders and all(o["account"] == name for o in orders)
        poll(
            lambda h=headers: client.get("/fills", headers=h).json()["fills"],
            lambda fills: len(fills) > 0,
            what="fills",
        )
        fills = client.get("/fills", headers=headers, params={"limit": 1000}).json()["fills"]
        assert all(f["account"] == name for f in fills)
        own_ids = {o["order_id"] for o in orders}
        assert {f["order_id"] for f in fills} <= own_ids
    alice_ids = {o["order_id"] for o in all_orders(client, ALICE)}
    bob_ids = {o["order_id"] for o in all_orders(client, BOB)}
    assert not alice_ids & bob_ids


def test_admin_key_cannot_see_account_orders(client: httpx.Client) -> None:
    assert_problem(client.get("/orders", headers=ADMIN), 403, "ACCOUNT_KEY_REQUIRED")
