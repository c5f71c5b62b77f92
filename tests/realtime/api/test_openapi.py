"""The OpenAPI document is valid, and every operation in it answers as documented."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from tests.realtime.api.support import (
    ADMIN,
    ALICE,
    PROBLEM_JSON,
    market_order,
    place_resting_buy,
)

pytestmark = pytest.mark.slow

METHODS = ("get", "put", "post", "delete", "patch")
# Answered without a key too (the global view); a key, when sent, must be valid.
KEY_OPTIONAL = frozenset({"/instruments"})

# Request bodies by the schema the document names for them.
SAMPLE_BODIES: dict[str, Any] = {
    "NewOrder": lambda: market_order("BUY", 1),
    "ReplaceOrder": lambda: {"quantity": 2},
    "TradingStateUpdate": lambda: {"state": "ACTIVE", "reason": "openapi walk"},
}


@pytest.fixture(scope="module")
def document(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def sample_request(
    client: httpx.Client, path: str, method: str, operation: dict[str, Any]
) -> dict[str, Any]:
    """A valid request for the operation: auth, path parameters and body."""
    headers = {}
    if operation.get("security"):
        headers = dict(ADMIN if path.startswith("/admin") else ALICE)
    url = path
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        if name == "order_id":
            value = place_resting_buy(client, ALICE)["order_id"]  # a fresh one per operation
        elif name == "symbol":
            value = "AAPL"
        else:
            raise AssertionError(f"{method.upper()} {path}: no sample for path parameter {name}")
        url = url.replace("{" + name + "}", value)
    request: dict[str, Any] = {"method": method.upper(), "url": url, "headers": headers}
    body = operation.get("requestBody")
    if body is not None:
        media = body["content"]["application/json"]
        if "example" in media:
            request["json"] = media["example"]
        else:
            ref = media["schema"]["$ref"].rsplit("/", 1)[-1]
            assert ref in SAMPLE_BODIES, f"{method.upper()} {path}: no sample body for {ref}"
            request["json"] = SAMPLE_BODIES[ref]()
    return request


def schema_errors(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    validator = OAS31Validator({**schema, "components": document["components"]})
    return [error.message for error in validator.iter_errors(value)]


def test_openapi_document_is_a_valid_openapi_3_1_document(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_openapi_document_lists_every_route(document: dict[str, Any]) -> None:
    listed = {(path, method) for path, method, _ in operations(document)}
    assert listed == {
        ("/orders", "post"),
        ("/orders", "get"),
        ("/orders/{order_id}", "get"),
        ("/orders/{order_id}", "delete"),
        ("/orders/{order_id}/replace", "post"),
        ("/fills", "get"),
        ("/positions", "get"),
        ("/pnl", "get"),
        ("/risk/check", "post"),
        ("/tickers", "get"),
        ("/tickers/{symbol}", "get"),
        ("/instruments", "get"),
        ("/alt", "post"),
        ("/admin/trading-state", "get"),
        ("/admin/trading-state", "put"),
        ("/admin/limits/reload", "post"),
        ("/admin/limits", "get"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
    }


def test_every_operation_when_sample_request_then_documented_status_media_type_and_body(
    client: httpx.Client, document: dict[str, Any]
) -> None:
    problems = []
    for path, method, operation in operations(document):
        request = sample_request(client, path, method, operation)
        response = client.request(**request)
        where = f"{method.upper()} {path} -> {response.status_code}"
        documented = operation["responses"]
        entry = documented.get(str(response.status_code))
        if entry is None:
            problems.append(f"{where}: not among the documented {sorted(documented)}")
            continue
        if not 200 <= response.status_code < 300:
            problems.append(f"{where}: a valid sample request failed: {response.text[:200]}")
        content = entry.get("content")
        if not content:
            continue
        media_type = response.headers["content-type"].split(";")[0].strip()
        if media_type not in content:
            problems.append(f"{where}: content type {media_type}, documented {sorted(content)}")
            continue
        schema = content[media_type].get("schema")
        if schema and media_type.endswith("json"):
            errors = schema_errors(document, schema, response.json())
            if errors:
                problems.append(f"{where}: body does not match its schema: {errors[:3]}")
    assert not problems, "\n".join(problems)


def test_every_secured_operation_when_no_key_then_documented_401_problem(
    client: httpx.Client, document: dict[str, Any]
) -> None:
    problems = []
    for path, method, operation in operations(document):
        if not operation.get("security") or path in KEY_OPTIONAL:
            continue
        url = path.replace("{order_id}", "O1").replace("{symbol}", "AAPL")
        response = client.request(method.upper(), url)
        where = f"{method.upper()} {path}"
        if response.status_code != 401:
            problems.append(f"{where}: {response.status_code} without a key")
        elif "401" not in operation["responses"]:
            problems.append(f"{where}: 401 is not documented")
        elif response.headers["content-type"] != PROBLEM_JSON:
            problems.append(f"{where}: 401 is {response.headers['content-type']}")
        else:
            schema = operation["responses"]["401"]["content"][PROBLEM_JSON]["schema"]
            errors = schema_errors(document, schema, response.json())
            if errors:
                problems.append(f"{where}: 401 body does not match its schema: {errors[:3]}")
    assert not problems, "\n".join(problems)


def test_every_secured_operation_declares_the_api_key_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["APIKeyHeader"]["description"],
    }
    public = {"/health", "/ready", "/metrics", "/tickers", "/tickers/{symbol}"}
    for path, method, operation in operations(document):
        if path not in public:
            assert operation.get("security") == [{"APIKeyHeader": []}], (method, path)


def test_every_documented_error_response_is_problem_json(document: dict[str, Any]) -> None:
    wrong = []
    for path, method, operation in operations(document):
        for status, entry in operation["responses"].items():
            if int(status) < 400 or "content" not in entry:
                continue
            if set(entry["content"]) != {PROBLEM_JSON}:
                wrong.append(f"{method.upper()} {path} {status}: {sorted(entry['content'])}")
    assert not wrong, "\n".join(wrong)


def test_invalid_query_parameter_answers_problem_json_whatever_the_document_says(
    client: httpx.Client,
) -> None:
    response = client.get("/orders", headers=ALICE, params={"limit": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "INVALID_PARAMETER"
