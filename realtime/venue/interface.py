"""The venue adapter interface: what the engine sends a venue and what a venue reports.

The engine owns orders and journals events; a venue only reports what happens
to the orders it was given. Venues are synchronous and driven entirely by the
caller's timestamps (`now_ns`, `Quote.ts_ns`), never by the wall clock, so the
engine can drive one from its event loop and tests are deterministic. How the
engine turns these reports into journal events is `realtime.venue.translation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, Protocol, TypeAlias

import msgspec

from realtime.domain import Order, Quote

# --- execution reports -------------------------------------------------------

Liquidity: TypeAlias = Literal["TAKER", "MAKER"]

CANCEL_USER: Final = "USER"
CANCEL_IOC_REMAINDER: Final = "IOC_REMAINDER"
CANCEL_FOK_UNFILLED: Final = "FOK_UNFILLED"
CANCEL_NO_MARKET: Final = "NO_MARKET"

UNKNOWN_ORDER: Final = "UNKNOWN_ORDER"
UNKNOWN_SYMBOL: Final = "UNKNOWN_SYMBOL"
NOT_TRADABLE: Final = "NOT_TRADABLE"
INVALID_QUANTITY: Final = "INVALID_QUANTITY"
INVALID_PRICE: Final = "INVALID_PRICE"
DUPLICATE_ORDER_ID: Final = "DUPLICATE_ORDER_ID"
QUANTITY_NOT_ABOVE_FILLED: Final = "QUANTITY_NOT_ABOVE_FILLED"


class _Report(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    order_id: str
    ts_ns: int


class Acked(_Report, frozen=True, kw_only=True, tag=True):
    pass


class Filled(_Report, frozen=True, kw_only=True, tag=True):
    quantity: int
    price: float
    liquidity: Liquidity
    fee: float = 0.0  # what the venue charged for this fill, in the price currency


class Canceled(_Report, frozen=True, kw_only=True, tag=True):
    reason: str


class CancelRejected(_Report, frozen=True, kw_only=True, tag=True):
    reason: str


class Replaced(_Report, frozen=True, kw_only=True, tag=True):
    """The order's quantity and limit price after the replace took effect."""

    quantity: int
    limit_price: float | None


class ReplaceRejected(_Report, frozen=True, kw_only=True, tag=True):
    reason: str


class Expired(_Report, frozen=True, kw_only=True, tag=True):
    pass


class Rejected(_Report, frozen=True, kw_only=True, tag=True):
    reason: str


ExecutionReport: TypeAlias = (
    Acked | Filled | Canceled | CancelRejected | Replaced | ReplaceRejected | Expired | Rejected
)


class VenueQueueFull(Exception):
    """The venue's outbound queue is full; nothing was queued or changed."""

    def __init__(self, depth: int, capacity: int, retry_after_s: float) -> None:
        super().__init__(
            f"venue queue full ({depth}/{capacity} requests); retry after {retry_after_s:.6f} s"
        )
        self.depth = depth
        self.capacity = capacity
        self.retry_after_s = retry_after_s


# --- the adapter interface ---------------------------------------------------


class Venue(Protocol):
    def submit(self, order: Order, now_ns: int) -> None:
        """Queue a new order; raises VenueQueueFull."""
        ...

    def cancel(self, order_id: str, now_ns: int) -> None:
        """Queue a cancel; raises VenueQueueFull."""
        ...

    def replace(self, order_id: str, quantity: int, limit_price: float | None, now_ns: int) -> None:
        """Queue a replace (`limit_price=None` keeps the price); raises VenueQueueFull."""
        ...

    def on_quote(self, quote: Quote) -> list[ExecutionReport]: ...

    def poll(self, now_ns: int) -> list[ExecutionReport]: ...

    def next_wakeup_ns(self) -> int | None: ...

    @property
    def queue_depth(self) -> int: ...

    @property
    def queue_capacity(self) -> int: ...

    def has_capacity(self, n: int = 1) -> bool: ...

    @property
    def retry_after_s(self) -> float:
        """When a caller refused for a full queue should try again."""
        ...

    def restore(self, orders: Iterable[Order]) -> None: ...

    @property
    def open_order_count(self) -> int: ...
