"""Orders, fills, positions, P&L and pre-trade checks for the calling account."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

import msgspec
from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from starlette.responses import Response

from realtime import events as ev
from realtime import queries
from realtime.domain import OrderStatus
from realtime.queries import PnlView
from realtime.risk import RejectReason
from realtime.service import TradingService
from realtime.venue import VenueQueueFull
from realtime.views import OrderView, event_view, fill_view, order_view

from .bodies import Body, decode_body
from .deps import Account, Service, authenticate, body_of, body_spec, json_response, responses
from .problems import ApiError, Problem
from .schemas import (
    FillPage,
    NewOrder,
    OrderPage,
    PositionList,
    ReplaceOrder,
    RiskCheckResult,
)
from .symbols import unknown_symbol_error
from .ws_auth import chosen_subprotocol, key_from_subprotocols

router = APIRouter(tags=["trading"])

COMMON_ERRORS = {
    "_400": ("Malformed JSON (MALFORMED_JSON)", Problem),
    "_401": ("Missing or unknown API key (UNAUTHENTICATED)", Problem),
    "_403": ("An admin key cannot trade (ACCOUNT_KEY_REQUIRED)", Problem),
}
BODY_ERRORS = {
    "_413": ("The body is over the limit (BODY_TOO_LARGE)", Problem),
    "_415": ("The body is declared as something other than JSON (UNSUPPORTED_MEDIA_TYPE)", Problem),
}


@router.post(
    "/orders",
    status_code=201,
    summary="Submit an order",
    description=(
        "Answered only after the order's event is committed to the journal. "
        "`client_order_id` is the idempotency key: a retry with the same body answers 200 "
        "with the existing order; one with a different body answers 422 "
        "`DUPLICATE_CLIENT_ORDER_ID` with the existing order as `order` (journaled for "
        "audit; no order is created). A pre-trade risk rejection answers 422 with the reason "
        "as `code` and the (journaled) rejected order. `decision_price` (optional) is the "
        "price when the trader decided, the benchmark of implementation shortfall; without "
        "it the order records the arrival mid."
    ),
    openapi_extra=body_spec(NewOrder),
    responses=responses(
        _201=("Accepted; status PENDING_NEW", OrderView),
        _200=("Idempotent retry: the existing order", OrderView),
        **COMMON_ERRORS,
        **BODY_ERRORS,
        _422=("Invalid field, unknown symbol, or a risk rejection (code = reason)", Problem),
        _429=("The venue queue is full (VENUE_QUEUE_FULL); see Retry-After", Problem),
        _503=("The journal cannot commit (ENGINE_UNAVAILABLE)", Problem),
    ),
)
async def submit_order(request: Request, account: Account, service: Service) -> Response:
    return await submit(service, account, await body_of(request))


async def submit(service: TradingService, account: str, body: Body) -> Response:
    """POST /orders, shared by the FastAPI route and the fast path (api/fastpath.py)."""
    # An unknown symbol is a risk rejection (UNKNOWN_SYMBOL, journaled like the others).
    request = decode_body(body, NewOrder).to_request()
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
        view = msgspec.to_builtins(order_view(result.order, service.precision))
        if result.rejection.reason is RejectReason.UNKNOWN_SYMBOL:
            # Journaled like any rejection, with risk's short detail; only the answer
            # adds the close matches. They are help for the person typing, not a fact
            # about the order: the journal (and the warehouse it ships to) records the
            # verdict, and "GET /instruments" names a route of this API, not of the
            # order. The answer's `order` shows the journaled reject_detail, as
            # GET /orders/{id} does.
            error = unknown_symbol_error(422, [request.symbol], service.instruments)
            error.order = view
            raise error
        raise ApiError(422, reason, result.rejection.detail, order=view)
    if not result.created:
        metrics.orders.inc("retried", "")
        return json_response(order_view(result.order, service.precision), 200)
    metrics.orders.inc("accepted", "")
    return json_response(order_view(result.order, service.precision), 201)


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
    orders, next_cursor = queries.order_page(
        service.engine.state, account, status=status, symbol=symbol, limit=limit, cursor=cursor
    )
    precision = service.precision
    return json_response(OrderPage([order_view(o, precision) for o in orders], next_cursor))


@router.get(
    "/orders/{order_id}",
    summary="One of the account's orders",
    responses=responses(
        _200=("The order", OrderView),
        _404=(
            "No such order for this account, or one evicted from memory by retention "
            "(TRADEPIPE_ORDER_RETENTION_S) (ORDER_NOT_FOUND)",
            Problem,
        ),
        **COMMON_ERRORS,
    ),
)
async def get_order(order_id: str, account: Account, service: Service) -> Response:
    return json_response(order_view(service.engine.order(account, order_id), service.precision))


@router.delete(
    "/orders/{order_id}",
    status_code=202,
    summary="Cancel an order",
    description="Journaled as a cancel request; the venue's cancel arrives on /ws/orders.",
    responses=responses(
        _202=("Cancel requested; status PENDING_CANCEL", OrderView),
        _404=("No such order for this account (ORDER_NOT_FOUND)", Problem),
        _409=("The order cannot be cancelled in its status (ILLEGAL_TRANSITION)", Problem),
        _429=("The venue queue is full (VENUE_QUEUE_FULL)", Problem),
        **COMMON_ERRORS,
    ),
)
async def cancel_order(order_id: str, account: Account, service: Service) -> Response:
    order = await service.engine.cancel(account, order_id)
    return json_response(order_view(order, service.precision), 202)


@router.post(
    "/orders/{order_id}/replace",
    status_code=202,
    summary="Cancel-replace: new total quantity and limit price",
    openapi_extra=body_spec(ReplaceOrder),
    responses=responses(
        _202=("Replace requested; status PENDING_REPLACE", OrderView),
        _404=("No such order for this account (ORDER_NOT_FOUND)", Problem),
        _409=("The order cannot be replaced in its status (ILLEGAL_TRANSITION)", Problem),
        _422=("Invalid terms, or the new terms fail a risk check (code = reason)", Problem),
        **COMMON_ERRORS,
        **BODY_ERRORS,
    ),
)
async def replace_order(
    order_id: str, request: Request, account: Account, service: Service
) -> Response:
    amend = decode_body(await body_of(request), ReplaceOrder)
    order = await service.engine.replace(account, order_id, amend.quantity, amend.limit_price)
    return json_response(order_view(order, service.precision), 202)


@router.get(
    "/fills",
    summary="The account's fills, oldest first",
    description=(
        "Each fill carries `fee`: what the venue charged for it, and `notional`: quantity x "
        "price x the instrument's contract multiplier (both in the instrument's currency, "
        "to the cent)."
    ),
    responses=responses(_200=("A page of fills", FillPage), **COMMON_ERRORS),
)
async def list_fills(
    account: Account,
    service: Service,
    symbol: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    fills, next_cursor = queries.fill_page(
        service.engine.state, account, symbol=symbol, limit=limit, cursor=cursor
    )
    precision, multipliers = service.precision, service.engine.state.multipliers
    views = [fill_view(f, precision, multipliers.get(f.symbol, 1.0)) for f in fills]
    return json_response(FillPage(views, next_cursor))


@router.get(
    "/positions",
    summary="The account's positions, marked to the latest sampled mid",
    description="`realized_pnl` is net of fees: every fill's fee is deducted when it is booked.",
    responses=responses(_200=("Positions", PositionList), **COMMON_ERRORS),
)
async def positions(account: Account, service: Service) -> Response:
    views = queries.positions(service.engine.state, account, service.precision)
    return json_response(PositionList(views))


@router.get(
    "/pnl",
    summary="Realized and unrealized P&L, equity and exposure",
    description=(
        "`realized_pnl` is net of fees: every fill's fee (see `GET /fills`) is deducted "
        "when the fill is booked, so equity and buying power are net of fees too."
    ),
    responses=responses(_200=("P&L", PnlView), **COMMON_ERRORS),
)
async def pnl(account: Account, service: Service) -> Response:
    return json_response(queries.pnl(service.engine.state, account, service.precision))


@router.post(
    "/risk/check",
    summary="Evaluate an order against pre-trade risk without placing it",
    openapi_extra=body_spec(NewOrder),
    responses=responses(
        _200=("The verdict", RiskCheckResult),
        _422=("Invalid field or unknown symbol", Problem),
        **COMMON_ERRORS,
        **BODY_ERRORS,
    ),
)
async def risk_check(request: Request, account: Account, service: Service) -> Response:
    order_request = decode_body(await body_of(request), NewOrder).to_request()
    rejection = service.engine.check(account, order_request)
    if rejection is not None and rejection.reason is RejectReason.UNKNOWN_SYMBOL:
        # Risk decides it, but a check of a symbol that does not exist is a bad request,
        # not a verdict: 422, as for any other field naming nothing.
        raise unknown_symbol_error(422, [order_request.symbol], service.instruments)
    features = queries.features_used(
        service.engine.state, service.features, account, order_request.symbol
    )
    if rejection is None:
        return json_response(RiskCheckResult(accepted=True, features=features))
    return json_response(
        RiskCheckResult(
            accepted=False, code=rejection.reason.value, detail=rejection.detail, features=features
        )
    )


# --- the account's own order and fill events ------------------------------------------

ORDER_STREAM_QUEUE = 10_000


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
        if queries.event_account(service.engine.state, event) != principal.name:
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
            symbol = queries.event_symbol(service.engine.state, event)
            body = {"seq": seq, "event": event_view(event, symbol, service.precision)}
            await websocket.send_bytes(msgspec.json.encode(body))
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
