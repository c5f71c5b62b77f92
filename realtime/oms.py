"""Order lifecycle as a transition table: (status, trigger) -> status.

The table is the single statement of which order events are legal in which
state. The engine consults it before it emits an event (an illegal request
becomes `IllegalTransition`, which the API reports as 409) and again when it
applies an event (an illegal event in the journal means the journal is wrong).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from realtime.domain import OrderStatus


class Trigger(StrEnum):
    ACK = "ACK"
    VENUE_REJECT = "VENUE_REJECT"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"  # the fill that completes the order
    CANCEL_REQUEST = "CANCEL_REQUEST"
    CANCELED = "CANCELED"
    CANCEL_REJECT = "CANCEL_REJECT"
    REPLACE_REQUEST = "REPLACE_REQUEST"
    REPLACED = "REPLACED"
    REPLACE_REJECT = "REPLACE_REJECT"
    EXPIRE = "EXPIRE"


class _Working:
    """Target meaning "back to working": NEW if nothing filled, else PARTIALLY_FILLED."""

    def __repr__(self) -> str:
        return "WORKING"


WORKING: Final = _Working()

S = OrderStatus
T = Trigger

# Orders can be filled or expired while a cancel or replace is in flight: the
# venue decides, the OMS records. A cancel while a replace is pending (and vice
# versa) is refused rather than queued so there is one request in flight.
TRANSITIONS: Final[dict[tuple[OrderStatus, Trigger], OrderStatus | _Working]] = {
    (S.PENDING_NEW, T.ACK): S.NEW,
    (S.PENDING_NEW, T.VENUE_REJECT): S.REJECTED,
    (S.PENDING_NEW, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, T.FILL): S.FILLED,
    (S.PENDING_NEW, T.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PENDING_NEW, T.CANCELED): S.CANCELED,
    (S.PENDING_NEW, T.EXPIRE): S.EXPIRED,
    (S.NEW, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.NEW, T.FILL): S.FILLED,
    (S.NEW, T.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.NEW, T.CANCELED): S.CANCELED,
    (S.NEW, T.REPLACE_REQUEST): S.PENDING_REPLACE,
    (S.NEW, T.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, T.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, T.CANCELED): S.CANCELED,
    (S.PARTIALLY_FILLED, T.REPLACE_REQUEST): S.PENDING_REPLACE,
    (S.PARTIALLY_FILLED, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, T.ACK): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.FILL): S.FILLED,
    (S.PENDING_CANCEL, T.CANCELED): S.CANCELED,
    (S.PENDING_CANCEL, T.CANCEL_REJECT): WORKING,
    (S.PENDING_CANCEL, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, T.VENUE_REJECT): S.REJECTED,
    (S.PENDING_REPLACE, T.PARTIAL_FILL): S.PENDING_REPLACE,
    (S.PENDING_REPLACE, T.FILL): S.FILLED,
    (S.PENDING_REPLACE, T.CANCELED): S.CANCELED,
    (S.PENDING_REPLACE, T.REPLACED): WORKING,
    (S.PENDING_REPLACE, T.REPLACE_REJECT): WORKING,
    (S.PENDING_REPLACE, T.EXPIRE): S.EXPIRED,
}


class IllegalTransition(Exception):
    """An order event that the lifecycle does not allow in the order's status."""

    code = "ILLEGAL_TRANSITION"

    def __init__(self, order_id: str, status: OrderStatus, trigger: Trigger) -> None:
        super().__init__(f"order {order_id} is {status.value}: {trigger.value} is not allowed")
        self.order_id = order_id
        self.status = status
        self.trigger = trigger


def can_transition(status: OrderStatus, trigger: Trigger) -> bool:
    return (status, trigger) in TRANSITIONS


def next_status(
    order_id: str, status: OrderStatus, trigger: Trigger, filled_quantity: int
) -> OrderStatus:
    """The status after `trigger`, or IllegalTransition."""
    target = TRANSITIONS.get((status, trigger))
    if target is None:
        raise IllegalTransition(order_id, status, trigger)
    if isinstance(target, _Working):
        return OrderStatus.PARTIALLY_FILLED if filled_quantity > 0 else OrderStatus.NEW
    return target
