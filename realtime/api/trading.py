"""Orders, fills, positions, P&L and pre-trade checks for the calling account."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import msgspec
from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from realtime import events as ev
from realtime.domain import Order, OrderStatus
from realtime.pnl import unrealized
from realtime.service import TradingService
from realtime.venue import VenueQueueFull

from .deps import Account, Service, authenticate, body_spec, json_response, responses
from .problems import ApiError, Problem
from .schemas import (
    FillPage,
    NewOrder,
    OrderPage,
    PnlView,
    PositionList,
    PositionView,
    ReplaceOrder,
    RiskCheckResult,
    decode_body,
)
from .ws_auth import chosen_subprotocol, key_from_subprotocols

router = APIRouter(tags=["trading"])

COMMON_ERRORS = {
    "_400": ("Malformed JSON (MALFORMED_JSON)", Problem),
    "_401": ("Missing or unknown API key (UNAUTHENTICATED)", Problem),
    "_403": ("An admin key cannot trade (ACCOUNT_KEY_REQUIRED)", Problem),
}


T = TypeVar("T")


def page_of(
    items: Sequence[T], cursor: int, limit: int, keep: Callable[[T], bool]
) -> tuple[list[T], int | None]:
    """Up to `limit` kept items from position `cursor` of an append-only list, and the
    cursor of the next page (None at the end). Positions never move, so cursors stay valid."""
    page: list[T] = []
    index = cursor
    while index < len(items) and len(page) < limit:
        item = items[index]
        index += 1
        if keep(item):
            page.append(item)
    return page, index if index < len(items) else None


def _known_symbol(service: TradingService, symbol: str) -> None:
    if symbol not in service.instruments:
        raise ApiError(422, "UNKNOWN_SYMBOL", f"unknown symbol {symbol!r}")


@router.post(
    "/orders",
    status_code=201,
    summary="Submit an order",
    description=(
        "Answered only after the order's event is committed to the journal. "
        "`client_order_id` is the idempotency key: a retry with the same body answers 200 "
        "with the existing order. A pre-trade risk rejection answers 422 with the reason "
        "as `code` and the (journaled) rejected order."
    ),
    openapi_extra=body_spec(NewOrder),
    responses=responses(
        _201=("Accepted; status PENDING_NEW", Order),
        _200=("Idempotent retry: the existing order", Order),
        **COMMON_ERRORS,
        _422=("Invalid field, unknown symbol, or a risk rejection (code = reason)", Problem),
        _429=("The venue queue is full (VENUE_QUEUE_FULL); see Retry-After", Problem),
        _503=("The journal cannot commit (ENGINE_UNAVAILABLE)", Problem),
    ),
)
async def submit_order(request: Request, account: Account, service: Service) -> Response:
    return await submit(service, account, await request.body())


async def submit(service: TradingService, account: str, body: bytes) -> Response:
    """POST /orders, shared by the FastAPI route and the fast path (api/fastpath.py)."""
    request = decode_body(body, NewOrder).to_request()
    _known_symbol(service, request.symbol)
    metrics = service.metrics
    started = time.perf_counter()
    try:
        result = await service.engine.submit(account, request)
    except VenueQueueFull:
        metrics.orders.inc("throttled", "VENUE_QUEUE_FULL")
        raise
    metrics.submit_latency.observe(time.perf_counter() - started)
    if result.rejection is not None:
        reason = result.rejection.reason.value
        metrics.orders.inc("rejected", reason)
        raise ApiError(
            422, reason, result.rejection.detail, order=msgspec.to_builtins(result.order)
        )
    if not result.created:
        metrics.orders.inc("retried", "")
        return json_response(result.order, 200)
    metrics.orders.inc("accepted", "")
    return json_response(result.order, 201)


@router.get(
    "/orders",
    summary="List the account's orders, oldest first",
    responses=responses(_200=("A page of orders", OrderPage), **COMMON_ERRORS),
)
async def list_orders(
    account: Account,
    service: Service,
    status: OrderStatus | None = None,
    symbol: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int, Query(ge=0, description="next_cursor of the previous page")] = 0,
) -> Response:
    book = service.engine.state.accounts.get(account)
    orders, next_cursor = page_of(
        book.orders if book is not None else [],
        cursor,
        limit,
        lambda o: (status is None or o.status is status) and (symbol is None or o.symbol == symbol),
    )
    return json_response(OrderPage(orders, next_cursor))


@router.get(
    "/orders/{order_id}",
    summary="One of the account's orders",
    responses=responses(
        _200=("The order", Order),
        _404=("No such order for this account (ORDER_NOT_FOUND)", Problem),
        **COMMON_ERRORS,
    ),
)
async def get_order(order_id: str, account: Account, service: Service) -> Response:
    return json_response(service.engine.order(account, order_id))


@router.delete(
    "/orders/{order_id}",
    status_code=202,
    summary="Cancel an order",
    description="Journaled as a cancel request; the venue's cancel arrives on /ws/orders.",
    responses=responses(
        _202=("Cancel requested; status PENDING_CANCEL", Order),
        _404=("No such order for this account (ORDER_NOT_FOUND)", Problem),
        _409=("The order cannot be cancelled in its status (ILLEGAL_TRANSITION)", Problem),
        _429=("The venue queue is full (VENUE_QUEUE_FULL)", Problem),
        **COMMON_ERRORS,
    ),
)
async def cancel_order(order_id: str, account: Account, service: Service) -> Response:
    return json_response(await service.engine.cancel(account, order_id), 202)


@router.post(
    "/orders/{order_id}/replace",
    status_code=202,
    summary="Cancel-replace: new total quantity and limit price",
    openapi_extra=body_spec(ReplaceOrder),
    responses=responses(
        _202=("Replace requested; status PENDING_REPLACE", Order),
        _404=("No such order for this account (ORDER_NOT_FOUND)", Problem),
        _409=("The order cannot be replaced in its status (ILLEGAL_TRANSITION)", Problem),
        _422=("Invalid terms, or the new terms fail a risk check (code = reason)", Problem),
        **COMMON_ERRORS,
    ),
)
async def replace_order(
    order_id: str, request: Request, account: Account, service: Service
) -> Response:
    amend = decode_body(await request.body(), ReplaceOrder)
    order = await service.engine.replace(account, order_id, amend.quantity, amend.limit_price)
    return json_response(order, 202)


@router.get(
    "/fills",
    summary="The account's fills, oldest first",
    responses=responses(_200=("A page of fills", FillPage), **COMMON_ERRORS),
)
async def list_fills(
    account: Account,
    service: Service,
    symbol: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    book = service.engine.state.accounts.get(account)
    fills, next_cursor = page_of(
        book.fills if book is not None else [],
        cursor,
        limit,
        lambda f: symbol is None or f.symbol == symbol,
    )
    return json_response(FillPage(fills, next_cursor))


def _positions(service: TradingService, account: str) -> list[PositionView]:
    state = service.engine.state
    book = state.accounts.get(account)
    if book is None:
        return []
    views = []
    for symbol, symbol_book in sorted(book.symbols.items()):
        position = symbol_book.position
        if not position.quantity and not position.realized_pnl:
            continue
        mark = state.marks.get(symbol)
        views.append(
            PositionView(
                symbol=symbol,
                quantity=position.quantity,
                average_cost=position.average_cost,
                realized_pnl=position.realized_pnl,
                mark=mark,
                unrealized_pnl=unrealized(position.quantity, position.average_cost, mark)
                if mark is not None
                else 0.0,
                market_value=position.quantity * mark if mark is not None else 0.0,
            )
        )
    return views


@router.get(
    "/positions",
    summary="The account's positions, marked to the latest sampled mid",
    responses=responses(_200=("Positions", PositionList), **COMMON_ERRORS),
)
async def positions(account: Account, service: Service) -> Response:
    return json_response(PositionList(_positions(service, account)))


@router.get(
    "/pnl",
    summary="Realized and unrealized P&L, equity and exposure",
    responses=responses(_200=("P&L", PnlView), **COMMON_ERRORS),
)
async def pnl(account: Account, service: Service) -> Response:
    state = service.engine.state
    book = state.accounts.get(account)
    realized = book.realized_pnl if book else 0.0
    unrealized_pnl = book.unrealized_pnl if book else 0.0
    return json_response(
        PnlView(
            account=account,
            realized_pnl=realized,
            unrealized_pnl=unrealized_pnl,
            total_pnl=realized + unrealized_pnl,
            equity=state.equity(account),
            gross_exposure=book.gross_exposure if book else 0.0,
            open_notional=book.open_notional if book else 0.0,
            positions=_positions(service, account),
        )
    )


@router.post(
    "/risk/check",
    summary="Evaluate an order against pre-trade risk without placing it",
    openapi_extra=body_spec(NewOrder),
    responses=responses(
        _200=("The verdict", RiskCheckResult),
        _422=("Invalid field or unknown symbol", Problem),
        **COMMON_ERRORS,
    ),
)
async def risk_check(request: Request, account: Account, service: Service) -> Response:
    order_request = decode_body(await request.body(), NewOrder).to_request()
    _known_symbol(service, order_request.symbol)
    rejection = service.engine.check(account, order_request)
    if rejection is None:
        return json_response(RiskCheckResult(accepted=True))
    return json_response(
        RiskCheckResult(accepted=False, code=rejection.reason.value, detail=rejection.detail)
    )


# --- the account's own order and fill events ------------------------------------------

ORDER_STREAM_QUEUE = 10_000


def _event_account(service: TradingService, event: ev.Event) -> str | None:
    account = getattr(event, "account", None)
    if isinstance(account, str):
        return account
    order_id = getattr(event, "order_id", None)
    if isinstance(order_id, str):
        order = service.engine.state.orders.get(order_id)
        return order.account if order is not None else None
    return None


@router.websocket("/ws/orders")
async def order_stream(websocket: WebSocket) -> None:
    """Streams `{"seq", "event"}` messages for the caller's own order and fill events.

    Authenticate with the X-API-Key header, the key as a subprotocol (what the web
    page does: see api/ws_auth.py), or an `api_key` query parameter. A client that falls more
    than 10,000 events behind is disconnected (close code 1013) rather than
    buffered without bound.
    """
    service: TradingService = websocket.app.state.service
    offered = websocket.scope.get("subprotocols", [])
    api_key = (
        websocket.headers.get("x-api-key")
        or key_from_subprotocols(offered)
        or websocket.query_params.get("api_key")
    )
    try:
        principal = authenticate(service, api_key)
    except ApiError:
        await websocket.close(code=1008, reason="UNAUTHENTICATED")
        return
    await websocket.accept(subprotocol=chosen_subprotocol(offered))
    queue: asyncio.Queue[tuple[int, ev.Event]] = asyncio.Queue(ORDER_STREAM_QUEUE)
    overflowed = asyncio.Event()

    def on_event(seq: int, event: ev.Event) -> None:
        if type(event).__name__ not in ev.ORDER_EVENT_TYPES:
            return
        if _event_account(service, event) != principal.name:
            return
        try:
            queue.put_nowait((seq, event))
        except asyncio.QueueFull:
            overflowed.set()

    unsubscribe = service.engine.subscribe(on_event)
    receiver = asyncio.create_task(_drain_incoming(websocket))
    stopping = asyncio.create_task(service.stopping.wait())
    try:
        while not overflowed.is_set():
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait(
                {getter, receiver, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                getter.cancel()
                break
            seq, event = getter.result()
            await websocket.send_bytes(msgspec.json.encode({"seq": seq, "event": event}))
        if overflowed.is_set():
            await websocket.close(code=1013, reason="SLOW_CONSUMER")
        elif not receiver.done():
            await websocket.close(code=1001, reason="SHUTTING_DOWN")
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-send
    finally:
        unsubscribe()
        for task in (receiver, stopping):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task


async def _drain_incoming(websocket: WebSocket) -> None:
    """Read (and ignore) client messages so that a disconnect is noticed."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
