"""A trader's session on the page, in headless Chromium, against the real service.

The test plays the market (quotes through the service's feed sink; see live.py), so it
decides when a resting order is crossed; everything else is the page talking to the
service over HTTP and the two WebSockets, as a person's browser would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.browser import RequestLog
from tests.web.conftest import guarded_context, watch_console
from tests.web.live import LiveService, live_service, settings_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALICE_KEY = "alice-demo-key"
BOB = {"X-API-Key": "bob-demo-key"}
ALICE = {"X-API-Key": ALICE_KEY}
ADMIN_KEY = "ops-demo-key"

# The opening market: the replay file sets it, then the feed is quiet until the test
# quotes. Prices far from the synthetic walk's, so a figure on the page is ours.
OPENING = """ts,symbol,bid,ask,bid_size,ask_size
2026-11-26T14:30:00Z,AAPL,100.00,100.02,5000,5000
2026-11-26T14:30:00Z,MSFT,300.00,300.04,5000,5000
"""


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveService]:
    ticks = tmp_path / "opening.csv"
    ticks.write_text(OPENING)
    settings = settings_for(tmp_path, feed=str(ticks), replay_speed=0.0)
    with live_service(settings) as running:
        yield running


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def sign_in(page: Any, url: str, key: str) -> None:
    """By keyboard alone: the key field has focus on load, Enter submits."""
    page.goto(url + "/")
    expect(page.locator("#api_key")).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page.locator("#app")).to_be_visible()


def enter_order(
    page: Any, *, side: str, quantity: int, price: float | None, tif: str = "GTC"
) -> None:
    page.check(f"#side-{side.lower()}")
    page.select_option("#ticket-symbol", "AAPL")
    page.fill("#ticket-quantity", str(quantity))
    page.select_option("#ticket-type", "LIMIT" if price is not None else "MARKET")
    if price is not None:
        page.fill("#ticket-price", f"{price:.2f}")
    page.select_option("#ticket-tif", tif)


def send_order(page: Any) -> str:
    """Submit the ticket; the order id the page reports as accepted."""
    result = page.locator("#ticket-result")
    page.evaluate("document.querySelector('#ticket-result').replaceChildren()")
    page.evaluate("document.querySelector('#ticket-result').className = 'outcome'")
    page.click("#send")
    expect(result).to_have_text(re.compile(r"accepted \(\S+\)"))
    expect(result).to_have_class(re.compile(r"\bok\b"))
    found = re.search(r"accepted \((\S+)\)", result.inner_text())
    assert found, result.inner_text()
    return found.group(1)


def order_row(page: Any, order_id: str) -> Any:
    return page.locator(f"#orders tbody tr[data-order-id='{order_id}']")


def test_trader_session_orders_fills_cancels_rejections_pnl_and_the_kill_switch(
    live: LiveService,
    chromium: Any,
    browser_context: Any,
    requests_log: RequestLog,
    output_dir: Path,
) -> None:
    http = httpx.Client(base_url=live.url, timeout=10)
    bob_before = http.post(
        "/orders",
        headers=BOB,
        json={
            "client_order_id": "bob-private-1",
            "symbol": "AAPL",
            "side": "BUY",
            "quantity": 7,
            "order_type": "LIMIT",
            "limit_price": 99.5,
        },
    )
    assert bob_before.status_code == 201, bob_before.text

    page = browser_context.new_page()
    watch_console(page, requests_log)

    # Sign in: the key goes to session storage, never into the address bar.
    sign_in(page, live.url, ALICE_KEY)
    expect(page.locator("#who")).to_have_text("alice")
    assert ALICE_KEY not in page.url
    assert page.evaluate("sessionStorage.getItem('tradepipe.apiKey')") == ALICE_KEY
    expect(page.locator("[data-connection=orders] .label")).to_have_text("live")

    # Watch a ticker update.
    bid = page.locator("#tickers tr[data-symbol=AAPL] [data-field=bid]")
    expect(bid).to_have_text("100.00")
    live.quote("AAPL", 100.10, 100.12)
    expect(bid).to_have_text("100.10")
    expect(page.locator("#tickers tr[data-symbol=AAPL] [data-field=change]")).to_have_text("+0.10")

    # A limit order below the market rests (NEW), then fills when the market crosses it.
    enter_order(page, side="BUY", quantity=100, price=99.90)
    expect(page.locator("#preview")).to_have_text(re.compile("Passes the pre-trade checks"))
    resting = send_order(page)
    expect(order_row(page, resting)).to_have_attribute("data-status", "NEW")
    live.quote("AAPL", 99.80, 99.85)
    expect(order_row(page, resting)).to_have_attribute("data-status", "FILLED")
    expect(page.locator("#fill-count")).to_have_text("1")

    # P&L follows the market: the position is marked up when the price rises.
    position = page.locator("#positions tr[data-symbol=AAPL]")
    expect(position).to_be_visible()
    unrealized = page.locator("[data-pnl=unrealized_pnl]")
    before = unrealized.inner_text()
    live.quote("AAPL", 101.00, 101.02)
    average_cost = http.get("/pnl", headers=ALICE).json()["positions"][0]["average_cost"]
    marked_up = f"{100 * (101.01 - average_cost):,.2f}"
    expect(unrealized).to_have_text(marked_up)
    assert marked_up != before
    expect(unrealized).to_have_class(re.compile(r"\bup\b"))

    # Cancel another resting order from the blotter.
    enter_order(page, side="BUY", quantity=50, price=99.00)
    to_cancel = send_order(page)
    expect(order_row(page, to_cancel)).to_have_attribute("data-status", "NEW")
    order_row(page, to_cancel).get_by_role("button", name="Cancel").click()
    expect(order_row(page, to_cancel)).to_have_attribute("data-status", "CANCELED")

    # A rejection: the preview warns with the code, sending shows the server's code.
    enter_order(page, side="BUY", quantity=20_000, price=100.50)
    expect(page.locator("#preview code")).to_have_text("MAX_ORDER_QUANTITY")
    page.click("#send")
    expect(page.locator("#ticket-result code")).to_have_text("MAX_ORDER_QUANTITY")
    expect(page.locator("#orders tbody tr[data-status=REJECTED] code")).to_have_text(
        "MAX_ORDER_QUANTITY"
    )

    # The admin halts trading (confirming first); the trader's next order is refused.
    admin_context = guarded_context(chromium, requests_log)
    try:
        admin = admin_context.new_page()
        watch_console(admin, requests_log)
        sign_in(admin, live.url, ADMIN_KEY)
        expect(admin.locator("#global-state")).to_have_text("ACTIVE")
        expect(admin.locator("#limits tbody")).to_contain_text("Max order qty")
        admin.click("#halt")
        expect(admin.locator("#halt-dialog")).to_be_visible()
        admin.fill("#halt-reason", "browser test: kill switch")
        admin.click("#halt-confirm")
        expect(admin.locator("#global-state")).to_have_text("HALTED")

        enter_order(page, side="BUY", quantity=10, price=100.00)
        page.click("#send")
        expect(page.locator("#ticket-result code")).to_have_text("TRADING_HALTED")

        admin.click("#resume")
        expect(admin.locator("#global-state")).to_have_text("ACTIVE")
        admin.screenshot(path=str(output_dir / "admin.png"))
    finally:
        admin_context.close()
    after_resume = send_order(page)
    expect(order_row(page, after_resume)).to_have_attribute("data-status", "NEW")

    # Replace it: new total quantity and limit price, confirmed by the venue.
    order_row(page, after_resume).get_by_role("button", name="Replace").click()
    page.fill("#replace-form [name=quantity]", "20")
    page.fill("#replace-form [name=limit_price]", "99.50")
    page.get_by_role("button", name="Send replace").click()
    expect(order_row(page, after_resume).locator("td").nth(3)).to_have_text("20")
    expect(order_row(page, after_resume).locator("td").nth(5)).to_have_text("99.50")
    expect(order_row(page, after_resume)).to_have_attribute("data-status", "NEW")

    # Filters: by status.
    page.select_option("#filter-status", "FILLED")
    expect(page.locator("#orders tbody tr")).to_have_count(1)
    expect(page.locator("#orders tbody tr")).to_have_attribute("data-order-id", resting)
    page.select_option("#filter-status", "")

    # Bob trades while alice watches: none of his orders ever reaches her page.
    bob_during = http.post(
        "/orders",
        headers=BOB,
        json={
            "client_order_id": "bob-private-2",
            "symbol": "AAPL",
            "side": "SELL",
            "quantity": 5,
            "order_type": "MARKET",
        },
    )
    assert bob_during.status_code == 201, bob_during.text
    alice_orders = http.get("/orders", headers=ALICE).json()["orders"]
    rows = page.locator("#orders tbody tr")
    expect(rows).to_have_count(len(alice_orders))
    shown = set(rows.evaluate_all("rows => rows.map(r => r.dataset.orderId)"))
    assert shown == {o["order_id"] for o in alice_orders}
    bob_ids = {bob_before.json()["order_id"], bob_during.json()["order_id"]}
    assert not shown & bob_ids
    assert "bob-private" not in page.content()

    page.screenshot(path=str(output_dir / "trader.png"), full_page=True)
    # A narrow window: one column, nothing wider than the window but the tables' own scroll.
    page.set_viewport_size({"width": 420, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    page.screenshot(path=str(output_dir / "trader-narrow.png"), full_page=True)
    http.close()
    assert requests_log.external == []
    assert requests_log.console_errors == []
