"""How the engine turns a venue's execution reports into journal events.

A venue reports what happened to an order; the engine journals it only if the
order lifecycle allows it in the order's current status. A report that does not
apply (an unknown order, an overfill, a transition the table forbids) becomes
no event: the engine counts it as a venue anomaly instead of corrupting state.
"""

from __future__ import annotations

from typing import Final

from realtime import events as ev
from realtime.oms import Trigger, can_transition
from realtime.state import EngineState
from realtime.venue.interface import (
    Acked,
    Canceled,
    CancelRejected,
    ExecutionReport,
    Expired,
    Filled,
    Rejected,
    Replaced,
    ReplaceRejected,
)

_WORKING_TRIGGERS: Final = {
    Acked: Trigger.ACK,
    Canceled: Trigger.CANCELED,
    CancelRejected: Trigger.CANCEL_REJECT,
    Replaced: Trigger.REPLACED,
    ReplaceRejected: Trigger.REPLACE_REJECT,
    Expired: Trigger.EXPIRE,
    Rejected: Trigger.VENUE_REJECT,
}


def event_for(report: ExecutionReport, state: EngineState) -> ev.Event | None:
    """The journal event for a venue report, or None if the lifecycle forbids it."""
    order = state.orders.get(report.order_id)
    if order is None:
        return None
    ts = report.ts_ns
    if isinstance(report, Filled):
        filled = order.filled_quantity + report.quantity
        if report.quantity <= 0 or filled > order.quantity:
            return None
        trigger = Trigger.FILL if filled == order.quantity else Trigger.PARTIAL_FILL
        if not can_transition(order.status, trigger):
            return None
        return ev.OrderFilled(
            ts_ns=ts,
            order_id=order.order_id,
            fill_id=state.next_fill_id(),
            account=order.account,
            symbol=order.symbol,
            side=order.side,
            quantity=report.quantity,
            price=report.price,
            liquidity=report.liquidity,
            fee=report.fee,
        )
    if not can_transition(order.status, _WORKING_TRIGGERS[type(report)]):
        return None
    oid = order.order_id
    match report:
        case Acked():
            return ev.OrderAcknowledged(ts_ns=ts, order_id=oid)
        case Canceled(reason=reason):
            return ev.OrderCanceled(ts_ns=ts, order_id=oid, reason=reason)
        case CancelRejected(reason=reason):
            return ev.CancelRejected(ts_ns=ts, order_id=oid, reason=reason)
        case Replaced(quantity=quantity, limit_price=price):
            return ev.OrderReplaced(ts_ns=ts, order_id=oid, quantity=quantity, limit_price=price)
        case ReplaceRejected(reason=reason):
            return ev.ReplaceRejected(ts_ns=ts, order_id=oid, reason=reason)
        case Expired():
            return ev.OrderExpired(ts_ns=ts, order_id=oid)
        case Rejected(reason=reason):
            return ev.VenueRejected(ts_ns=ts, order_id=oid, reason=reason)
    return None
