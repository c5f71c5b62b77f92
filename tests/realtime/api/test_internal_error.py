"""An unexpected exception in any handler answers problem+json INTERNAL_ERROR with the
request id, on the fast path and the FastAPI routes alike, and is logged once with its
traceback. In process (a real service on a temporary data directory), with a fault
injected into the engine or a query: a real failure cannot be provoked from outside."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from realtime import queries
from realtime.api.middleware import ASGIApp
from realtime.app import create_app
from realtime.engine import TradingEngine
from realtime.settings import ServiceSettings
from tests.realtime.api.support import ADMIN, ALICE, PROBLEM_JSON, copy_config


class Injected(RuntimeError):
    """The fault a test plants."""


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan (start-up before, shutdown after), as a server does."""
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def receive() -> MutableMapping[str, Any]:
        return await incoming.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        await outgoing.put(dict(message))

    task: asyncio.Future[None] = asyncio.ensure_future(app(scope, receive, send))
    await incoming.put({"type": "lifespan.startup"})
    assert (await outgoing.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await incoming.put({"type": "lifespan.shutdown"})
        assert (await outgoing.get())["type"] == "lifespan.shutdown.complete"
        await task


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise Injected("planted by the test")


async def _raise_async(*args: Any, **kwargs: Any) -> Any:
    raise Injected("planted by the test")


ORDER = {
    "client_order_id": "boom-1",
    "symbol": "AAPL",
    "side": "BUY",
    "quantity": 1,
    "order_type": "MARKET",
}

CASES = {
    "submit": (TradingEngine, "submit", _raise_async, "POST", "/orders", ALICE, ORDER),
    "risk_check": (TradingEngine, "check", _raise, "POST", "/risk/check", ALICE, ORDER),
    "positions": (queries, "positions", _raise, "GET", "/positions", ALICE, None),
    "trading_state": (
        TradingEngine,
        "set_trading_state",
        _raise_async,
        "PUT",
        "/admin/trading-state",
        ADMIN,
        {"state": "HALTED"},
    ),
}


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast_path", "fastapi"])
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_unexpected_exception_then_500_internal_error_with_request_id_logged_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fast_path: bool,
    case: tuple[Any, ...],
) -> None:
    owner, name, fault, method, path, headers, body = case
    settings = ServiceSettings.from_env(
        {
            "TRADEPIPE_DATA_DIR": str(tmp_path / "data"),
            "TRADEPIPE_CONFIG_DIR": str(copy_config(tmp_path / "config")),
            "TRADEPIPE_ACCESS_LOG": "0",
        }
    )
    app = create_app(settings, fast_path=fast_path)

    async def scenario() -> httpx.Response:
        async with lifespan(app):
            monkeypatch.setattr(owner, name, fault)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, path, headers=headers, json=body)

    with caplog.at_level(logging.ERROR):
        response = asyncio.run(scenario())
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["code"] == "INTERNAL_ERROR"
    assert problem["request_id"] == response.headers["x-request-id"]
    assert "planted" not in problem["detail"]  # nothing of the exception leaks
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is Injected]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert logged[0].levelno == logging.ERROR
