"""The order lifecycle table: every (status, trigger) pair is either legal with
the expected target or raises IllegalTransition."""

from __future__ import annotations

import itertools

import pytest

from realtime.domain import OrderStatus
from realtime.oms import IllegalTransition, Trigger, can_transition, next_status

S, T = OrderStatus, Trigger

# status, trigger -> target when nothing is filled / when something is filled.
EXPECTED: dict[tuple[OrderStatus, Trigger], tuple[OrderStatus, OrderStatus]] = {
    (S.PENDING_NEW, T.ACK): (S.NEW, S.NEW),
    (S.PENDING_NEW, T.VENUE_REJECT): (S.REJECTED, S.REJECTED),
    (S.PENDING_NEW, T.PARTIAL_FILL): (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PENDING_NEW, T.FILL): (S.FILLED, S.FILLED),
    (S.PENDING_NEW, T.CANCEL_REQUEST): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PENDING_NEW, T.CANCELED): (S.CANCELED, S.CANCELED),
    (S.PENDING_NEW, T.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.NEW, T.PARTIAL_FILL): (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.NEW, T.FILL): (S.FILLED, S.FILLED),
    (S.NEW, T.CANCEL_REQUEST): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.NEW, T.CANCELED): (S.CANCELED, S.CANCELED),
    (S.NEW, T.REPLACE_REQUEST): (S.PENDING_REPLACE, S.PENDING_REPLACE),
    (S.NEW, T.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.PARTIALLY_FILLED, T.PARTIAL_FILL): (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, T.FILL): (S.FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, T.CANCEL_REQUEST): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PARTIALLY_FILLED, T.CANCELED): (S.CANCELED, S.CANCELED),
    (S.PARTIALLY_FILLED, T.REPLACE_REQUEST): (S.PENDING_REPLACE, S.PENDING_REPLACE),
    (S.PARTIALLY_FILLED, T.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.PENDING_CANCEL, T.ACK): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PENDING_CANCEL, T.PARTIAL_FILL): (S.PENDING_CANCEL, S.PENDING_CANCEL),
    (S.PENDING_CANCEL, T.FILL): (S.FILLED, S.FILLED),
    (S.PENDING_CANCEL, T.CANCELED): (S.CANCELED, S.CANCELED),
    (S.PENDING_CANCEL, T.CANCEL_REJECT): (S.NEW, S.PARTIALLY_FILLED),
    (S.PENDING_CANCEL, T.EXPIRE): (S.EXPIRED, S.EXPIRED),
    (S.PENDING_CANCEL, T.VENUE_REJECT): (S.REJECTED, S.REJECTED),
    (S.PENDING_REPLACE, T.PARTIAL_FILL): (S.PENDING_REPLACE, S.PENDING_REPLACE),
    (S.PENDING_REPLACE, T.FILL): (S.FILLED, S.FILLED),
    (S.PENDING_REPLACE, T.CANCELED): (S.CANCELED, S.CANCELED),
    (S.PENDING_REPLACE, T.REPLACED): (S.NEW, S.PARTIALLY_FILLED),
    (S.PENDING_REPLACE, T.REPLACE_REJECT): (S.NEW, S.PARTIALLY_FILLED),
    (S.PENDING_REPLACE, T.EXPIRE): (S.EXPIRED, S.EXPIRED),
}

ALL_PAIRS = list(itertools.product(OrderStatus, Trigger))
LEGAL = [pair for pair in ALL_PAIRS if pair in EXPECTED]
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in EXPECTED]


@pytest.mark.parametrize(("status", "trigger"), LEGAL, ids=lambda v: v.value)
def test_transition_when_legal_then_reaches_expected_status(
    status: OrderStatus, trigger: Trigger
) -> None:
    unfilled, filled = EXPECTED[(status, trigger)]
    assert can_transition(status, trigger)
    assert next_status("O1", status, trigger, filled_quantity=0) is unfilled
    assert next_status("O1", status, trigger, filled_quantity=5) is filled


@pytest.mark.parametrize(("status", "trigger"), ILLEGAL, ids=lambda v: v.value)
def test_transition_when_illegal_then_raises_typed_error(
    status: OrderStatus, trigger: Trigger
) -> None:
    assert not can_transition(status, trigger)
    with pytest.raises(IllegalTransition) as excinfo:
        next_status("O1", status, trigger, filled_quantity=0)
    assert excinfo.value.code == "ILLEGAL_TRANSITION"
    assert (excinfo.value.status, excinfo.value.trigger) == (status, trigger)


def test_terminal_statuses_accept_nothing() -> None:
    terminal = [s for s in OrderStatus if s.is_terminal]
    assert set(terminal) == {S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED}
    assert not any(can_transition(s, t) for s in terminal for t in Trigger)
