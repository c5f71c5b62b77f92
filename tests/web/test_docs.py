"""/docs renders with no outside request, and every request example is accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from realtime.api.schemas import ALL_SCHEMA_TYPES
from tests.web.browser import RequestLog
from tests.web.conftest import watch_console
from tests.web.live import LiveService

pytestmark = pytest.mark.slow

ALICE = {"X-API-Key": "alice-demo-key"}
ADMIN = {"X-API-Key": "ops-demo-key"}
STRUCTS = {t.__name__: t for t in ALL_SCHEMA_TYPES}


@pytest.fixture(scope="module")
def document(live: LiveService) -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(live.url + "/openapi.json").json()
    return doc


def json_bodies(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation["requestBody"]["content"]["application/json"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def examples_of(media: dict[str, Any]) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [example["value"] for example in media.get("examples", {}).values()]


def test_every_json_request_body_has_an_example_its_struct_accepts(
    document: dict[str, Any],
) -> None:
    bodies = json_bodies(document)
    assert {(path, method) for path, method, _ in bodies} >= {
        ("/orders", "post"),
        ("/orders/{order_id}/replace", "post"),
        ("/risk/check", "post"),
        ("/admin/trading-state", "put"),
    }
    for path, method, media in bodies:
        examples = examples_of(media)
        assert examples, f"{method.upper()} {path} has no request example"
        name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        for example in examples:
            if name in STRUCTS:
                msgspec.convert(example, STRUCTS[name])  # raises if the route would refuse it


def test_every_request_example_when_sent_then_the_service_accepts_it(
    live: LiveService, document: dict[str, Any]
) -> None:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        for path, method, media in json_bodies(document):
            for number, example in enumerate(examples_of(media)):
                headers = ADMIN if path.startswith("/admin") else ALICE
                url = path
                if "{order_id}" in path:
                    resting = client.post(
                        "/orders",
                        headers=ALICE,
                        json={
                            "client_order_id": f"docs-resting-{number}",
                            "symbol": "AAPL",
                            "side": "BUY",
                            "quantity": 10,
                            "order_type": "LIMIT",
                            "limit_price": 185.0,
                        },
                    )
                    assert resting.status_code == 201, resting.text
                    url = path.replace("{order_id}", resting.json()["order_id"])
                body = dict(example)
                if "client_order_id" in body:  # each example once, as a fresh order
                    body["client_order_id"] += f"-{method}-{path.strip('/').replace('/', '-')}"
                response = client.request(method.upper(), url, headers=headers, json=body)
                assert 200 <= response.status_code < 300, (
                    f"{method.upper()} {path} example {example}: {response.text}"
                )


@pytest.mark.browser
def test_docs_when_offline_then_swagger_ui_renders_and_try_it_out_places_the_example_order(
    live: LiveService, browser_context: Any, requests_log: RequestLog, output_dir: Path
) -> None:
    page = browser_context.new_page()
    watch_console(page, requests_log)
    page.goto(live.url + "/docs")
    page.locator(".swagger-ui .info .title").filter(has_text="tradepipe realtime").wait_for()
    # Authorize with an account key, then Try it out on POST /orders with the example.
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".modal-ux #api_key_value").fill("alice-demo-key")
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()
    operation = page.locator("#operations-trading-submit_order_orders_post")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip().startswith("201")
    page.screenshot(path=str(output_dir / "docs.png"), full_page=False)
    assert requests_log.external == []
    assert [u for u in requests_log.seen if "/docs/assets/" in u], "assets not from the service"
    assert requests_log.console_errors == []


def test_redoc_when_asked_then_redirected_to_the_offline_swagger_ui(live: LiveService) -> None:
    response = httpx.get(live.url + "/redoc")
    assert response.status_code == 308
    assert response.headers["location"] == "/docs"
