"""Market data out (tickers, streamed tickers) and alternative data in (POST /alt)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from realtime.altdata import parse_alt_body, write_inbox_file
from realtime.market import Ticker
from realtime.service import TradingService

from .bodies import NDJSON_TYPES, Body, media_type, require_media_type
from .deps import AnyPrincipal, Service, body_of, json_response, responses
from .problems import ApiError, Problem
from .schemas import AltAccepted, TickerSubscribe

router = APIRouter(tags=["market data"])

_ticker_list = msgspec.json.Encoder()


@router.get(
    "/tickers",
    summary="Latest ticker per symbol (the hot cache)",
    responses=responses(
        _200=("Tickers", None), _404=("An unknown symbol was asked for (UNKNOWN_SYMBOL)", Problem)
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
        wanted = [s.strip() for s in symbols.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in cache]
        if unknown:
            raise ApiError(404, "UNKNOWN_SYMBOL", f"unknown symbols: {', '.join(unknown)}")
        selected = [cache[s] for s in wanted]
    return Response(_ticker_list.encode(selected), media_type="application/json")


@router.get(
    "/tickers/{symbol}",
    summary="Latest ticker for one symbol",
    responses=responses(
        _200=("The ticker", Ticker), _404=("Unknown symbol (UNKNOWN_SYMBOL)", Problem)
    ),
)
async def ticker(symbol: str, service: Service) -> Response:
    found = service.tickers.tickers.get(symbol)
    if found is None:
        raise ApiError(404, "UNKNOWN_SYMBOL", f"unknown symbol {symbol!r}")
    return json_response(found)


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
                    await websocket.send_bytes(_ticker_list.encode(current))
                incoming = asyncio.create_task(websocket.receive())
            elif batch is not None and batch in done:
                await websocket.send_bytes(_ticker_list.encode(batch.result()))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if subscription is not None:
            service.tickers.unsubscribe(subscription)
        for task in (incoming, stopping):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task


def _parse_subscribe(message: Mapping[str, Any], service: TradingService) -> TickerSubscribe | str:
    raw = message.get("text") or message.get("bytes") or b""
    try:
        request = msgspec.json.decode(raw, type=TickerSubscribe)
    except msgspec.MsgspecError as exc:
        return str(exc)
    if request.op != "subscribe":
        return f"unknown op {request.op!r}; expected 'subscribe'"
    unknown = [s for s in request.symbols or () if s not in service.tickers.tickers]
    if unknown:
        return f"unknown symbols: {', '.join(unknown)}"
    return request


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
