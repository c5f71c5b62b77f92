"""The realtime service's own positions and P&L as of an instant, by replaying its journal.

This is what `daily_pnl` reconciles against: the engine's `EngineState.apply`
(the one mutation path of the live service and of its start-up replay) over
every journaled event before the cutoff, so the positions, realized P&L and
marks are the service's, not a re-derivation of them. Snapshots are not
used, since the newest one may be later than the cutoff.

The engine books money at each instrument's contract multiplier; replay gives it
the multipliers of the instruments config (`assets.instruments`: 1x for a symbol
the config does not know), so an ESZ6 position's P&L is 50x as the service's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from assets.instruments import NO_MULTIPLIERS, Multipliers, multiplier_of, multipliers_of
from realtime.journal import Journal
from realtime.limits import AccountLimits, RiskLimits
from realtime.pnl import BOOK_COLUMNS, unrealized
from realtime.state import EngineState

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


def replayed_positions(
    journal_path: str | Path, cutoff: pd.Timestamp, multipliers: Multipliers = NO_MULTIPLIERS
) -> pd.DataFrame:
    """Every (account, symbol) the service has booked by `cutoff` (naive UTC; events
    stamped before it), with its position, realized P&L, mark and unrealized P&L, at
    `multipliers` (symbol -> contract multiplier; absent: 1x). An absent journal file
    is an empty book."""
    if not Path(journal_path).is_file():
        return pd.DataFrame(columns=list(BOOK_COLUMNS))
    state = EngineState({}, _REPLAY_LIMITS)
    # Replay places no order, so it needs no tick or lot: only the multiplier, the
    # table the engine books every fill's money with (EngineState.multipliers).
    state.multipliers.update(multipliers)
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
                    unrealized(
                        quantity, position.average_cost, mark, multiplier_of(multipliers, symbol)
                    )
                    if quantity
                    else 0.0,
                )
            )
    return pd.DataFrame(rows, columns=list(BOOK_COLUMNS))


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


def service_differences(
    pnl: pd.DataFrame,
    positions: pd.DataFrame,
    accounts: pd.DataFrame,
    tolerance: float,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> pd.DataFrame:
    """`reconciliation_differences` against the live service's GET /positions (per
    account and symbol: realtime.pnl.BOOK_COLUMNS) and
    GET /pnl (per account: realized_pnl, unrealized_pnl).

    The service marks to its latest mid, not the day's last one, so our unrealized
    P&L is re-marked at the service's mark first ((mark - end_average_cost) *
    end_quantity * the contract multiplier, 1x when `multipliers` has none): what
    is compared is then the position, the lifetime realized P&L and the average
    cost behind the unrealized figure. Per account, the sum of
    those unrealized figures must equal /pnl's (symbol '*'); a pair without a row
    here is flat, so it adds nothing.
    """
    mine = pnl.copy()
    marks = positions.set_index(["account", "symbol"])["mark"]
    key = pd.MultiIndex.from_frame(mine[["account", "symbol"]])
    service_mark = marks.reindex(key).to_numpy(dtype=np.float64)
    theirs = positions.set_index(["account", "symbol"])["unrealized_pnl"].reindex(key)
    quantity = mine["end_quantity"].to_numpy(dtype=np.float64)
    k = multipliers_of(multipliers, mine["symbol"])
    remarked = (service_mark - mine["end_average_cost"].to_numpy(np.float64)) * quantity * k
    # No service mark: the service books no unrealized P&L, nothing to re-mark.
    mine["unrealized_pnl"] = np.where(
        np.isnan(service_mark), theirs.fillna(0.0).to_numpy(np.float64), remarked
    )
    mine.loc[quantity == 0, "unrealized_pnl"] = 0.0
    rows = reconciliation_differences(mine, positions, tolerance)
    ours = mine.groupby("account")["unrealized_pnl"].sum()
    extra = []
    for account, service_value in zip(accounts["account"], accounts["unrealized_pnl"], strict=True):
        value = float(ours.get(account, 0.0))
        if abs(value - float(service_value)) > tolerance + 1e-9:
            extra.append(
                (
                    account,
                    "*",
                    "account_unrealized_pnl",
                    value,
                    float(service_value),
                    value - float(service_value),
                )
            )
    if not extra:
        return rows
    account_rows = pd.DataFrame(extra, columns=rows.columns)
    if rows.empty:  # pandas deprecates concatenating an empty frame (its dtypes would count)
        return account_rows
    return pd.concat([rows, account_rows], ignore_index=True)
