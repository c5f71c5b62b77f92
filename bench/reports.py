"""Tax lots and daily P&L at scale: what one `reports` day costs over a long history.

    python -m bench.reports [--fills 1000000] [--symbols 500] [--accounts 50] [--days 20]

Builds, from a fixed seed, `--fills` canonical fills (assets.reports.fills) spread
over `--days` consecutive trading days, across `--symbols` symbols and
`--accounts` accounts: buys and sells of 1-500 shares at a random walk per
symbol, each with a fee, so positions grow, shrink, close and flip. Then times
what the reports assets run for the last day, on every fill up to its end:

    daily_pnl       the average-cost book (realtime.pnl.apply_fill) per account and symbol
    lots_of_day     the tax_lots asset's call: FIFO lots (30-day wash window) over every
                    fill before the day's end; as rows, the slices closed and the wash
                    sales determined in the day, the open lots at its end and at its
                    start (the relief check's checkpoint)

`seconds` is those two calls together (`pnl_seconds`, `lots_seconds` each);
building the data is `build_seconds`. Target: <= 20 s for 1,000,000 fills across
500 symbols and 50 accounts.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from assets.reports.fills import canonical_fills
from assets.reports.pnl import daily_pnl
from assets.reports.tax_lots import LotRules, lots_of_day
from bench._stats import T0_NS, base_price, emit, environment, symbols

TARGET_SECONDS = 20.0
SEED = 20261203
DAY_NS = 86_400 * 10**9


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fills", type=int, default=1_000_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for name in ("fills", "symbols", "accounts", "days"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    return args


def build_fills(args: argparse.Namespace) -> pd.DataFrame:
    rng = np.random.default_rng(args.seed)
    n = args.fills
    first_day = pd.Timestamp(T0_NS).normalize().value
    day = np.sort(rng.integers(0, args.days, size=n))
    # A 6.5-hour session from 14:30 UTC each day.
    ts = first_day + day * DAY_NS + 52_200 * 10**9 + rng.integers(0, 23_400 * 10**9, size=n)
    ts.sort()
    symbol_index = rng.integers(0, args.symbols, size=n)
    names = np.asarray(symbols(args.symbols), dtype=object)
    base = np.asarray([base_price(i) for i in range(args.symbols)])
    # A random walk per symbol, in fill order (0.2 % steps), on the cent grid.
    steps = rng.normal(0.0, 0.002, size=n)
    order = np.argsort(symbol_index, kind="stable")
    walk = np.empty(n)
    sorted_symbols = symbol_index[order]
    cumulative = np.cumsum(steps[order])
    starts = np.searchsorted(sorted_symbols, np.arange(args.symbols))
    offsets = np.concatenate([[0.0], cumulative])[starts][sorted_symbols]
    walk[order] = cumulative - offsets
    price = np.round(base[symbol_index] * np.exp(walk), 2).clip(0.01)
    quantity = rng.integers(1, 501, size=n)
    return canonical_fills(
        pd.DataFrame(
            {
                "seq": np.arange(1, n + 1, dtype=np.int64),
                "ts": ts.view("datetime64[ns]"),
                "fill_id": [f"F{i}" for i in range(n)],
                "order_id": [f"O{i // 2}" for i in range(n)],
                "account": np.asarray([f"A{i:02d}" for i in range(args.accounts)], dtype=object)[
                    rng.integers(0, args.accounts, size=n)
                ],
                "symbol": names[symbol_index],
                "side": np.where(rng.random(n) < 0.5, "BUY", "SELL").astype(object),
                "quantity": quantity,
                "price": price,
                "fee": np.round(quantity * 0.005, 4),
            }
        )
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    fills = build_fills(args)
    build = time.perf_counter() - started
    last_start = pd.Timestamp(fills["ts"].iloc[-1]).normalize()
    last_end = last_start + pd.Timedelta(days=1)
    first_price = fills.drop_duplicates("symbol").set_index("symbol")["price"]
    # Any mark will do: the cost is the book, not the marks.
    marks = {str(k): float(v) for k, v in first_price.items()}

    started = time.perf_counter()
    pnl = daily_pnl(fills, last_start, last_end, marks, marks)
    pnl_seconds = time.perf_counter() - started
    started = time.perf_counter()
    lots = lots_of_day(fills, LotRules(), last_start, last_end)
    lots_seconds = time.perf_counter() - started
    seconds = pnl_seconds + lots_seconds

    print(
        f"daily_pnl: {pnl_seconds:.2f} s, {len(pnl):,} rows; lots_of_day: {lots_seconds:.2f} s, "
        f"{len(lots.slices):,} slices closed on the day, {len(lots.open_lots):,} open lots, "
        f"{len(lots.wash_sales):,} wash sales determined on the day "
        f"(target <= {TARGET_SECONDS:.0f} s together at 1M fills)"
    )
    return {
        "benchmark": "reports",
        "fills": len(fills),
        "symbols": args.symbols,
        "accounts": args.accounts,
        "days": args.days,
        "pnl_rows": len(pnl),
        "slices": len(lots.slices),
        "open_lots": len(lots.open_lots),
        "wash_sales": len(lots.wash_sales),
        "seconds": round(seconds, 3),
        "pnl_seconds": round(pnl_seconds, 3),
        "lots_seconds": round(lots_seconds, 3),
        "build_seconds": round(build, 3),
        "target_seconds": TARGET_SECONDS,
        **environment(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return emit(run(parse_args(argv)))


if __name__ == "__main__":
    main()
