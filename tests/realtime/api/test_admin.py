"""Admin actions: only an admin key changes the trading state (kill switch) or the limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.realtime.api.support import (
    ADMIN,
    ALICE,
    BOB,
    Server,
    assert_problem,
    market_order,
    orders_unchanged,
    place,
    quote,
    wait_for_status,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def active_again(client: httpx.Client) -> Iterator[None]:
    """Whatever a test switched, everything is ACTIVE again afterwards."""
    yield
    for account in (None, "alice", "bob"):
        body = {"state": "ACTIVE"} if account is None else {"state": "ACTIVE", "account": account}
        assert client.put("/admin/trading-state", headers=ADMIN, json=body).status_code == 200


@pytest.fixture
def limits_file(server: Server, client: httpx.Client) -> Iterator[Path]:
    """The server's limits file; restored (and reloaded) after the test."""
    path = server.config_dir / "limits.toml"
    original = path.read_bytes()
    yield path
    path.write_bytes(original)
    assert client.post("/admin/limits/reload", headers=ADMIN).status_code == 200


def test_get_trading_state_when_admin_then_global_and_per_account_states(
    client: httpx.Client,
) -> None:
    response = client.get("/admin/trading-state", headers=ADMIN)
    assert response.status_code == 200
    view = response.json()
    assert view["global_state"] == "ACTIVE"
    assert set(view["accounts"].values()) <= {"ACTIVE", "REDUCING", "HALTED"}


def test_put_trading_state_when_global_halt_then_orders_rejected_trading_halted(
    client: httpx.Client, active_again: None
) -> None:
    response = client.put(
        "/admin/trading-state", headers=ADMIN, json={"state": "HALTED", "reason": "test"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["global_state"] == "HALTED"
    for headers in (ALICE, BOB):
        rejected = client.post("/orders", headers=headers, json=market_order())
        assert assert_problem(rejected, 422, "TRADING_HALTED")["order"]["status"] == "REJECTED"
    resumed = client.put("/admin/trading-state", headers=ADMIN, json={"state": "ACTIVE"})
    assert resumed.json()["global_state"] == "ACTIVE"
    assert client.post("/orders", headers=ALICE, json=market_order()).status_code == 201


def test_put_trading_state_when_one_account_halted_then_only_that_account_rejected(
    client: httpx.Client, active_again: None
) -> None:
    response = client.put(
        "/admin/trading-state", headers=ADMIN, json={"state": "HALTED", "account": "bob"}
    )
    assert response.status_code == 200
    view = response.json()
    assert view["global_state"] == "ACTIVE"
    assert view["accounts"]["bob"] == "HALTED"
    assert_problem(client.post("/orders", headers=BOB, json=market_order()), 422, "TRADING_HALTED")
    assert client.post("/orders", headers=ALICE, json=market_order()).status_code == 201


def test_put_trading_state_when_reducing_then_position_increase_rejected_reduce_only(
    client: httpx.Client, active_again: None
) -> None:
    quote(client, "JPM")  # a market order needs a reference price: wait for JPM's first quote
    bought = place(client, ALICE, market_order("BUY", 5, symbol="JPM"))
    wait_for_status(client, ALICE, bought["order_id"], {"FILLED"})
    client.put(
        "/admin/trading-state", headers=ADMIN, json={"state": "REDUCING", "account": "alice"}
    )
    grow = client.post("/orders", headers=ALICE, json=market_order("BUY", 1, symbol="JPM"))
    assert_problem(grow, 422, "REDUCE_ONLY")
    shrink = client.post("/orders", headers=ALICE, json=market_order("SELL", 5, symbol="JPM"))
    assert shrink.status_code == 201, shrink.text


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"state": "PAUSED"}, 422, "INVALID_FIELD"),
        ({"state": "HALTED", "account": ""}, 422, "INVALID_FIELD"),
        ({"state": "HALTED", "reason": "x" * 201}, 422, "INVALID_FIELD"),
        ({"state": "HALTED", "scope": "all"}, 422, "UNKNOWN_FIELD"),
        ({"state": "HALTED", "account": "mallory"}, 404, "UNKNOWN_ACCOUNT"),
        ({"state": "HALTED", "account": "ops"}, 404, "UNKNOWN_ACCOUNT"),
        ({}, 422, "INVALID_FIELD"),
    ],
)
def test_put_trading_state_when_body_invalid_then_4xx_and_state_unchanged(
    client: httpx.Client, body: dict[str, object], status: int, code: str
) -> None:
    before = client.get("/admin/trading-state", headers=ADMIN).json()
    response = client.put("/admin/trading-state", headers=ADMIN, json=body)
    assert_problem(response, status, code)
    assert client.get("/admin/trading-state", headers=ADMIN).json() == before


@pytest.mark.parametrize("body", [b"", b"{state: HALTED}", b'{"state": "HALTED"'])
def test_put_trading_state_when_malformed_then_400_and_state_unchanged(
    client: httpx.Client, body: bytes
) -> None:
    before = client.get("/admin/trading-state", headers=ADMIN).json()
    response = client.put("/admin/trading-state", headers=ADMIN, content=body)
    assert_problem(response, 400, "MALFORMED_JSON")
    assert client.get("/admin/trading-state", headers=ADMIN).json() == before


@pytest.mark.parametrize("headers", [ALICE, BOB, {}], ids=["alice", "bob", "anonymous"])
def test_put_trading_state_when_not_admin_then_refused_and_trading_continues(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.put("/admin/trading-state", headers=headers, json={"state": "HALTED"})
    if headers:
        assert_problem(response, 403, "ADMIN_REQUIRED")
    else:
        assert_problem(response, 401, "UNAUTHENTICATED")
    assert client.get("/admin/trading-state", headers=ADMIN).json()["global_state"] == "ACTIVE"
    assert client.post("/orders", headers=ALICE, json=market_order()).status_code == 201


# --- limits --------------------------------------------------------------------------


def _alice_quantity_verdict(client: httpx.Client, quantity: int) -> str | None:
    response = client.post("/risk/check", headers=ALICE, json=market_order("BUY", quantity))
    assert response.status_code == 200, response.text
    code: str | None = response.json()["code"]
    return code


def test_reload_limits_when_file_unchanged_then_200_not_changed(client: httpx.Client) -> None:
    response = client.post("/admin/limits/reload", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body["changed"] is False
    assert len(body["digest"]) == 64


def test_reload_limits_when_file_changed_then_new_limits_in_force(
    client: httpx.Client, limits_file: Path
) -> None:
    assert _alice_quantity_verdict(client, 100) is None
    before = client.post("/admin/limits/reload", headers=ADMIN).json()["digest"]
    text = limits_file.read_text()
    limits_file.write_text(
        text.replace("[accounts.alice]\n", "[accounts.alice]\nmax_order_quantity = 50\n")
    )
    response = client.post("/admin/limits/reload", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["changed"] is True
    assert response.json()["digest"] != before
    assert _alice_quantity_verdict(client, 100) == "MAX_ORDER_QUANTITY"
    assert_problem(
        client.post("/orders", headers=ALICE, json=market_order("BUY", 100)),
        422,
        "MAX_ORDER_QUANTITY",
    )
    assert _alice_quantity_verdict(client, 10) is None


@pytest.mark.parametrize(
    "breakage",
    [
        ("max_order_quantity = 10_000", "max_order_quantity = -1"),
        ("price_collar_pct = 5.0", "price_collar_pct = 500.0"),
        ("\n[default]\n", "\n[default]\nmax_daily_loss = 5\n"),
        ("max_leverage = 4.0", 'max_leverage = "lots"'),
        ("\n[default]\n", "\n[default\n"),
        ("\n[default]\n", "\n[defaults]\n"),
        ('restricted_symbols = ["TSLA"]', 'restricted_symbols = ["TSLAA"]'),
        ("[accounts.bob]", "[accounts.bobby]"),
    ],
    ids=[
        "negative",
        "out_of_range",
        "unknown_key",
        "wrong_type",
        "bad_toml",
        "no_default",
        "unknown_restricted_symbol",
        "unknown_account",
    ],
)
def test_reload_limits_when_file_invalid_then_422_invalid_limits_and_running_limits_stay(
    client: httpx.Client, limits_file: Path, breakage: tuple[str, str]
) -> None:
    text = limits_file.read_text()
    # First put distinctive limits in force, then break the file.
    tightened = text.replace("[accounts.alice]\n", "[accounts.alice]\nmax_order_quantity = 50\n")
    limits_file.write_text(tightened)
    in_force = client.post("/admin/limits/reload", headers=ADMIN).json()["digest"]
    old, new = breakage
    assert old in tightened
    limits_file.write_text(tightened.replace(old, new, 1))

    response = client.post("/admin/limits/reload", headers=ADMIN)

    assert_problem(response, 422, "INVALID_LIMITS")
    assert _alice_quantity_verdict(client, 100) == "MAX_ORDER_QUANTITY"
    assert _alice_quantity_verdict(client, 10) is None
    limits_file.write_text(tightened)
    again = client.post("/admin/limits/reload", headers=ADMIN).json()
    assert again == {"digest": in_force, "changed": False}


def test_reload_limits_when_file_missing_then_422_invalid_limits(
    client: httpx.Client, limits_file: Path
) -> None:
    limits_file.unlink()
    assert_problem(client.post("/admin/limits/reload", headers=ADMIN), 422, "INVALID_LIMITS")
    assert _alice_quantity_verdict(client, 100) is None


@pytest.mark.parametrize("headers", [ALICE, BOB], ids=["alice", "bob"])
def test_reload_limits_when_not_admin_then_403_and_limits_not_reloaded(
    client: httpx.Client, limits_file: Path, headers: dict[str, str]
) -> None:
    limits_file.write_text(
        limits_file.read_text().replace(
            "[accounts.alice]\n", "[accounts.alice]\nmax_order_quantity = 50\n"
        )
    )
    with orders_unchanged(client, ALICE):
        assert_problem(client.post("/admin/limits/reload", headers=headers), 403, "ADMIN_REQUIRED")
    assert _alice_quantity_verdict(client, 100) is None
