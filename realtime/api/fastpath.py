"""The hottest routes served straight from ASGI: a table of (method, path) -> the handler
the FastAPI route calls.

FastAPI's routing and dependency resolution cost about 120 µs of CPU per request
on this hardware, as much as the trading engine itself; at the target order rate
that decides whether one core keeps up. Each entry names its FastAPI twin
(`endpoint`) and the parameters it reads, `tests/realtime/api/test_fastpath.py`
checks that the twin exists with the same parameters and responses, and errors go
through the same exception table, so behaviour and the OpenAPI document (still
generated from the FastAPI routes) stay one definition. `TRADEPIPE_FAST_PATH=0`
serves everything through FastAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import Response

from realtime.service import TradingService

from .bodies import Body
from .deps import trading_account
from .errors import problem_for
from .market import ticker_list, tickers
from .middleware import ASGIApp, Message, Receive, Scope, Send
from .problems import ApiError
from .trading import submit, submit_order

Handler = Callable[[TradingService, Scope, Receive], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class FastRoute:
    method: str
    path: str  # also read by the metrics middleware as the route template
    handler: Handler
    endpoint: Callable[..., Any]  # the FastAPI route function serving the same request
    query: tuple[str, ...] = ()  # query parameters the handler reads
    api_key: bool = False  # reads X-API-Key
    body: bool = False  # reads a JSON body


async def read_body(receive: Receive) -> bytes:
    message: Message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")  # the usual case: the whole body at once
        return body
    chunks = []
    while True:
        if message["type"] == "http.disconnect":
            raise ApiError(400, "CLIENT_DISCONNECTED", "the client went away mid-body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


def _headers(scope: Scope) -> tuple[str | None, str]:
    """X-API-Key and Content-Type, in one pass over the headers."""
    api_key, content_type = None, ""
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            api_key = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.decode("latin-1")
    return api_key, content_type


async def _submit(service: TradingService, scope: Scope, receive: Receive) -> Response:
    api_key, content_type = _headers(scope)
    account = trading_account(service, api_key)
    return await submit(service, account, Body(await read_body(receive), content_type))


async def _tickers(service: TradingService, scope: Scope, receive: Receive) -> Response:
    (name,) = scope["route"].query  # named once, in the route's entry below
    query = scope["query_string"]
    values = parse_qs(query.decode("latin-1"), keep_blank_values=True).get(name)
    return ticker_list(service, values[-1] if values else None)


ROUTES: dict[tuple[str, str], FastRoute] = {
    (route.method, route.path): route
    for route in (
        FastRoute("POST", "/orders", _submit, submit_order, api_key=True, body=True),
        FastRoute("GET", "/tickers", _tickers, tickers, query=("symbols",)),
    )
}


class FastPath:
    def __init__(self, app: ASGIApp, service: TradingService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = ROUTES.get((scope["method"], scope["path"]))
            if route is not None:
                scope["route"] = route
                try:
                    response = await route.handler(self.service, scope, receive)
                except Exception as exc:
                    problem = problem_for(exc)
                    if problem is None:
                        raise  # RequestContext logs it and answers 500 INTERNAL_ERROR
                    response = problem
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
