"""The two hottest routes, POST /orders and GET /tickers, served straight from ASGI.

FastAPI's routing and dependency resolution cost about 120 µs of CPU per
request on this hardware, as much as the trading engine itself; at the target
order rate that decides whether one core keeps up. The handlers are the same
functions the FastAPI routes call (`trading.submit`, `market.ticker_list`), and
errors go through the same exception table, so behaviour and the OpenAPI
document (still generated from the FastAPI routes) stay one definition.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.responses import Response

from realtime.service import TradingService

from .deps import trading_account
from .errors import problem_for
from .market import ticker_list
from .middleware import ASGIApp, Message, Receive, Scope, Send
from .problems import ApiError
from .trading import submit


@dataclass(frozen=True, slots=True)
class _Route:
    path: str  # read by the metrics middleware as the route template


ORDERS = _Route("/orders")
TICKERS = _Route("/tickers")


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "CLIENT_DISCONNECTED", "the client went away mid-body")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _api_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return str(value.decode("latin-1"))
    return None


class FastPath:
    def __init__(self, app: ASGIApp, service: TradingService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if path == "/orders" and method == "POST":
                scope["route"] = ORDERS
                await self._respond(scope, receive, send, self._submit(scope, receive))
                return
            if path == "/tickers" and method == "GET":
                scope["route"] = TICKERS
                await self._respond(scope, receive, send, self._tickers(scope))
                return
        await self.app(scope, receive, send)

    async def _submit(self, scope: Scope, receive: Receive) -> Response:
        account = trading_account(self.service, _api_key(scope))
        return await submit(self.service, account, await read_body(receive))

    async def _tickers(self, scope: Scope) -> Response:
        query = parse_qs(scope["query_string"].decode("latin-1")) if scope["query_string"] else {}
        symbols = query.get("symbols")
        return ticker_list(self.service, symbols[-1] if symbols else None)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, handler: Awaitable[Response]
    ) -> None:
        try:
            response = await handler
        except Exception as exc:
            problem = problem_for(exc)
            if problem is None:
                raise  # RequestContext logs it and answers 500
            response = problem
        await response(scope, receive, send)
