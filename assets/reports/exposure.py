"""End-of-day exposure per account and symbol, and each account's intraday equity curve.

m                the instrument's contract multiplier (`assets.instruments.multiplier_of`:
                 ESZ6 50, 1x for a symbol the instruments config does not know); every
                 money figure below counts it, as the service's do
market_value     quantity * end mark * m (signed)
gross            sum of |market value|;  net: sum of market value
long / short     sums of the positive / negative market values (short <= 0)
concentration    the largest |market value| as a share of gross (0 when flat)
equity           P&L equity: lifetime realized P&L + unrealized P&L - lifetime fees,
                 on the average-cost book, marked to the as-of mid
high-water mark  the highest equity of the day, sampled at the day's start, every
                 `sample_seconds`, after every fill and at the day's end
max drawdown     the largest fall of equity below its running high-water mark (>= 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd

from assets.instruments import NO_MULTIPLIERS, Multipliers, multiplier_of
from assets.reports.fills import SIDE_SIGN
from realtime.pnl import apply_fill, market_value, unrealized

TOTAL: Final = "*"
EXPOSURE_COLUMNS: Final = (
    "account",
    "symbol",
    "quantity",
    "mark",
    "market_value",
    "gross",
    "long_exposure",
    "short_exposure",
    "share_of_gross",
    "positions",
    "largest_symbol",
    "concentration",
    "equity_start",
    "equity_end",
    "equity_high_water",
    "max_drawdown",
)


class _Marks:
    """As-of mids of the day per symbol, starting from the marks at the day's start."""

    def __init__(self, start_marks: Mapping[str, float], quotes: pd.DataFrame) -> None:
        self.start = dict(start_marks)
        self.series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if len(quotes):
            mids = (quotes["bid"].to_numpy(np.float64) + quotes["ask"].to_numpy(np.float64)) / 2
            times = quotes["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
            for symbol, index in quotes.groupby("symbol", sort=False).indices.items():
                self.series[str(symbol)] = (times[index], mids[index])

    def at(self, symbol: str, t_ns: int, fallback: float) -> float:
        found = self.series.get(symbol)
        if found is not None:
            times, mids = found
            i = int(np.searchsorted(times, t_ns, side="right")) - 1
            if i >= 0:
                return float(mids[i])
        return self.start.get(symbol, fallback)


def exposure(
    fills: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    start_marks: Mapping[str, float],
    end_marks: Mapping[str, float],
    quotes: pd.DataFrame,
    sample_seconds: float = 60.0,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> pd.DataFrame:
    """Symbol rows (open positions at `end`) and one total row per account (symbol '*')
    for every account with a position or a fill by `end`; columns EXPOSURE_COLUMNS.
    `multipliers`: symbol -> contract multiplier (a symbol not in it is 1x)."""
    return exposure_and_curves(
        fills, start, end, start_marks, end_marks, quotes, sample_seconds, multipliers
    )[0]


def exposure_and_curves(
    fills: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    start_marks: Mapping[str, float],
    end_marks: Mapping[str, float],
    quotes: pd.DataFrame,
    sample_seconds: float = 60.0,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """`exposure`, and each account's sampled equity curve (columns ts, equity), the
    samples its high-water mark and drawdown are taken over."""
    fills = fills[fills["ts"] < end]
    marks = _Marks(start_marks, quotes)
    books: dict[str, dict[str, list[float]]] = {}  # account -> symbol -> [qty, avg]
    realized: dict[str, float] = {}
    fees: dict[str, float] = {}
    start_ns, end_ns = int(start.value), int(end.value)
    step = max(int(sample_seconds * 1e9), 1)
    grid = [*range(start_ns, end_ns, step), end_ns]
    curves: dict[str, list[float]] = {}
    times: dict[str, list[int]] = {}

    def equity(account: str, t_ns: int) -> float:
        value = realized.get(account, 0.0) - fees.get(account, 0.0)
        for symbol, (qty, avg) in books.get(account, {}).items():
            if qty:
                mark = marks.at(symbol, t_ns, avg)
                value += unrealized(int(qty), avg, mark, multiplier_of(multipliers, symbol))
        return value

    def sample(t_ns: int, accounts: list[str] | None = None) -> None:
        for account in accounts if accounts is not None else list(books):
            curves.setdefault(account, []).append(equity(account, t_ns))
            times.setdefault(account, []).append(t_ns)

    columns = zip(
        fills["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64).tolist(),
        fills["account"].to_numpy(),
        fills["symbol"].to_numpy(),
        fills["side"].to_numpy(),
        fills["quantity"].to_numpy(np.int64).tolist(),
        fills["price"].to_numpy(np.float64).tolist(),
        fills["fee"].to_numpy(np.float64).tolist(),
        strict=True,
    )
    g = 0
    started = False
    for t_ns, account, symbol, side, quantity, price, fee in columns:
        if t_ns >= start_ns and not started:
            started = True
        while started and g < len(grid) and grid[g] <= t_ns:
            sample(grid[g])
            g += 1
        book = books.setdefault(account, {}).setdefault(symbol, [0, 0.0])
        m = multiplier_of(multipliers, symbol)
        change = apply_fill(int(book[0]), book[1], SIDE_SIGN[side] * quantity, price, m)
        book[0], book[1] = change.quantity, change.average_cost
        realized[account] = realized.get(account, 0.0) + change.realized
        fees[account] = fees.get(account, 0.0) + fee
        if started:
            sample(t_ns, [account])
    while g < len(grid):
        sample(grid[g])
        g += 1

    rows: list[tuple[object, ...]] = []
    for account in sorted(books):
        values = []
        for symbol, (qty, avg) in sorted(books[account].items()):
            if qty:
                mark = end_marks.get(symbol, avg)
                m = multiplier_of(multipliers, symbol)
                values.append((symbol, int(qty), mark, market_value(int(qty), mark, m)))
        gross = sum(abs(v[3]) for v in values)
        for symbol, qty, mark, value in values:
            rows.append(
                (
                    account,
                    symbol,
                    qty,
                    mark,
                    value,
                    abs(value),
                    max(value, 0.0),
                    min(value, 0.0),
                    abs(value) / gross if gross else 0.0,
                    1,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
            )
        curve = np.asarray(curves.get(account) or [equity(account, end_ns)], dtype=np.float64)
        high_water = np.maximum.accumulate(curve)
        largest = max(values, key=lambda v: abs(v[3]))[0] if values else None
        rows.append(
            (
                account,
                TOTAL,
                None,
                None,
                sum(v[3] for v in values),
                gross,
                sum(max(v[3], 0.0) for v in values),
                sum(min(v[3], 0.0) for v in values),
                1.0 if gross else 0.0,
                len(values),
                largest,
                max(abs(v[3]) for v in values) / gross if gross else 0.0,
                float(curve[0]),
                float(curve[-1]),
                float(high_water.max()),
                float((high_water - curve).max()),
            )
        )
    frame = pd.DataFrame(rows, columns=list(EXPOSURE_COLUMNS))
    frame["quantity"] = frame["quantity"].astype("Int64")
    frame["positions"] = frame["positions"].astype("Int64")
    for column in EXPOSURE_COLUMNS:
        if column not in {"account", "symbol", "quantity", "positions", "largest_symbol"}:
            frame[column] = frame[column].astype(np.float64)
    sampled = {
        account: pd.DataFrame(
            {
                "ts": np.asarray(times[account], dtype=np.int64).view("datetime64[ns]"),
                "equity": np.asarray(curves[account], dtype=np.float64),
            }
        )
        for account in sorted(curves)
    }
    return frame, sampled
