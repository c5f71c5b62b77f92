"""Fees and decision prices through the HTTP API: a fill shows its fee, realized P&L
is net of it, and an order shows the decision price it was given or its arrival mid."""

from __future__ import annotations

import httpx
import pytest

from realtime.instruments import load_universe
from tests.realtime.api.support import (
    ALICE,
    Server,
    limit_order,
    market_order,
    place,
    quote,
    wait_for_status,
)

pytestmark = pytest.mark.slow


def test_post_orders_when_decision_price_given_then_the_order_shows_it(
    client: httpx.Client,
) -> None:
    bid, _ = quote(client, "AAPL")
    body = {**limit_order(round(bid * 0.97, 2), "BUY", 1), "decision_price": 123.45}
    order = place(client, ALICE, body)
    assert order["decision_price"] == 123.45


def test_post_orders_when_no_decision_price_then_the_arrival_mid_is_recorded(
    client: httpx.Client,
) -> None:
    bid, ask = quote(client, "AAPL")
    order = place(client, ALICE, limit_order(round(bid * 0.97, 2), "BUY", 1))
    # The quote may move between our read and the submit: the mid of a live quote.
    assert order["decision_price"] == pytest.approx((bid + ask) / 2, rel=0.02)


@pytest.mark.parametrize("bad", [0, -1, "x"])
def test_post_orders_when_decision_price_invalid_then_422_invalid_field(
    client: httpx.Client, bad: object
) -> None:
    bid, _ = quote(client, "AAPL")
    body = {**limit_order(round(bid * 0.97, 2), "BUY", 1), "decision_price": bad}
    response = client.post("/orders", headers=ALICE, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "INVALID_FIELD"


def test_fills_when_order_filled_then_each_fill_has_the_configured_fee_and_pnl_is_net(
    client: httpx.Client, server: Server
) -> None:
    fees = load_universe(server.config_dir / "instruments.toml").fees
    assert not fees.is_free  # the shipped config charges fees
    order = place(client, ALICE, market_order("BUY", 5, symbol="MSFT"))
    filled = wait_for_status(client, ALICE, order["order_id"], {"FILLED"})
    fills = client.get("/fills", headers=ALICE, params={"symbol": "MSFT"}).json()["fills"]
    mine = [f for f in fills if f["order_id"] == order["order_id"]]
    assert mine and all(
        # Money is answered to the cent (realtime.presentation).
        f["fee"] == round(fees.fee(f["quantity"], f["price"], f["liquidity"]), 2)
        for f in mine
    )
    assert filled["fees"] == pytest.approx(sum(f["fee"] for f in mine), abs=0.01)
    # Only buys so far, nothing closed: realized P&L is exactly minus every fee paid.
    every_fill = client.get("/fills", headers=ALICE).json()["fills"]
    pnl = client.get("/pnl", headers=ALICE).json()
    assert pnl["realized_pnl"] == pytest.approx(
        -sum(f["fee"] for f in every_fill), abs=0.005 * (len(every_fill) + 1)
    )
