"""Journal events: every state change of the trading core, past tense.

Events are the source of truth: the live engine and the replay on start-up
both change state only through `EngineState.apply(event)`, so a restart
rebuilds exactly what the process had. Each event is a tagged msgspec struct;
the tag (`type`) is also stored in its own journal column so batch readers can
filter without decoding.
"""

from __future__ import annotations

from typing import Final, get_args

import msgspec

from realtime.domain import OrderRequest, Side, TradingState


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True, gc=False):
    ts_ns: int


# --- order lifecycle -------------------------------------------------------


class OrderAccepted(Event, frozen=True, kw_only=True, tag=True):
    """Passed pre-trade risk; the order exists in PENDING_NEW."""

    order_id: str
    account: str
    request: OrderRequest
    reference_price: float | None
    # request.decision_price, else the arrival mid (reference_price); defaulted for
    # journals written before decision prices were recorded.
    decision_price: float | None = None


class OrderRejected(Event, frozen=True, kw_only=True, tag=True):
    """Failed pre-trade risk; kept so the rejection is auditable and idempotent."""

    order_id: str
    account: str
    request: OrderRequest
    reason: str
    detail: str
    decision_price: float | None = None  # as on OrderAccepted


class DuplicateOrderRejected(Event, frozen=True, kw_only=True, tag=True):
    """A request reusing a client_order_id with different terms: refused before risk.

    Journaled for audit only. `order_id` is the order the client_order_id already
    names; no order is created, so conflicting retries never grow the order list."""

    order_id: str
    account: str
    request: OrderRequest
    reason: str  # DUPLICATE_CLIENT_ORDER_ID
    detail: str


class OrderAcknowledged(Event, frozen=True, kw_only=True, tag=True):
    order_id: str


class VenueRejected(Event, frozen=True, kw_only=True, tag=True):
    order_id: str
    reason: str


class OrderFilled(Event, frozen=True, kw_only=True, tag=True):
    # account, symbol and side repeat the order's so that batch readers can ship
    # fills without joining against the order events.
    order_id: str
    fill_id: str
    account: str
    symbol: str
    side: Side
    quantity: int
    price: float
    liquidity: str
    fee: float = 0.0  # the venue's charge; 0 in journals written before fees existed


class CancelRequested(Event, frozen=True, kw_only=True, tag=True):
    order_id: str


class OrderCanceled(Event, frozen=True, kw_only=True, tag=True):
    order_id: str
    reason: str  # USER, IOC_REMAINDER, FOK_UNFILLED, ...


class CancelRejected(Event, frozen=True, kw_only=True, tag=True):
    order_id: str
    reason: str


class ReplaceRequested(Event, frozen=True, kw_only=True, tag=True):
    order_id: str
    quantity: int
    limit_price: float | None


class OrderReplaced(Event, frozen=True, kw_only=True, tag=True):
    order_id: str
    quantity: int
    limit_price: float | None


class ReplaceRejected(Event, frozen=True, kw_only=True, tag=True):
    order_id: str
    reason: str


class ReplaceRiskRejected(Event, frozen=True, kw_only=True, tag=True):
    """A cancel-replace whose new terms failed pre-trade risk; the order is unchanged.

    Journaled, like a rejected order, so that every risk decision is auditable."""

    order_id: str
    quantity: int
    limit_price: float | None
    reason: str
    detail: str


class OrderExpired(Event, frozen=True, kw_only=True, tag=True):
    order_id: str


# --- risk and market --------------------------------------------------------


class TradingStateChanged(Event, frozen=True, kw_only=True, tag=True):
    account: str | None  # None: the global switch
    state: TradingState
    actor: str
    reason: str


class RiskLimitsChanged(Event, frozen=True, kw_only=True, tag=True):
    digest: str  # sha256 of the canonical limits document
    source: str
    actor: str
    limits_json: str


class FeatureScale(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One symbol's volatility scaling of its limits (realtime.limits.volatility_scales)."""

    collar_scale: float  # x the static price collar; 1.0 = static
    notional_scale: float  # x the static per-order notional limit; 1.0 = static
    reason: str  # SCALED, STALE, MISSING or STATIC
    volatility: float | None = None  # the realized_vol_30m that was used
    feature_ts_ns: int | None = None  # its event time in the feature store


class FeatureLimitsChanged(Event, frozen=True, kw_only=True, tag=True):
    """The effective limits of some symbols changed because of online features (issue 9),
    so an audit (and the warehouse) can tell which limits were in force for an order. A
    symbol not named keeps its scale."""

    scales: dict[str, FeatureScale]
    source: str  # the feature service read, e.g. risk_features_v1


class PriceSampled(Event, frozen=True, kw_only=True, tag=True):
    """A sampled top of book, journaled so marks survive a restart."""

    symbol: str
    bid: float
    ask: float
    bid_size: int
    ask_size: int


class TradePrinted(Event, frozen=True, kw_only=True, tag=True):
    """A market trade seen on the feed (the tape), journaled for the tick warehouse."""

    symbol: str
    price: float
    size: int


AnyEvent = (
    OrderAccepted
    | OrderRejected
    | DuplicateOrderRejected
    | OrderAcknowledged
    | VenueRejected
    | OrderFilled
    | CancelRequested
    | OrderCanceled
    | CancelRejected
    | ReplaceRequested
    | OrderReplaced
    | ReplaceRejected
    | ReplaceRiskRejected
    | OrderExpired
    | TradingStateChanged
    | RiskLimitsChanged
    | FeatureLimitsChanged
    | PriceSampled
    | TradePrinted
)

# Derived from AnyEvent, so a new event type is named in one place only.
EVENT_CLASSES: Final[dict[str, type[Event]]] = {cls.__name__: cls for cls in get_args(AnyEvent)}
EVENT_TYPES: Final[frozenset[str]] = frozenset(EVENT_CLASSES)
# An order event is one about an order: it names the order it changes.
ORDER_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    name for name, cls in EVENT_CLASSES.items() if "order_id" in cls.__struct_fields__
)
# Market data: re-derivable from the feed and most of a journal's rows, so the batch
# reader ships it without checksums by default and the error suite leaves it out.
MARKET_DATA_TYPES: Final[frozenset[str]] = frozenset(
    cls.__name__ for cls in (PriceSampled, TradePrinted)
)

_encoder: Final = msgspec.json.Encoder()
_decoder: Final[msgspec.json.Decoder[AnyEvent]] = msgspec.json.Decoder(AnyEvent)


def event_type(event: Event) -> str:
    return type(event).__name__


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(payload: bytes | str) -> AnyEvent:
    return _decoder.decode(payload)
