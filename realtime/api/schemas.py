"""Request and response bodies of the API, declared once as msgspec structs.

Bodies are decoded and validated by msgspec (a fraction of pydantic's cost on
the order path); `openapi_components` publishes the same types as OpenAPI
schemas so /docs shows exactly what is enforced.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from realtime.domain import (
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradingState,
)

# The read models' views are declared with the queries that build them; imported here
# for ALL_SCHEMA_TYPES (the OpenAPI document), routes import them from realtime.queries.
from realtime.queries import FeaturesUsed, PnlView, PositionView, TradingStateView
from realtime.views import FillView, InstrumentView, OrderView, TickerView

from .problems import Problem

ClientOrderId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")
]
# Either case: a symbol is matched as its upper-case form (realtime.api.symbols).
Symbol = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=16,
        pattern=r"^[A-Za-z0-9._\-]+$",
        description="an instrument's symbol (GET /instruments); matched as upper case",
    ),
]
# Bounds far beyond any real order: they exist so absurd numbers are a 422, not an overflow.
Quantity = Annotated[int, msgspec.Meta(gt=0, le=1_000_000_000)]
Price = Annotated[float, msgspec.Meta(gt=0, le=1_000_000_000)]
Reason = Annotated[str, msgspec.Meta(max_length=200)]


class NewOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The API's order request: `OrderRequest` with the bounds a client must respect.

    The domain type stays unconstrained on purpose: the journal must decode every
    request it ever recorded, including ones the risk checks rejected.
    """

    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    quantity: Quantity
    order_type: OrderType = OrderType.LIMIT
    limit_price: Price | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    # The price when the trader decided (the implementation-shortfall benchmark);
    # when absent the order records the arrival mid.
    decision_price: Price | None = None

    def to_request(self) -> OrderRequest:
        return OrderRequest(
            client_order_id=self.client_order_id,
            symbol=self.symbol.upper(),
            side=self.side,
            quantity=self.quantity,
            order_type=self.order_type,
            limit_price=self.limit_price,
            time_in_force=self.time_in_force,
            decision_price=self.decision_price,
        )


class ReplaceOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    quantity: Quantity
    limit_price: Price | None = None


class TradingStateUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    state: TradingState
    account: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    reason: Reason = ""


class LimitsReloaded(msgspec.Struct):
    digest: str
    changed: bool


class RiskCheckResult(msgspec.Struct):
    accepted: bool
    code: str | None = None
    detail: str | None = None
    features: FeaturesUsed | None = None  # None: features are off for the service


class OrderPage(msgspec.Struct):
    orders: list[OrderView]
    next_cursor: int | None


class FillPage(msgspec.Struct):
    fills: list[FillView]
    next_cursor: int | None


class InstrumentList(msgspec.Struct):
    instruments: list[InstrumentView]


class PositionList(msgspec.Struct):
    positions: list[PositionView]


class AltAccepted(msgspec.Struct):
    file: str
    records: int


class TickerSubscribe(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    op: str  # "subscribe"
    symbols: list[Symbol] | None = None  # None: every symbol


ALL_SCHEMA_TYPES: tuple[Any, ...] = (
    NewOrder,
    ReplaceOrder,
    TradingStateUpdate,
    TradingStateView,
    LimitsReloaded,
    RiskCheckResult,
    OrderView,
    OrderPage,
    FillView,
    FillPage,
    InstrumentView,
    InstrumentList,
    PositionView,
    PositionList,
    PnlView,
    AltAccepted,
    TickerView,
    Problem,
    OrderStatus,
)

REF = "#/components/schemas/{name}"


def openapi_components() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(ALL_SCHEMA_TYPES, ref_template=REF)
    return components


def ref(struct: type) -> dict[str, str]:
    return {"$ref": REF.format(name=struct.__name__)}
