"""Daily P&L per account and symbol on the average-cost book, as pure functions.

The book is the realtime service's own (`realtime.pnl.apply_fill`, the same
function the engine books fills with), run over every fill up to the day's
end, so its positions and realized P&L reconcile with the service's exactly.

Prices and average costs are per unit as quoted; every money figure counts the
instrument's contract multiplier m (`assets.instruments.multiplier_of`: ESZ6 50,
1x for a symbol the instruments config does not know), as the service's does.

Per (account, symbol) and trading day [start, end):

    start_quantity, start_average_cost   the book at `start` (all earlier fills)
    end_quantity, end_average_cost       the book at `end`
    start_mark, end_mark                 the mark at `start` and at `end` (see marks_at)
    buy_notional, sell_notional   sum of quantity * price * m of the day's buys / sells
    realized_pnl        sum of apply_fill's realized P&L over the day's fills
                        ((price - average cost) * closed * m; gross of fees, like
                        the service's)
    fees                sum of the day's fill fees (0 where a fill has none)
    unrealized_start    (start_mark - start_average_cost) * start_quantity * m
    unrealized_pnl      (end_mark - end_average_cost) * end_quantity * m
    net_pnl             realized_pnl + (unrealized_pnl - unrealized_start) - fees:
                        the day's mark-to-market P&L after fees
    cumulative_realized realized P&L of every fill up to `end`, net of every fee
                        (the service's `Position.realized_pnl` at `end`)

A row exists for every (account, symbol) that held a position at `start` or
traded in the day; a pair flat all day with no fill has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from assets.instruments import NO_MULTIPLIERS, Multipliers, multiplier_of
from assets.reports.fills import SIDE_SIGN
from realtime.pnl import apply_fill, unrealized

MARK_FROM_QUOTE: Final = "QUOTE"
MARK_FROM_FILL: Final = "FIRST_FILL"

PNL_COLUMNS: Final = (
    "account",
    "symbol",
    "start_quantity",
    "start_average_cost",
    "start_mark",
    "end_quantity",
    "end_average_cost",
    "end_mark",
    "mark_source",
    "fill_count",
    "bought_quantity",
    "sold_quantity",
    "buy_notional",
    "sell_notional",
    "realized_pnl",
    "fees",
    "unrealized_start",
    "unrealized_pnl",
    "net_pnl",
    "cumulative_realized",
)


def marks_at(
    last_mids: Mapping[str, float], fills: pd.DataFrame, cutoff: pd.Timestamp
) -> tuple[dict[str, float], dict[str, str]]:
    """The mark of each symbol at `cutoff`, by the service's rule: the mid of the
    symbol's last quote before `cutoff` (`last_mids`), else the price of the
    symbol's first fill (the engine marks a symbol with no quote at its first
    fill). Returns (marks, source per symbol)."""
    before = fills[fills["ts"] < cutoff]
    first = before.drop_duplicates("symbol", keep="first")
    marks = dict(zip(first["symbol"], first["price"].astype(float), strict=True))
    sources = dict.fromkeys(marks, MARK_FROM_FILL)
    for symbol, mid in last_mids.items():
        if mid == mid:  # a NaN mid is no quote
            marks[symbol] = float(mid)
            sources[symbol] = MARK_FROM_QUOTE
    return marks, sources


def daily_pnl(
    fills: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    start_marks: Mapping[str, float],
    end_marks: Mapping[str, float],
    mark_sources: Mapping[str, str] | None = None,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> pd.DataFrame:
    """The day's P&L rows (columns PNL_COLUMNS, sorted by account and symbol) from
    canonical fills (`assets.reports.fills`) that include every fill before `end`.
    `multipliers`: symbol -> contract multiplier (a symbol not in it is 1x)."""
    fills = fills[fills["ts"] < end]
    books: dict[tuple[str, str], list[float]] = {}  # qty, avg, realized
    ts = fills["ts"].to_numpy()
    split = int(np.searchsorted(ts, np.datetime64(start), side="left")) if _sorted(ts) else None
    if split is None:
        earlier, today = fills[fills["ts"] < start], fills[fills["ts"] >= start]
    else:
        earlier, today = fills.iloc[:split], fills.iloc[split:]
    _book(books, earlier, multipliers, with_stats=False)
    starts = {key: (int(b[0]), b[1]) for key, b in books.items()}
    day = _book(books, today, multipliers)
    keys = sorted({k for k, (qty, _) in starts.items() if qty != 0} | set(day))
    rows = []
    sources = mark_sources or {}
    for key in keys:
        account, symbol = key
        start_qty, start_avg = starts.get(key, (0, 0.0))
        qty, avg, cumulative = books[key]
        stats = day.get(key, _DayStats())
        start_mark = start_marks.get(symbol, start_avg if start_qty else np.nan)
        end_mark = end_marks.get(symbol, np.nan)
        m = multiplier_of(multipliers, symbol)
        unrealized_start = unrealized(start_qty, start_avg, start_mark, m) if start_qty else 0.0
        unrealized_end = unrealized(int(qty), avg, end_mark, m) if qty else 0.0
        rows.append(
            (
                account,
                symbol,
                start_qty,
                start_avg,
                start_mark,
                int(qty),
                avg,
                end_mark,
                sources.get(symbol, MARK_FROM_QUOTE),
                stats.count,
                stats.bought,
                stats.sold,
                stats.buy_notional,
                stats.sell_notional,
                stats.realized,
                stats.fees,
                unrealized_start,
                unrealized_end,
                stats.realized + (unrealized_end - unrealized_start) - stats.fees,
                cumulative,
            )
        )
    frame = pd.DataFrame(rows, columns=list(PNL_COLUMNS))
    return frame.astype(
        {
            "start_quantity": np.int64,
            "end_quantity": np.int64,
            "fill_count": np.int64,
            "bought_quantity": np.int64,
            "sold_quantity": np.int64,
        }
        | {
            c: np.float64
            for c in PNL_COLUMNS
            if c
            not in {
                "account",
                "symbol",
                "mark_source",
                "start_quantity",
                "end_quantity",
                "fill_count",
                "bought_quantity",
                "sold_quantity",
            }
        }
    )


class _DayStats:
    __slots__ = ("bought", "buy_notional", "count", "fees", "realized", "sell_notional", "sold")

    def __init__(self) -> None:
        self.count = 0
        self.bought = 0
        self.sold = 0
        self.buy_notional = 0.0
        self.sell_notional = 0.0
        self.realized = 0.0
        self.fees = 0.0


def _book(
    books: dict[tuple[str, str], list[float]],
    fills: pd.DataFrame,
    multipliers: Multipliers,
    *,
    with_stats: bool = True,
) -> dict[tuple[str, str], _DayStats]:
    """Apply fills (in seq order) to the books; per-key statistics of these fills
    (none with `with_stats` False: the history before the day needs only its book)."""
    stats: dict[tuple[str, str], _DayStats] = {}
    columns = (
        fills["account"].to_numpy(),
        fills["symbol"].to_numpy(),
        fills["side"].to_numpy(),
        fills["quantity"].to_numpy(dtype=np.int64).tolist(),
        fills["price"].to_numpy(dtype=np.float64).tolist(),
        fills["fee"].to_numpy(dtype=np.float64).tolist(),
    )
    # Once per symbol, not per fill: a million fills are a million calls otherwise.
    multiplier = {symbol: multiplier_of(multipliers, symbol) for symbol in pd.unique(columns[1])}
    for account, symbol, side, quantity, price, fee in zip(*columns, strict=True):
        key = (account, symbol)
        book = books.get(key)
        if book is None:
            book = books[key] = [0, 0.0, 0.0]
        sign = SIDE_SIGN[side]
        m = multiplier[symbol]
        change = apply_fill(int(book[0]), book[1], sign * quantity, price, m)
        book[0], book[1] = change.quantity, change.average_cost
        # The service books a fill's fee as realized the moment it fills (realtime.state).
        book[2] += change.realized - fee
        if not with_stats:
            continue
        day = stats.get(key)
        if day is None:
            day = stats[key] = _DayStats()
        day.count += 1
        if sign > 0:
            day.bought += quantity
            day.buy_notional += quantity * price * m
        else:
            day.sold += quantity
            day.sell_notional += quantity * price * m
        day.realized += change.realized
        day.fees += fee
    return stats


def _sorted(values: np.ndarray) -> bool:
    return len(values) < 2 or bool(np.all(values[1:] >= values[:-1]))
