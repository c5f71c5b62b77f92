"""Market data out (tickers, streamed tickers) and alternative data in (POST /alt)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request, Security, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from realtime import queries
from realtime.altdata import parse_alt_body, write_inbox_file
from realtime.service import TradingService
from realtime.views import TickerView, ticker_view

from .bodies import NDJSON_TYPES, Body, media_type, require_media_type
from .deps import (
    AnyPrincipal,
    Service,
    api_key_header,
    authenticate,
    body_of,
    json_response,
    responses,
)
from .problems import Problem
from .schemas import AltAccepted, InstrumentList, TickerSubscribe
from .symbols import normalize, unknown_symbol_error, unknown_symbols_detail

router = APIRouter(tags=["market data"])

_ticker_list = msgspec.json.Encoder()


@router.get(
    "/tickers",
    summary="Latest ticker per symbol (the hot cache)",
    description=(
        "Prices in each instrument's precision; `ts` is ISO-8601 UTC (null before the "
        "first quote), `ts_ns` the same instant in epoch nanoseconds. Symbols are matched "
        "as upper case; an unknown one is 404 `UNKNOWN_SYMBOL` with close matches."
    ),
    responses=responses(
        _200=("Tickers (an array of TickerView)", None),
        _404=("An unknown symbol was asked for (UNKNOWN_SYMBOL)", Problem),
    ),
)
async def tickers(
    service: Service,
    symbols: Annotated[
        str | None,
        Query(
            description="Comma-separated symbols, in that order; all when absent, none when empty"
        ),
    ] = None,
) -> Response:
    return ticker_list(service, symbols)


def ticker_list(service: TradingService, symbols: str | None) -> Response:
    """GET /tickers, shared by the FastAPI route and the fast path (api/fastpath.py)."""
    cache = service.tickers.tickers
    if symbols is None:
        selected = list(cache.values())
    else:
        wanted = [normalize(s) for s in symbols.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in cache]
        if unknown:
            raise unknown_symbol_error(404, unknown, cache)
        selected = [cache[s] for s in wanted]
    precision = service.precision
    views = [ticker_view(t, precision) for t in selected]
    return Response(_ticker_list.encode(views), media_type="application/json")


@router.get(
    "/tickers/{symbol}",
    summary="Latest ticker for one symbol",
    responses=responses(
        _200=("The ticker", TickerView), _404=("Unknown symbol (UNKNOWN_SYMBOL)", Problem)
    ),
)
async def ticker(symbol: str, service: Service) -> Response:
    cache = service.tickers.tickers
    found = cache.get(normalize(symbol))
    if found is None:
        raise unknown_symbol_error(404, [symbol], cache)
    return json_response(ticker_view(found, service.precision))


@router.websocket("/ws/tickers")
async def ticker_stream(websocket: WebSocket) -> None:
    """Send `{"op": "subscribe", "symbols": ["AAPL", ...]}` (omit symbols for all);
    receive JSON arrays of tickers, coalesced to the latest per symbol.
    A new subscribe message replaces the previous symbol set."""
    service: TradingService = websocket.app.state.service
    await websocket.accept()
    subscription = None
    stopping = asyncio.create_task(service.stopping.wait())
    incoming = asyncio.create_task(websocket.receive())
    try:
        while True:
            waiters: set[asyncio.Future[Any]] = {incoming, stopping}
            batch = None
            if subscription is not None:
                batch = asyncio.ensure_future(subscription.next_batch())
                waiters.add(batch)
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            if batch is not None and batch not in done:
                batch.cancel()
            if stopping in done:
                await websocket.close(code=1001, reason="SHUTTING_DOWN")
                return
            if incoming in done:
                message = incoming.result()
                if message["type"] == "websocket.disconnect":
                    return
                request = _parse_subscribe(message, service)
                if isinstance(request, str):
                    await websocket.send_json({"error": "INVALID_SUBSCRIBE", "detail": request})
                else:
                    if subscription is not None:
                        service.tickers.unsubscribe(subscription)
                    subscription = service.tickers.subscribe(request.symbols)
                    current = [
                        t for t in service.tickers.tickers.values() if subscription.wants(t.symbol)
                    ]
                    await websocket.send_bytes(_views(current, service))
                incoming = asyncio.create_task(websocket.receive())
            elif batch is not None and batch in done:
                await websocket.send_bytes(_views(batch.result(), service))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if subscription is not None:
            service.tickers.unsubscribe(subscription)
        for task in (incoming, stopping):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task


def _views(tickers: list[Any], service: TradingService) -> bytes:
    precision = service.precision
    return _ticker_list.encode([ticker_view(t, precision) for t in tickers])


def _parse_subscribe(message: Mapping[str, Any], service: TradingService) -> TickerSubscribe | str:
    raw = message.get("text") or message.get("bytes") or b""
    try:
        request = msgspec.json.decode(raw, type=TickerSubscribe)
    except msgspec.MsgspecError as exc:
        return str(exc)
    if request.op != "subscribe":
        return f"unknown op {request.op!r}; expected 'subscribe'"
    if request.symbols is None:
        return request
    symbols = [normalize(s) for s in request.symbols]
    cache = service.tickers.tickers
    unknown = [s for s in symbols if s not in cache]
    if unknown:
        return unknown_symbols_detail(unknown, cache)[0]
    return TickerSubscribe(op=request.op, symbols=symbols)


# --- the universe ------------------------------------------------------------------------


@router.get(
    "/instruments",
    summary="The tradable universe: tick, lot, multiplier, currency and whether it trades",
    description=(
        "Every instrument of the instruments file. `trades` is whether an order in it can "
        "pass the instrument checks now: listed as tradable, not on a restricted list and "
        "not halted. With an account key, `restricted` and `trading_state` are that "
        "account's (its own restricted list and kill switch as well as the global ones); "
        "without a key, the global ones. Notional, exposure and P&L are quantity x price "
        "x `multiplier`; prices in responses are rounded to `price_decimals`."
    ),
    responses=responses(
        _200=("The universe, by symbol", InstrumentList),
        _401=("An X-API-Key was sent but is not a known key (UNAUTHENTICATED)", Problem),
    ),
)
async def instruments(
    service: Service, api_key: Annotated[str | None, Security(api_key_header)] = None
) -> Response:
    account = None  # no key, or an admin key: the global restricted list and state
    if api_key is not None:
        principal = authenticate(service, api_key)
        if not principal.is_admin:
            account = principal.name
    views = queries.instruments(service.engine.state, service.precision, account)
    return json_response(InstrumentList(views))


# --- alternative data in ---------------------------------------------------------------


@router.post(
    "/alt",
    status_code=202,
    tags=["alternative data"],
    summary="Deliver alternative data records (e.g. per-symbol sentiment)",
    description=(
        "Accepts a JSON object, an array of objects, or JSON lines "
        "(Content-Type application/x-ndjson). Records land in the alt-data inbox as one "
        "file; the `alt_signals` Dagster asset validates them against the declared schema "
        "and quarantines invalid ones with a reason."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"type": "object"},
                            {"type": "array", "items": {"type": "object"}},
                        ]
                    },
                    "example": {
                        "ts": "2026-11-21T14:30:00Z",
                        "symbol": "AAPL",
                        "signal": "news_sentiment",
                        "value": 0.42,
                    },
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
    responses=responses(
        _202=("Stored in the inbox", AltAccepted),
        _400=("Malformed JSON (MALFORMED_JSON), with the record number", Problem),
        _401=("Missing or unknown API key (UNAUTHENTICATED)", Problem),
        _415=("Neither JSON nor JSON lines (UNSUPPORTED_MEDIA_TYPE)", Problem),
        _422=(
            "A record is not a valid alt record, is not UTF-8 or is nested too deeply "
            "(INVALID_ALT_RECORD), with the record number; nothing is stored",
            Problem,
        ),
    ),
)
async def deliver_alt(request: Request, principal: AnyPrincipal, service: Service) -> Response:
    return await deliver(service, principal.name, await body_of(request))


async def deliver(service: TradingService, sender: str, body: Body) -> Response:
    """POST /alt: the records of the body, all or nothing, as one file in the inbox."""
    media = media_type(body.content_type)
    if media in NDJSON_TYPES:
        lines = True
    else:
        require_media_type(body.content_type, "application/json or application/x-ndjson")
        lines = False
    records = parse_alt_body(body.data, lines=lines)
    stem = f"api-{service.clock.now_ns()}-{sender}-{uuid.uuid4().hex[:8]}"
    path = await asyncio.to_thread(write_inbox_file, service.settings.alt_inbox, stem, records)
    return json_response(AltAccepted(file=path.name, records=len(records)), 202)
