"""Every fast-path entry has a FastAPI twin: the same method and path, the route function
it names, the same parameters, and (tested on both stacks by every API module, see
support.STACKS) the same responses."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from realtime.api.fastpath import ROUTES, FastPath
from realtime.app import create_app
from realtime.settings import ServiceSettings
from tests.realtime.api.support import copy_config


@pytest.fixture(scope="module")
def fastapi_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    base = tmp_path_factory.mktemp("twin")
    settings = ServiceSettings.from_env(
        {
            "TRADEPIPE_DATA_DIR": str(base / "data"),
            "TRADEPIPE_CONFIG_DIR": str(copy_config(base / "config")),
        }
    )
    fast = create_app(settings).app  # type: ignore[attr-defined]
    assert isinstance(fast, FastPath)
    assert isinstance(fast.app, FastAPI)
    return fast.app


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI nests them)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_api_routes(route.original_router.routes))
    return found


def _twin(app: FastAPI, method: str, path: str) -> APIRoute:
    matches = [r for r in _api_routes(app.routes) if r.path == path and method in (r.methods or ())]
    assert len(matches) == 1, f"no single FastAPI route for {method} {path}"
    return matches[0]


@pytest.mark.parametrize("key", list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_fast_route_when_listed_then_its_fastapi_twin_takes_the_same_parameters(
    fastapi_app: FastAPI, key: tuple[str, str]
) -> None:
    fast = ROUTES[key]
    route = _twin(fastapi_app, fast.method, fast.path)
    assert route.endpoint is fast.endpoint
    # The published document is what clients rely on: compare against it.
    operation = fastapi_app.openapi()["paths"][fast.path][fast.method.lower()]
    parameters = operation.get("parameters", [])
    assert tuple(p["name"] for p in parameters if p["in"] == "query") == fast.query
    assert not [p for p in parameters if p["in"] == "path"]  # the table matches exact paths
    assert ("security" in operation) is fast.api_key
    assert ("requestBody" in operation) is fast.body


# What each fast route can answer, and where it comes from (the handler, the shared
# function it calls, the body and key checks, the exception table in api/errors.py).
ANSWERS: dict[tuple[str, str], set[int]] = {
    # ticker_list; 404 UNKNOWN_SYMBOL for a symbol not in the universe.
    ("GET", "/tickers"): {200, 404},
    ("POST", "/orders"): {
        201,  # accepted
        200,  # an idempotent retry
        400,  # MALFORMED_JSON, INVALID_CONTENT_LENGTH, CLIENT_DISCONNECTED
        401,  # UNAUTHENTICATED
        403,  # ACCOUNT_KEY_REQUIRED
        413,  # BODY_TOO_LARGE
        415,  # UNSUPPORTED_MEDIA_TYPE
        422,  # invalid fields, risk rejections, DUPLICATE_CLIENT_ORDER_ID
        429,  # VENUE_QUEUE_FULL
        503,  # ENGINE_UNAVAILABLE
    },
}


def test_fast_path_answers_when_listed_then_one_entry_per_route() -> None:
    assert set(ANSWERS) == set(ROUTES)


@pytest.mark.parametrize("key", list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_fast_route_when_listed_then_its_twin_documents_exactly_what_it_answers(
    fastapi_app: FastAPI, key: tuple[str, str]
) -> None:
    fast = ROUTES[key]
    route = _twin(fastapi_app, fast.method, fast.path)
    documented = {int(status) for status in route.responses} | {route.status_code or 200}
    assert documented == ANSWERS[key]


def test_fast_path_table_when_built_then_small() -> None:
    assert len(ROUTES) <= 4  # the hot routes only; everything else is FastAPI's
