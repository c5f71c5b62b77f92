"""Position and P&L arithmetic (average-cost method), as pure functions.

Prices are per unit as quoted; money is `quantity x price x multiplier` (the
instrument's contract multiplier: 50 for ESZ6, 1 for a share), so the multiplier
enters every realized and unrealized figure here and nowhere else in this module.
"""

from __future__ import annotations

from typing import Final, NamedTuple

# The service's book as a table, one row per account and symbol: what GET /positions
# answers and what replaying the journal rebuilds (`assets.reports.replay`), which
# daily_pnl's reconciliation compares column for column. Stated here because both
# the reports and the service-book resource (`assets.resources.service`) read it, and
# a resource may not import a pipeline's module (`tests/test_layering.py`).
BOOK_COLUMNS: Final = (
    "account",
    "symbol",
    "quantity",
    "average_cost",
    "realized_pnl",
    "mark",
    "unrealized_pnl",
)


class PositionChange(NamedTuple):
    quantity: int
    average_cost: float  # per unit, in price terms (no multiplier)
    realized: float  # realized P&L of this fill alone, in money


def apply_fill(
    quantity: int, average_cost: float, signed_fill: int, price: float, multiplier: float = 1.0
) -> PositionChange:
    """Apply a fill of `signed_fill` units (buy > 0) at `price` to a position.

    Adding to a position moves the average cost; reducing it realizes
    (price - average cost) x multiplier per unit closed; crossing through flat
    closes the whole position and opens the remainder at the fill price.
    """
    new_quantity = quantity + signed_fill
    if quantity == 0 or (quantity > 0) == (signed_fill > 0):
        total = abs(quantity) * average_cost + abs(signed_fill) * price
        return PositionChange(new_quantity, total / abs(new_quantity), 0.0)
    closed = min(abs(quantity), abs(signed_fill))
    direction = 1 if quantity > 0 else -1
    realized = (price - average_cost) * closed * direction * multiplier
    if new_quantity == 0:
        return PositionChange(0, 0.0, realized)
    if (new_quantity > 0) == (quantity > 0):
        return PositionChange(new_quantity, average_cost, realized)
    return PositionChange(new_quantity, price, realized)


def unrealized(quantity: int, average_cost: float, mark: float, multiplier: float = 1.0) -> float:
    return (mark - average_cost) * quantity * multiplier


def market_value(quantity: int, mark: float, multiplier: float = 1.0) -> float:
    """Signed money value of a position at `mark` (its exposure is the absolute value)."""
    return quantity * mark * multiplier
