"""Market data out (GET /tickers, WS /ws/tickers), order events out (WS /ws/orders) and
alternative data in (POST /alt)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.realtime.api.support import (
    ADMIN,
    ALICE,
    BOB,
    Server,
    assert_problem,
    market_order,
    place,
    place_resting_buy,
    poll,
    tick_of,
    wait_for_status,
)

pytestmark = pytest.mark.slow

SYMBOLS = {
    "AAPL",
    "MSFT",
    "NVDA",
    "AMZN",
    "GOOGL",
    "META",
    "TSLA",
    "JPM",
    "SPY",
    "ESZ6",
    "BTCUSD",
    "DELISTED",
}
WS_TIMEOUT = 5.0


def ws(server: Server, path: str, headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(
        server.ws_url + path,
        additional_headers=headers,
        open_timeout=WS_TIMEOUT,
        close_timeout=WS_TIMEOUT,
    )


def receive_json(connection: ClientConnection, timeout: float = WS_TIMEOUT) -> Any:
    return json.loads(connection.recv(timeout=timeout))


# --- REST tickers ----------------------------------------------------------------


def test_get_tickers_when_no_filter_then_every_instrument(client: httpx.Client) -> None:
    response = client.get("/tickers")
    assert response.status_code == 200
    assert {t["symbol"] for t in response.json()} == SYMBOLS


def test_get_tickers_when_symbols_given_then_exactly_those_in_order(client: httpx.Client) -> None:
    response = client.get("/tickers", params={"symbols": "MSFT, AAPL"})
    assert response.status_code == 200
    assert [t["symbol"] for t in response.json()] == ["MSFT", "AAPL"]


@pytest.mark.parametrize("symbol", ["AAPL", "ESZ6", "BTCUSD"])
def test_get_ticker_when_known_symbol_then_quote_on_tick_grid(
    client: httpx.Client, symbol: str
) -> None:
    ticker = client.get(f"/tickers/{symbol}").json()  # the fixture waited for its quote
    assert ticker["symbol"] == symbol
    assert 0 < ticker["bid"] < ticker["ask"]
    tick = tick_of(symbol)
    for price in (ticker["bid"], ticker["ask"]):
        assert abs(price / tick - round(price / tick)) < 1e-6
    assert ticker["ts_ns"] > 0


@pytest.mark.parametrize("path", ["/tickers/ZZZZ", "/tickers/aapl"])
def test_get_ticker_when_unknown_symbol_then_404_unknown_symbol(
    client: httpx.Client, path: str
) -> None:
    assert_problem(client.get(path), 404, "UNKNOWN_SYMBOL")


def test_get_tickers_when_any_symbol_unknown_then_404_unknown_symbol(
    client: httpx.Client,
) -> None:
    response = client.get("/tickers", params={"symbols": "AAPL,NOPE"})
    assert "NOPE" in assert_problem(response, 404, "UNKNOWN_SYMBOL")["detail"]


# --- WS /ws/tickers ---------------------------------------------------------------


def test_ws_tickers_when_subscribed_then_snapshot_and_only_subscribed_updates(
    server: Server,
) -> None:
    with ws(server, "/ws/tickers") as connection:
        connection.send(json.dumps({"op": "subscribe", "symbols": ["AAPL", "MSFT"]}))
        snapshot = receive_json(connection)
        assert sorted(t["symbol"] for t in snapshot) == ["AAPL", "MSFT"]
        seen: set[str] = set()
        for _ in range(10):
            batch = receive_json(connection)
            assert batch, "an empty batch"
            symbols = {t["symbol"] for t in batch}
            assert symbols <= {"AAPL", "MSFT"}
            seen |= symbols
        assert seen

        # A new subscribe replaces the symbol set; after its snapshot only MSFT arrives.
        connection.send(json.dumps({"op": "subscribe", "symbols": ["MSFT"]}))
        poll(
            lambda: {t["symbol"] for t in receive_json(connection)},
            lambda symbols: symbols == {"MSFT"},
            what="the MSFT-only snapshot",
        )
        for _ in range(5):
            assert {t["symbol"] for t in receive_json(connection)} == {"MSFT"}


def test_ws_tickers_when_subscribed_without_symbols_then_every_symbol(server: Server) -> None:
    with ws(server, "/ws/tickers") as connection:
        connection.send(json.dumps({"op": "subscribe"}))
        assert {t["symbol"] for t in receive_json(connection)} == SYMBOLS


@pytest.mark.parametrize(
    "message",
    [
        {"op": "unsubscribe", "symbols": ["AAPL"]},
        {"op": "subscribe", "symbols": ["NOPE"]},
        {"op": "subscribe", "symbols": "AAPL"},
        {"op": "subscribe", "symbols": ["AAPL"], "depth": 5},
        "subscribe please",
    ],
    ids=["unknown_op", "unknown_symbol", "symbols_not_a_list", "unknown_field", "not_json"],
)
def test_ws_tickers_when_subscribe_invalid_then_error_message_and_connection_usable(
    server: Server, message: Any
) -> None:
    with ws(server, "/ws/tickers") as connection:
        connection.send(message if isinstance(message, str) else json.dumps(message))
        error = receive_json(connection)
        assert error["error"] == "INVALID_SUBSCRIBE"
        assert error["detail"]
        connection.send(json.dumps({"op": "subscribe", "symbols": ["AAPL"]}))
        assert [t["symbol"] for t in receive_json(connection)] == ["AAPL"]


# --- WS /ws/orders -------------------------------------------------------------------


def _events_until(
    connection: ClientConnection, done: Any, timeout: float = WS_TIMEOUT
) -> list[dict[str, Any]]:
    """Messages until `done(messages)` is true, within the deadline."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not done(messages):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out; received {messages}"
        messages.append(receive_json(connection, remaining))
    return messages


def _order_ids(client: httpx.Client, headers: dict[str, str]) -> set[str]:
    orders = client.get("/orders", headers=headers, params={"limit": 1000}).json()["orders"]
    return {o["order_id"] for o in orders}


def test_ws_orders_when_both_accounts_trade_then_each_stream_carries_only_own_events(
    server: Server, client: httpx.Client
) -> None:
    with (
        ws(server, "/ws/orders", headers=BOB) as bob_stream,
        ws(server, "/ws/orders?api_key=alice-demo-key") as alice_stream,
    ):
        alice_order = place(client, ALICE, market_order("BUY", 2))
        bob_order = place(client, BOB, market_order("BUY", 3))
        wait_for_status(client, ALICE, alice_order["order_id"], {"FILLED"})
        wait_for_status(client, BOB, bob_order["order_id"], {"FILLED"})

        def filled(order: dict[str, Any]) -> Any:
            def done(messages: list[dict[str, Any]]) -> bool:
                fills = [
                    m["event"]["quantity"]
                    for m in messages
                    if m["event"]["type"] == "OrderFilled"
                    and m["event"]["order_id"] == order["order_id"]
                ]
                return sum(fills) == order["quantity"]

            return done

        bob_messages = _events_until(bob_stream, filled(bob_order))
        alice_messages = _events_until(alice_stream, filled(alice_order))

    for messages, headers, name in ((bob_messages, BOB, "bob"), (alice_messages, ALICE, "alice")):
        own = _order_ids(client, headers)
        types = [m["event"]["type"] for m in messages]
        assert "OrderAccepted" in types
        assert "OrderFilled" in types
        seqs = [m["seq"] for m in messages]
        assert seqs == sorted(seqs)
        for message in messages:
            event = message["event"]
            assert event["order_id"] in own, f"{name} received {event}"
            assert event.get("account", name) == name


def test_ws_orders_when_order_canceled_and_rejected_then_those_events_streamed(
    server: Server, client: httpx.Client
) -> None:
    with ws(server, "/ws/orders", headers=ALICE) as stream:
        resting = place_resting_buy(client, ALICE)
        assert client.delete(f"/orders/{resting['order_id']}", headers=ALICE).status_code == 202
        rejected = client.post("/orders", headers=ALICE, json=market_order(symbol="DELISTED"))
        rejected_id = assert_problem(rejected, 422, "SYMBOL_NOT_TRADABLE")["order"]["order_id"]

        def complete(messages: list[dict[str, Any]]) -> bool:
            seen = {(m["event"]["type"], m["event"]["order_id"]) for m in messages}
            return {
                ("OrderCanceled", resting["order_id"]),
                ("OrderRejected", rejected_id),
            } <= seen

        messages = _events_until(stream, complete)
    types = [m["event"]["type"] for m in messages if m["event"]["order_id"] == resting["order_id"]]
    assert types == ["OrderAccepted", "OrderAcknowledged", "CancelRequested", "OrderCanceled"]


@pytest.mark.parametrize(
    "path", ["/ws/orders", "/ws/orders?api_key=", "/ws/orders?api_key=wrong-key"]
)
def test_ws_orders_when_key_missing_or_unknown_then_connection_refused(
    server: Server, path: str
) -> None:
    with pytest.raises(InvalidStatus) as refused, ws(server, path):
        pass
    assert refused.value.response.status_code == 403


# --- POST /alt ----------------------------------------------------------------------


@pytest.fixture
def inbox(server: Server) -> Path:
    return server.data_dir / "inbox" / "alt"


def _inbox_files(inbox: Path) -> set[str]:
    return {p.name for p in inbox.iterdir()} if inbox.exists() else set()


VALID = b'{"ts": "2026-11-21T14:30:00Z", "symbol": "AAPL", "signal": "news", "value": 0.25}'


def signal(symbol: str, value: float) -> dict[str, Any]:
    return {
        "ts": "2026-11-21T14:30:00+00:00",
        "symbol": symbol,
        "signal": "sentiment",
        "value": value,
    }


def _read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_post_alt_when_object_then_202_and_jsonl_file_in_inbox(
    client: httpx.Client, inbox: Path
) -> None:
    record = {"ts": "2026-11-21T14:30:00Z", "symbol": "AAPL", "signal": "news", "value": 0.42}
    response = client.post("/alt", headers=ALICE, json=record)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["records"] == 1
    assert accepted["file"].endswith(".jsonl")
    assert "alice" in accepted["file"]
    assert _read_jsonl(inbox / accepted["file"]) == [record]


def test_post_alt_when_array_then_one_file_with_every_record(
    client: httpx.Client, inbox: Path
) -> None:
    records = [signal(s, i) for i, s in enumerate(["AAPL", "MSFT", "NVDA"])]
    response = client.post("/alt", headers=BOB, json=records)
    assert response.status_code == 202
    assert response.json()["records"] == 3
    assert _read_jsonl(inbox / response.json()["file"]) == records


def test_post_alt_when_json_lines_then_every_line_a_record(
    client: httpx.Client, inbox: Path
) -> None:
    body = (
        json.dumps(signal("AAPL", 1)) + "\n\n" + json.dumps(signal("SPY", -0.5)) + "\n"
    ).encode()
    response = client.post(
        "/alt", headers={**ADMIN, "Content-Type": "application/x-ndjson"}, content=body
    )
    assert response.status_code == 202, response.text
    assert response.json()["records"] == 2
    assert _read_jsonl(inbox / response.json()["file"]) == [signal("AAPL", 1), signal("SPY", -0.5)]
    assert not [name for name in _inbox_files(inbox) if name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        (ALICE, b"", 400, "MALFORMED_JSON"),
        (ALICE, b"   \n", 400, "MALFORMED_JSON"),
        (ALICE, b'{"symbol": "AAPL",', 400, "MALFORMED_JSON"),
        (ALICE, b'{"value": NaN}', 400, "MALFORMED_JSON"),
        (ALICE, b"[1, 2]", 422, "INVALID_ALT_RECORD"),
        (ALICE, b'[{"a": 1}, "b"]', 422, "INVALID_ALT_RECORD"),
        (ALICE, b"42", 422, "INVALID_ALT_RECORD"),
        (ALICE, b"[]", 422, "INVALID_ALT_RECORD"),
        (ALICE, VALID[:-1] + b', "extra": 1}', 422, "INVALID_ALT_RECORD"),
        (ALICE, VALID.replace(b"AAPL", b"aapl"), 422, "INVALID_ALT_RECORD"),
        (ALICE, VALID.replace(b"Z", b""), 422, "INVALID_ALT_RECORD"),
        (ALICE, VALID.replace(b"0.25", b"1e999"), 400, "MALFORMED_JSON"),
        (ALICE, b"[" + VALID + b', {"symbol": "AAPL"}]', 422, "INVALID_ALT_RECORD"),
        ({}, b'{"a": 1}', 401, "UNAUTHENTICATED"),
        ({"X-API-Key": "bogus"}, b'{"a": 1}', 401, "UNAUTHENTICATED"),
        (ALICE, b'{"a": "' + b"x" * 70_000 + b'"}', 413, "BODY_TOO_LARGE"),
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "nan",
        "array_of_numbers",
        "mixed_array",
        "scalar",
        "no_records",
        "unknown_field",
        "lower_case_symbol",
        "naive_timestamp",
        "infinite_value",
        "one_bad_record_refuses_all",
        "no_key",
        "bad_key",
        "oversize",
    ],
)
def test_post_alt_when_body_invalid_then_4xx_and_no_file_written(
    client: httpx.Client,
    inbox: Path,
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str,
) -> None:
    before = _inbox_files(inbox)
    response = client.post(
        "/alt", headers={**headers, "Content-Type": "application/json"}, content=body
    )
    assert_problem(response, status, code)
    assert _inbox_files(inbox) == before


def test_post_alt_when_json_lines_contain_a_non_object_then_422_and_no_file(
    client: httpx.Client, inbox: Path
) -> None:
    before = _inbox_files(inbox)
    response = client.post(
        "/alt",
        headers={**ALICE, "Content-Type": "application/x-ndjson"},
        content=VALID + b"\n[2]\n",
    )
    assert_problem(response, 422, "INVALID_ALT_RECORD")
    assert _inbox_files(inbox) == before


# --- logs -----------------------------------------------------------------------------


@pytest.fixture
def log_offset(server: Server) -> Iterator[int]:
    yield len(server.log_text())


def test_server_log_when_websocket_session_then_every_line_is_json(
    server: Server, client: httpx.Client, log_offset: int
) -> None:
    with ws(server, "/ws/tickers") as connection:
        connection.send(json.dumps({"op": "subscribe", "symbols": ["AAPL"]}))
        receive_json(connection)
    poll(
        lambda: server.log_text()[log_offset:],
        lambda text: "/ws/tickers" in text and "closed" in text,
        what="the WebSocket session in the server log",
    )
    for line in server.log_text()[log_offset:].splitlines():
        if line.strip():
            entry = json.loads(line)
            assert {"ts", "level", "logger", "msg"} <= set(entry)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("?symbols=", []), ("?symbols=,", []), ("?symbols=MSFT,AAPL", ["MSFT", "AAPL"])],
    ids=["empty", "only_commas", "two_in_order"],
)
def test_tickers_when_symbols_given_then_those_in_order_and_none_when_empty(
    client: httpx.Client, query: str, expected: list[str]
) -> None:
    response = client.get(f"/tickers{query}")
    assert response.status_code == 200, response.text
    assert [t["symbol"] for t in response.json()] == expected
