"""Bad bytes are never a 5xx: invalid UTF-8, nesting 1,000 deep, and bodies declared as
something other than JSON, on every route with a body, on both stacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.realtime.api.support import (
    ADMIN,
    ALICE,
    BOB,
    Server,
    assert_problem,
    client_order_id,
    orders_unchanged,
    place_resting_buy,
)

pytestmark = pytest.mark.slow

JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 1000 + b"]" * 1000


def bad_utf8_order() -> bytes:
    return (
        b'{"client_order_id":"\xff\xfe\xc3","symbol":"AAPL","side":"BUY","quantity":1,'
        b'"order_type":"MARKET"}'
    )


def deep_order() -> bytes:
    return (
        b'{"client_order_id":"'
        + client_order_id("deep").encode()
        + b'","symbol":"AAPL","side":"BUY","quantity":1,"order_type":"MARKET","x":'
        + DEEP
        + b"}"
    )


# The typed decoder refuses a deep body at its first wrong-shaped byte (an array where
# an object belongs, an unknown field), so those are a 422 before any depth is reached;
# depth itself is covered by test_bodies.py and the /alt cases below.
BAD_BODIES = {
    "invalid_utf8_in_a_string": (None, 400, "MALFORMED_JSON"),  # the route's own, below
    "invalid_utf8_in_a_key": (lambda: b'{"\xff\xfe": 1}', 400, "MALFORMED_JSON"),
    "invalid_utf8_bare": (lambda: b"\xff\xfe\xfd", 400, "MALFORMED_JSON"),
    "nested_1000_deep": (lambda: DEEP, 422, "INVALID_FIELD"),
    "nested_1000_deep_in_a_field": (deep_order, 422, "UNKNOWN_FIELD"),
}

# Per route, a body whose string field (one the route's type has) is not UTF-8.
STRING_FIELD_BODIES = {
    "/orders": bad_utf8_order(),
    "/risk/check": bad_utf8_order(),
    "/admin/trading-state": b'{"state": "ACTIVE", "reason": "\xc3\x28"}',
    "/orders/{order_id}/replace": b'{"quantity": 2, "\xe2\x82": 1}',
}


@pytest.fixture(scope="module")
def resting(client: httpx.Client) -> dict[str, Any]:
    return place_resting_buy(client, ALICE)


@pytest.mark.parametrize(
    ("make", "status", "code"), list(BAD_BODIES.values()), ids=list(BAD_BODIES)
)
@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/orders", ALICE),
        ("POST", "/risk/check", ALICE),
        ("PUT", "/admin/trading-state", ADMIN),
        ("POST", "/orders/{order_id}/replace", ALICE),
    ],
    ids=["orders", "risk_check", "trading_state", "replace"],
)
def test_body_with_bad_bytes_then_4xx_with_its_code_and_nothing_changes(
    client: httpx.Client,
    resting: dict[str, Any],
    method: str,
    path: str,
    headers: dict[str, str],
    make: Any,
    status: int,
    code: str,
) -> None:
    url = path.format(order_id=resting["order_id"])
    before = client.get("/admin/trading-state", headers=ADMIN).json()
    with orders_unchanged(client, ALICE), orders_unchanged(client, BOB):
        body = STRING_FIELD_BODIES[path] if make is None else make()
        response = client.request(method, url, headers={**headers, **JSON}, content=body)
        assert_problem(response, status, code)
    assert client.get("/admin/trading-state", headers=ADMIN).json() == before


# --- POST /alt ---------------------------------------------------------------------

RECORD = b'{"ts": "2026-11-21T14:30:00Z", "symbol": "AAPL", "signal": "news", "value": 0.25}'
NDJSON = {"Content-Type": "application/x-ndjson"}


def _files(server: Server) -> set[str]:
    inbox: Path = server.data_dir / "inbox" / "alt"
    return {p.name for p in inbox.iterdir()} if inbox.exists() else set()


@pytest.mark.parametrize(
    ("headers", "body", "record"),
    [
        (JSON, DEEP, 0),
        (JSON, b"[" + RECORD + b"," + RECORD + b"," + DEEP + b"]", 2),
        (JSON, RECORD.replace(b"0.25", DEEP), 0),
        (JSON, b"[" + RECORD + b"," + RECORD.replace(b"0.25", b'{"v":' + DEEP + b"}") + b"]", 1),
        (NDJSON, RECORD + b"\n\n" + RECORD + b"\n" + DEEP + b"\n", 2),
        (NDJSON, RECORD + b"\n" + RECORD.replace(b"0.25", DEEP), 1),
        (JSON, RECORD.replace(b"news", b"n\xffws"), 0),
        (JSON, b"[" + RECORD + b"," + RECORD.replace(b"AAPL", b"\xc3\x28") + b"]", 1),
        (NDJSON, RECORD + b"\n" + RECORD + b"\n" + RECORD.replace(b"news", b"\xe2\x82") + b"\n", 2),
    ],
    ids=[
        "deep_body",
        "deep_array_element",
        "deep_value",
        "deep_inside_value_of_second",
        "deep_ndjson_line",
        "deep_value_in_ndjson_line",
        "invalid_utf8_body",
        "invalid_utf8_array_element",
        "invalid_utf8_ndjson_line",
    ],
)
def test_post_alt_when_deep_or_not_utf8_then_422_invalid_alt_record_naming_the_record(
    server: Server, client: httpx.Client, headers: dict[str, str], body: bytes, record: int
) -> None:
    before = _files(server)
    response = client.post("/alt", headers={**ALICE, **headers}, content=body)
    problem = assert_problem(response, 422, "INVALID_ALT_RECORD")
    assert f"record {record}:" in problem["detail"]
    assert _files(server) == before


# --- Content-Type --------------------------------------------------------------------


def order_body() -> bytes:
    return (
        b'{"client_order_id":"' + client_order_id("ct").encode() + b'","symbol":"AAPL",'
        b'"side":"BUY","quantity":1,"order_type":"LIMIT","limit_price":1.0}'
    )


NOT_JSON_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/json; charset=latin-1",
]


@pytest.mark.parametrize("content_type", NOT_JSON_TYPES)
@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/orders", ALICE),
        ("POST", "/risk/check", ALICE),
        ("PUT", "/admin/trading-state", ADMIN),
        ("POST", "/alt", ALICE),
    ],
    ids=["orders", "risk_check", "trading_state", "alt"],
)
def test_body_declared_not_json_then_415_unsupported_media_type_and_no_order(
    server: Server,
    client: httpx.Client,
    method: str,
    path: str,
    headers: dict[str, str],
    content_type: str,
) -> None:
    files = _files(server)
    body = RECORD if path == "/alt" else b'{"state": "ACTIVE"}' if "admin" in path else order_body()
    with orders_unchanged(client, ALICE):
        response = client.request(
            method, path, headers={**headers, "Content-Type": content_type}, content=body
        )
        assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert _files(server) == files


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/json; charset=utf-8", "application/vnd.x+json"],
    ids=["none", "json", "json_utf8", "structured_suffix"],
)
def test_post_orders_when_json_or_no_content_type_then_the_order_is_taken(
    client: httpx.Client, content_type: str | None
) -> None:
    headers = {**ALICE, **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/orders", headers=headers, content=order_body())
    # 1.0 is far outside the price collar: a journaled risk rejection proves the body was read.
    assert_problem(response, 422, "PRICE_OUTSIDE_COLLAR")
