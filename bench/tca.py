"""The TCA library at a day's scale.

    python -m bench.tca [--orders 100000] [--quotes 10000000] [--symbols 500]

Builds, from a fixed seed, one 6.5-hour session of `--symbols` symbols:
`--quotes` top-of-book quotes (a random walk per symbol, 1-5 bps wide),
`--trades` prints on the tape, and `--orders` orders (buys and sells, market
and limit, filled, partly filled then cancelled, expired, rejected or still
open, half with a decision price) with 1-4 fills each where they traded,
every fill with a fee. Symbols are plain strings (object columns), as a frame
read from the warehouse has them.

Then times `compute_tca` over all of it: every per-order metric (arrival, IS
and its decomposition, VWAP, TWAP, participation) and every per-fill metric
at the four default markout horizons (1, 5, 30, 60 s). `seconds` is that call
alone; building the data is `build_seconds`. Target: <= 30 s for 100,000
orders and 10,000,000 quotes across 500 symbols.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from assets.execution_quality.tca import DEFAULT_HORIZONS_S, compute_tca
from bench._stats import T0_NS, emit, environment

TARGET_SECONDS = 30.0
SESSION_NS = int(6.5 * 3600 * 1e9)
SEED = 20261126


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--quotes", type=int, default=10_000_000)
    parser.add_argument("--trades", type=int, default=None, help="default: quotes / 10")
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    if args.trades is None:
        args.trades = max(args.quotes // 10, 1)
    for name in ("orders", "quotes", "trades", "symbols"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    return args


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.sort(rng.integers(T0_NS, T0_NS + SESSION_NS, size=n))


def market(
    rng: np.random.Generator, names: np.ndarray, base: np.ndarray, n_quotes: int, n_trades: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quotes (a random walk per symbol) and prints near the mid."""
    n_symbols = len(names)
    code = rng.integers(0, n_symbols, size=n_quotes)
    # Walk per symbol: cumulative returns in symbol order, scattered back.
    order = np.argsort(code, kind="stable")
    steps = rng.normal(0.0, 2e-4, size=n_quotes)
    walk = np.cumsum(steps[order])
    starts = np.searchsorted(code[order], np.arange(n_symbols))
    walk -= np.repeat(walk[np.minimum(starts, n_quotes - 1)], np.diff(np.append(starts, n_quotes)))
    mid = np.empty(n_quotes)
    mid[order] = base[code[order]] * np.exp(walk)
    half = mid * rng.uniform(0.5e-4, 2.5e-4, size=n_quotes)
    quotes = pd.DataFrame(
        {
            "symbol": names[code],
            "time": _times(rng, n_quotes).view("datetime64[ns]"),
            "bid": np.round(mid - half, 4),
            "ask": np.round(mid + half, 4),
        }
    )
    trade_code = rng.integers(0, n_symbols, size=n_trades)
    trades = pd.DataFrame(
        {
            "symbol": names[trade_code],
            "time": _times(rng, n_trades).view("datetime64[ns]"),
            "price": np.round(base[trade_code] * np.exp(rng.normal(0, 2e-3, n_trades)), 4),
            "quantity": rng.integers(1, 20, size=n_trades) * 100,
        }
    )
    return quotes, trades


def book(
    rng: np.random.Generator, names: np.ndarray, base: np.ndarray, n_orders: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders and their fills, every status in a desk-like mix."""
    code = rng.integers(0, len(names), size=n_orders)
    side = rng.choice(np.array(["BUY", "SELL"], dtype=object), size=n_orders)
    quantity = rng.integers(1, 50, size=n_orders) * 100
    submit = rng.integers(T0_NS, T0_NS + SESSION_NS - 600 * 10**9, size=n_orders)
    statuses = np.array(["FILLED", "CANCELED", "EXPIRED", "REJECTED", "OPEN"], dtype=object)
    status = rng.choice(statuses, size=n_orders, p=[0.6, 0.25, 0.05, 0.05, 0.05])
    decision = np.where(
        rng.random(n_orders) < 0.5, base[code] * np.exp(rng.normal(0, 1e-3, n_orders)), np.nan
    )
    # Fills: 1-4 per order that traded, the last one completing a FILLED order.
    n_fills = np.where(status == "REJECTED", 0, rng.integers(1, 5, size=n_orders))
    n_fills = np.where(status == "OPEN", rng.integers(0, 2, size=n_orders), n_fills)
    owner = np.repeat(np.arange(n_orders), n_fills)
    total = len(owner)
    first = np.concatenate([[0], np.cumsum(n_fills)[:-1]])
    rank = np.arange(total) - np.repeat(first, n_fills)
    share = np.where(status[owner] == "FILLED", 1.0, rng.uniform(0.2, 0.9, size=total))
    per_fill = np.maximum((quantity[owner] * share / n_fills[owner]).astype(np.int64), 1)
    # A FILLED order's fills add up to its quantity exactly.
    filled = np.bincount(owner, weights=per_fill, minlength=n_orders).astype(np.int64)
    last = rank == n_fills[owner] - 1
    top_up = np.where(status[owner] == "FILLED", quantity[owner] - filled[owner], 0)
    per_fill = per_fill + np.where(last, top_up, 0)
    fill_time = submit[owner] + (rank + 1) * rng.integers(10**8, 30 * 10**9, size=total)
    price = np.round(base[code[owner]] * np.exp(rng.normal(0, 1e-3, size=total)), 4)
    last_fill = np.full(n_orders, 0, dtype=np.int64)
    np.maximum.at(last_fill, owner, fill_time)
    end = np.where(status == "FILLED", last_fill, submit + rng.integers(10**9, 300 * 10**9))
    end = np.where(status == "REJECTED", submit, np.maximum(end, last_fill))
    order_ids = np.array([f"O{i:07d}" for i in range(n_orders)], dtype=object)
    orders = pd.DataFrame(
        {
            "order_id": order_ids,
            "account": rng.choice(np.array(["alice", "bob", "carol"], dtype=object), n_orders),
            "symbol": names[code],
            "side": side,
            "quantity": quantity,
            "order_type": rng.choice(np.array(["MARKET", "LIMIT"], dtype=object), n_orders),
            "decision_price": decision,
            "submit_time": submit.view("datetime64[ns]"),
            "end_time": pd.Series(end.view("datetime64[ns]")).where(status != "OPEN"),
            "end_status": status,
        }
    )
    fills = pd.DataFrame(
        {
            "fill_id": np.array([f"F{i:08d}" for i in range(total)], dtype=object),
            "order_id": order_ids[owner],
            "time": fill_time.view("datetime64[ns]"),
            "price": price,
            "quantity": per_fill,
            "fee": np.round(price * per_fill * 0.5e-4, 4),
        }
    )
    return orders, fills


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    names = np.array([f"S{i:03d}" for i in range(args.symbols)], dtype=object)
    base = rng.uniform(20.0, 500.0, size=args.symbols)
    started = time.perf_counter()
    quotes, trades = market(rng, names, base, args.quotes, args.trades)
    orders, fills = book(rng, names, base, args.orders)
    build = time.perf_counter() - started
    print(
        f"built {len(orders):,} orders, {len(fills):,} fills, {len(quotes):,} quotes, "
        f"{len(trades):,} trades across {args.symbols} symbols in {build:.1f} s"
    )

    started = time.perf_counter()
    result = compute_tca(orders, fills, quotes, trades, horizons_s=DEFAULT_HORIZONS_S)
    seconds = time.perf_counter() - started

    o, f = result.orders, result.fills
    print(
        f"compute_tca: {seconds:.2f} s (target <= {TARGET_SECONDS:.0f} s at 100k orders / 10M "
        f"quotes): {len(o):,} order rows x {o.shape[1]} columns, {len(f):,} fill rows x "
        f"{f.shape[1]} columns"
    )
    print(
        f"sanity: arrival mid found for {o['arrival_mid'].notna().mean():.1%} of orders, "
        f"IS bps median {o['is_bps'].median():.2f}, 60 s markout median "
        f"{f['markout_bps_60s'].median():.2f} bps"
    )
    return {
        "benchmark": "tca",
        "orders": len(o),
        "fills": len(f),
        "quotes": len(quotes),
        "trades": len(trades),
        "symbols": args.symbols,
        "horizons_s": list(DEFAULT_HORIZONS_S),
        "seconds": round(seconds, 3),
        "build_seconds": round(build, 3),
        "target_seconds": TARGET_SECONDS,
        **environment(),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return emit(run(parse_args(argv)))


if __name__ == "__main__":
    main()
