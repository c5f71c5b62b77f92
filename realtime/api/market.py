"""Market data out (tickers, streamed tickers) and alternative data in (POST /alt)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from realtime.altdata import record_problem
from realtime.market import Ticker
from realtime.service import TradingService

from .deps import AnyPrincipal, Service, json_response, responses
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
        str | None, Query(description="Comma-separated symbols; all when absent")
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


def _records(body: bytes, content_type: str) -> list[Any]:
    """A JSON object, a JSON array of objects, or JSON lines, each a valid AltRecord.

    All or nothing: one bad record refuses the request, so the client learns at once
    and nothing half-delivered reaches the inbox. Files dropped in the inbox by other
    means are checked by the `alt_signals` asset, which quarantines bad records."""
    if not body.strip():
        raise ApiError(400, "MALFORMED_JSON", "the request body is empty")
    try:
        if "ndjson" in content_type or "jsonl" in content_type:
            records = [msgspec.json.decode(line) for line in body.splitlines() if line.strip()]
        else:
            decoded = msgspec.json.decode(body)
            records = decoded if isinstance(decoded, list) else [decoded]
    except msgspec.DecodeError as exc:
        raise ApiError(400, "MALFORMED_JSON", f"the body is not valid JSON: {exc}") from None
    if not records:
        raise ApiError(422, "INVALID_ALT_RECORD", "no records in the body")
    problems = [
        f"record {n}: {problem}"
        for n, problem in ((n, record_problem(r)) for n, r in enumerate(records))
        if problem is not None
    ]
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise ApiError(422, "INVALID_ALT_RECORD", f"nothing stored: {shown}")
    return records


def write_inbox_file(inbox: Path, stem: str, records: list[Any]) -> Path:
    """Write atomically: the batch pipeline must never pick up a half-written file."""
    inbox.mkdir(parents=True, exist_ok=True)
    final = inbox / f"{stem}.jsonl"
    temporary = inbox / f".{stem}.jsonl.tmp"
    with temporary.open("wb") as fh:
        for record in records:
            fh.write(msgspec.json.encode(record))
            fh.write(b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, final)
    return final


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
        _400=("Malformed JSON", Problem),
        _401=("Missing or unknown API key", Problem),
        _422=("A record is not a JSON object", Problem),
    ),
)
async def deliver_alt(request: Request, principal: AnyPrincipal, service: Service) -> Response:
    records = _records(await request.body(), request.headers.get("content-type", ""))
    stem = f"api-{service.clock.now_ns()}-{principal.name}-{uuid.uuid4().hex[:8]}"
    path = await asyncio.to_thread(write_inbox_file, service.settings.alt_inbox, stem, records)
    return json_response(AltAccepted(file=path.name, records=len(records)), 202)
