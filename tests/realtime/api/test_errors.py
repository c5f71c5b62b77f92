"""Every bad request is a 4xx application/problem+json with a stable code, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime.settings import DEFAULT_MAX_BODY_BYTES
from tests.realtime.api.support import (
    ADMIN,
    ALICE,
    BOB,
    PROBLEM_JSON,
    assert_problem,
    client_order_id,
    limit_order,
    market_order,
    orders_unchanged,
    place_resting_buy,
    resting_buy_price,
)

pytestmark = pytest.mark.slow

MAX_BODY = DEFAULT_MAX_BODY_BYTES


def order_json(**overrides: Any) -> str:
    body = {
        "client_order_id": client_order_id("bad"),
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 1,
        "order_type": "MARKET",
    }
    body.update(overrides)
    return json.dumps(body)


def raw_order(fragment: str) -> bytes:
    """An otherwise valid order with one field spelled as raw JSON text (NaN, Infinity...)."""
    head = f'"client_order_id":"{client_order_id("raw")}","symbol":"AAPL","side":"BUY"'
    return f"{{{head},{fragment}}}".encode()


MALFORMED = {
    "truncated": b'{"client_order_id": "x", "symbol": ',
    "not_json": b"buy 10 AAPL please",
    "empty": b"",
    "nan_quantity": raw_order('"quantity":NaN,"order_type":"MARKET"'),
    "nan_price": raw_order('"quantity":1,"limit_price":NaN'),
    "infinite_price": raw_order('"quantity":1,"limit_price":Infinity'),
    "negative_infinite_price": raw_order('"quantity":1,"limit_price":-Infinity'),
    "infinite_quantity": raw_order('"quantity":Infinity,"order_type":"MARKET"'),
    "trailing_garbage": order_json().encode() + b"}",
}

INVALID_FIELDS = {
    "quantity_negative": order_json(quantity=-5),
    "quantity_zero": order_json(quantity=0),
    "quantity_absurd": order_json(quantity=10**15),
    "quantity_beyond_int64": order_json(quantity=10**30),
    "quantity_overflowing_float": raw_order('"quantity":1e400,"order_type":"MARKET"').decode(),
    "quantity_fractional": order_json(quantity=1.5),
    "quantity_string": order_json(quantity="10"),
    "quantity_bool": order_json(quantity=True),
    "quantity_null": order_json(quantity=None),
    "price_negative": order_json(order_type="LIMIT", limit_price=-190.0),
    "price_zero": order_json(order_type="LIMIT", limit_price=0),
    "price_absurd": order_json(order_type="LIMIT", limit_price=1e12),
    "price_overflowing_float": raw_order('"quantity":1,"limit_price":1e400').decode(),
    "price_string": order_json(order_type="LIMIT", limit_price="190.00"),
    "side_unknown": order_json(side="HOLD"),
    "side_lowercase": order_json(side="buy"),
    "order_type_unknown": order_json(order_type="STOP"),
    "time_in_force_unknown": order_json(time_in_force="FOREVER"),
    "symbol_number": order_json(symbol=5),
    "symbol_with_space": order_json(symbol="AA PL"),
    "symbol_too_long": order_json(symbol="A" * 17),
    "client_order_id_empty": order_json(client_order_id=""),
    "client_order_id_too_long": order_json(client_order_id="c" * 65),
    "client_order_id_bad_characters": order_json(client_order_id="a b/c"),
    "missing_side": json.dumps({"client_order_id": "m1", "symbol": "AAPL", "quantity": 1}),
    "array_body": "[1, 2, 3]",
    "null_body": "null",
    "string_body": '"BUY AAPL"',
}


@pytest.fixture
def unchanged(client: httpx.Client) -> Iterator[None]:
    """Both accounts' order lists are exactly the same after the test's request."""
    with orders_unchanged(client, ALICE), orders_unchanged(client, BOB):
        yield


@pytest.fixture(scope="module", autouse=True)
def existing_orders(client: httpx.Client) -> None:
    """Some orders to compare against, so "unchanged" is not trivially an empty list."""
    place_resting_buy(client, ALICE)
    place_resting_buy(client, BOB)


# --- POST /orders: bodies ----------------------------------------------------------


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_post_orders_when_body_is_not_json_then_400_malformed_json(
    client: httpx.Client, unchanged: None, body: bytes
) -> None:
    response = client.post(
        "/orders", headers={**ALICE, "Content-Type": "application/json"}, content=body
    )
    assert_problem(response, 400, "MALFORMED_JSON")


@pytest.mark.parametrize("body", list(INVALID_FIELDS.values()), ids=list(INVALID_FIELDS))
def test_post_orders_when_field_invalid_then_422_invalid_field(
    client: httpx.Client, unchanged: None, body: str
) -> None:
    response = client.post(
        "/orders", headers={**ALICE, "Content-Type": "application/json"}, content=body
    )
    assert_problem(response, 422, "INVALID_FIELD")


def test_post_orders_when_unknown_field_then_422_unknown_field(
    client: httpx.Client, unchanged: None
) -> None:
    response = client.post(
        "/orders", headers=ALICE, content=order_json(stop_price=180.0, account="bob")
    )
    body = assert_problem(response, 422, "UNKNOWN_FIELD")
    assert "stop_price" in body["detail"] or "account" in body["detail"]


@pytest.mark.parametrize("symbol", ["ZZZZ", "AAPL.X", "ESZ7"])
def test_post_orders_when_symbol_unknown_then_422_unknown_symbol_and_journaled_rejection(
    client: httpx.Client, symbol: str
) -> None:
    response = client.post("/orders", headers=ALICE, content=order_json(symbol=symbol))
    problem = assert_problem(response, 422, "UNKNOWN_SYMBOL")
    # Decided by risk, so kept like every other risk rejection (issue 8).
    assert problem["order"]["status"] == "REJECTED"
    assert problem["order"]["reject_reason"] == "UNKNOWN_SYMBOL"
    assert problem["order"]["symbol"] == symbol


def test_post_orders_when_body_over_limit_then_413_body_too_large(
    client: httpx.Client, unchanged: None
) -> None:
    body = order_json().encode().ljust(MAX_BODY + 1)
    response = client.post("/orders", headers=ALICE, content=body)
    assert_problem(response, 413, "BODY_TOO_LARGE")


def test_post_orders_when_body_exactly_at_limit_then_accepted(client: httpx.Client) -> None:
    body = order_json().encode().ljust(MAX_BODY)  # trailing whitespace is valid JSON
    response = client.post("/orders", headers=ALICE, content=body)
    assert response.status_code == 201, response.text


def test_post_orders_when_body_absurdly_large_then_413_body_too_large(
    client: httpx.Client, unchanged: None
) -> None:
    response = client.post("/orders", headers=ALICE, content=b"[" * (2 * 1024 * 1024))
    assert_problem(response, 413, "BODY_TOO_LARGE")


def test_post_orders_when_chunked_body_over_limit_then_413_body_too_large(
    client: httpx.Client, unchanged: None
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b" " * 10_000  # no Content-Length: Transfer-Encoding chunked

    response = client.post("/orders", headers=ALICE, content=chunks())
    assert_problem(response, 413, "BODY_TOO_LARGE")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/risk/check"),
        ("POST", "/alt"),
        ("PUT", "/admin/trading-state"),
        ("POST", "/orders/O1/replace"),
    ],
)
def test_any_body_route_when_body_over_limit_then_413_body_too_large(
    client: httpx.Client, method: str, path: str
) -> None:
    headers = ADMIN if path.startswith("/admin") else ALICE
    response = client.request(method, path, headers=headers, content=b"{}".ljust(MAX_BODY + 1))
    assert_problem(response, 413, "BODY_TOO_LARGE")


# --- authentication and authorization -------------------------------------------

ACCOUNT_ROUTES = [
    ("GET", "/orders"),
    ("POST", "/orders"),
    ("GET", "/orders/O1"),
    ("DELETE", "/orders/O1"),
    ("POST", "/orders/O1/replace"),
    ("GET", "/fills"),
    ("GET", "/positions"),
    ("GET", "/pnl"),
    ("POST", "/risk/check"),
]
ADMIN_ROUTES = [
    ("GET", "/admin/trading-state"),
    ("PUT", "/admin/trading-state"),
    ("POST", "/admin/limits/reload"),
]


def _body_for(path: str) -> str | None:
    if path in ("/orders", "/risk/check"):
        return order_json()
    if path.endswith("/replace"):
        return json.dumps({"quantity": 2})
    if path == "/admin/trading-state":
        return json.dumps({"state": "HALTED"})
    return None


@pytest.mark.parametrize(("method", "path"), [*ACCOUNT_ROUTES, *ADMIN_ROUTES, ("POST", "/alt")])
@pytest.mark.parametrize("key", [None, "", "not-a-key", "ALICE-DEMO-KEY"])
def test_protected_route_when_key_missing_or_unknown_then_401_unauthenticated(
    client: httpx.Client, unchanged: None, method: str, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    response = client.request(method, path, headers=headers, content=_body_for(path))
    assert_problem(response, 401, "UNAUTHENTICATED")
    assert "X-API-Key" in response.headers["www-authenticate"]


@pytest.mark.parametrize(("method", "path"), ACCOUNT_ROUTES)
def test_account_route_when_admin_key_then_403_account_key_required(
    client: httpx.Client, unchanged: None, method: str, path: str
) -> None:
    response = client.request(method, path, headers=ADMIN, content=_body_for(path))
    assert_problem(response, 403, "ACCOUNT_KEY_REQUIRED")


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
@pytest.mark.parametrize("headers", [ALICE, BOB], ids=["alice", "bob"])
def test_admin_route_when_account_key_then_403_admin_required(
    client: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    before = client.get("/admin/trading-state", headers=ADMIN).json()
    response = client.request(method, path, headers=headers, content=_body_for(path))
    assert_problem(response, 403, "ADMIN_REQUIRED")
    assert client.get("/admin/trading-state", headers=ADMIN).json() == before


# --- routing, parameters, unknown orders -----------------------------------------


def test_unknown_path_then_404_not_found(client: httpx.Client) -> None:
    assert_problem(client.get("/no/such/route", headers=ALICE), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/orders"), ("PATCH", "/orders/O1"), ("POST", "/health")]
)
def test_known_path_when_method_not_allowed_then_405(
    client: httpx.Client, unchanged: None, method: str, path: str
) -> None:
    response = client.request(method, path, headers=ALICE)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/orders", {"limit": 0}),
        ("/orders", {"limit": 1001}),
        ("/orders", {"limit": "ten"}),
        ("/orders", {"cursor": -1}),
        ("/orders", {"status": "BOGUS"}),
        ("/fills", {"limit": 0}),
        ("/fills", {"cursor": "x"}),
    ],
)
def test_list_when_query_parameter_invalid_then_422_invalid_parameter(
    client: httpx.Client, path: str, params: dict[str, Any]
) -> None:
    response = client.get(path, headers=ALICE, params=params)
    assert_problem(response, 422, "INVALID_PARAMETER")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/orders/O999999", None),
        ("DELETE", "/orders/O999999", None),
        ("POST", "/orders/O999999/replace", '{"quantity": 2}'),
        ("GET", "/orders/not-an-id", None),
    ],
)
def test_order_route_when_order_unknown_then_404_order_not_found(
    client: httpx.Client, unchanged: None, method: str, path: str, body: str | None
) -> None:
    response = client.request(method, path, headers=ALICE, content=body)
    assert_problem(response, 404, "ORDER_NOT_FOUND")


# --- replace and risk/check bodies ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "MALFORMED_JSON"),
        (b"", 400, "MALFORMED_JSON"),
        (b'{"quantity": NaN}', 400, "MALFORMED_JSON"),
        (b'{"quantity": 2, "limit_price": Infinity}', 400, "MALFORMED_JSON"),
        (b'{"quantity": -1}', 422, "INVALID_FIELD"),
        (b'{"quantity": 0}', 422, "INVALID_FIELD"),
        (b'{"quantity": 100000000000}', 422, "INVALID_FIELD"),
        (b'{"quantity": "2"}', 422, "INVALID_FIELD"),
        (b'{"quantity": 2, "limit_price": 0}', 422, "INVALID_FIELD"),
        (b'{"quantity": 2, "limit_price": -1.5}', 422, "INVALID_FIELD"),
        (b'{"quantity": 2, "limit_price": 1e400}', 422, "INVALID_FIELD"),
        (b'{"limit_price": 100.0}', 422, "INVALID_FIELD"),
        (b'{"quantity": 2, "side": "SELL"}', 422, "UNKNOWN_FIELD"),
    ],
)
def test_replace_when_body_invalid_then_4xx_and_order_unchanged(
    client: httpx.Client, body: bytes, status: int, code: str
) -> None:
    order = place_resting_buy(client, ALICE)
    with orders_unchanged(client, ALICE):
        response = client.post(
            f"/orders/{order['order_id']}/replace",
            headers={**ALICE, "Content-Type": "application/json"},
            content=body,
        )
        assert_problem(response, status, code)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (MALFORMED["nan_quantity"], 400, "MALFORMED_JSON"),
        (INVALID_FIELDS["quantity_negative"].encode(), 422, "INVALID_FIELD"),
        (INVALID_FIELDS["price_absurd"].encode(), 422, "INVALID_FIELD"),
        (order_json(venue="X").encode(), 422, "UNKNOWN_FIELD"),
        (order_json(symbol="ZZZZ").encode(), 422, "UNKNOWN_SYMBOL"),
    ],
)
def test_risk_check_when_body_invalid_then_4xx(
    client: httpx.Client, unchanged: None, body: bytes, status: int, code: str
) -> None:
    response = client.post(
        "/risk/check", headers={**ALICE, "Content-Type": "application/json"}, content=body
    )
    assert_problem(response, status, code)


# --- never a 5xx ----------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["AAPL", "BUY", "SELL", "LIMIT", "MARKET", "IOC", "ZZZ", "DELISTED"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
order_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_values
        for key in (
            "client_order_id",
            "symbol",
            "side",
            "quantity",
            "order_type",
            "limit_price",
            "time_in_force",
        )
    },
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=order_like | json_values)
def test_risk_check_when_body_is_any_json_then_never_5xx(client: httpx.Client, body: Any) -> None:
    response = client.post(
        "/risk/check",
        headers={**ALICE, "Content-Type": "application/json"},
        content=json.dumps(body),  # NaN and Infinity become the non-JSON literals
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["code"] in {
            "MALFORMED_JSON",
            "INVALID_FIELD",
            "UNKNOWN_FIELD",
            "UNKNOWN_SYMBOL",
        }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=st.binary(max_size=300))
def test_post_orders_when_body_is_random_bytes_then_4xx_problem(
    client: httpx.Client, body: bytes
) -> None:
    before = client.get("/orders", headers=ALICE, params={"limit": 1000}).json()
    response = client.post("/orders", headers=ALICE, content=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert client.get("/orders", headers=ALICE, params={"limit": 1000}).json() == before


def test_problem_carries_the_request_id_of_the_response(client: httpx.Client) -> None:
    response = client.get("/orders/O999999", headers={**ALICE, "X-Request-ID": "trace-42"})
    body = assert_problem(response, 404, "ORDER_NOT_FOUND")
    assert response.headers["x-request-id"] == "trace-42"
    assert body["request_id"] == "trace-42"


def test_cancel_when_other_accounts_order_then_404_and_order_untouched(
    client: httpx.Client,
) -> None:
    order = place_resting_buy(client, BOB)
    with orders_unchanged(client, BOB):
        assert_problem(
            client.delete(f"/orders/{order['order_id']}", headers=ALICE), 404, "ORDER_NOT_FOUND"
        )
        assert_problem(
            client.post(
                f"/orders/{order['order_id']}/replace",
                headers=ALICE,
                json={"quantity": 5, "limit_price": resting_buy_price(client)},
            ),
            404,
            "ORDER_NOT_FOUND",
        )


def test_market_order_with_limit_price_then_422_rejected_not_5xx(client: httpx.Client) -> None:
    response = client.post("/orders", headers=ALICE, json={**market_order(), "limit_price": 190.0})
    assert_problem(response, 422, "UNEXPECTED_LIMIT_PRICE")


def test_limit_order_without_price_then_422_missing_limit_price(client: httpx.Client) -> None:
    body = limit_order(190.0)
    del body["limit_price"]
    assert_problem(client.post("/orders", headers=ALICE, json=body), 422, "MISSING_LIMIT_PRICE")
