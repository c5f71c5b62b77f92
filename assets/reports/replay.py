"""The realtime service's own positions and P&L as of an instant, by replaying its journal.

This is what `daily_pnl` reconciles against: the engine's `EngineState.apply`
(the one mutation path of the live service and of its start-up replay) over
every journaled event before the cutoff, so the positions, realized P&L and
marks are the service's, not a re-derivation of them. Snapshots are not
used, since the newest one may be later than the cutoff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pandas as pd

from realtime.journal import Journal
from realtime.limits import AccountLimits, RiskLimits
from realtime.state import EngineState

REPLAY_COLUMNS: Final = (
    "account",
    "symbol",
    "quantity",
    "average_cost",
    "realized_pnl",
    "mark",
    "unrealized_pnl",
)

# Replay books positions and P&L; limits only bound new orders, which replay
# never places, so any valid limits will do (a journaled RiskLimitsChanged
# replaces them as it would live).
_REPLAY_LIMITS: Final = RiskLimits(
    default=AccountLimits(
        max_order_quantity=1,
        max_order_notional=1.0,
        max_position=1,
        max_gross_exposure=1.0,
        starting_cash=0.0,
        max_leverage=1.0,
        max_orders_per_second=1.0,
        order_burst=1,
        price_collar_pct=100.0,
    )
)


def replayed_positions(journal_path: str | Path, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Every (account, symbol) the service has booked by `cutoff` (naive UTC; events
    stamped before it), with its position, realized P&L, mark and unrealized P&L.
    An absent journal file is an empty book."""
    if not Path(journal_path).is_file():
        return pd.DataFrame(columns=list(REPLAY_COLUMNS))
    state = EngineState({}, _REPLAY_LIMITS)
    limit_ns = int(pd.Timestamp(cutoff).value)
    reader = Journal.open_reader(journal_path)
    for seq, ts_ns, event in reader.read():
        if ts_ns >= limit_ns:
            break
        state.apply(event, seq)
    rows = []
    for account, book in state.accounts.items():
        for symbol, symbol_book in book.symbols.items():
            position = symbol_book.position
            mark = state.marks.get(symbol, float("nan"))
            quantity = position.quantity
            rows.append(
                (
                    account,
                    symbol,
                    position.quantity,
                    position.average_cost,
                    position.realized_pnl,
                    mark,
                    (mark - position.average_cost) * quantity if quantity else 0.0,
                )
            )
    return pd.DataFrame(rows, columns=list(REPLAY_COLUMNS))


def reconciliation_differences(
    pnl: pd.DataFrame, service: pd.DataFrame, tolerance: float
) -> pd.DataFrame:
    """Rows where the day's end-of-day book (daily_pnl rows) and the service's differ by
    more than `tolerance` (currency; quantities must match exactly): one row per
    account, symbol and field, naming both values."""
    mine = pnl.set_index(["account", "symbol"])
    theirs = service.set_index(["account", "symbol"])
    # A pair flat all day without a fill has no daily_pnl row; the service still
    # carries its lifetime realized P&L, so only its (zero) position is compared.
    keys = mine.index.union(theirs.index)
    fields = (
        ("quantity", "end_quantity", "quantity", 0.0),
        ("realized_pnl", "cumulative_realized", "realized_pnl", tolerance),
        ("unrealized_pnl", "unrealized_pnl", "unrealized_pnl", tolerance),
    )
    rows = []
    for key in keys:
        for name, my_column, their_column, allowed in fields:
            if key not in mine.index and name != "quantity":
                continue
            ours = float(mine[my_column].get(key, 0.0)) if key in mine.index else 0.0
            service_value = (
                float(theirs[their_column].get(key, 0.0)) if key in theirs.index else 0.0
            )
            if abs(ours - service_value) > allowed + 1e-9:
                rows.append((key[0], key[1], name, ours, service_value, ours - service_value))
    return pd.DataFrame(
        rows, columns=["account", "symbol", "field", "reports", "service", "difference"]
    )
