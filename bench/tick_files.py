"""Tick file parsing: `python -m bench.tick_files [--rows 1000000]`.

Times `realtime.tick_file.read_tick_file` (what the tick inbox and the replay feed
both run) over seeded quote files: CSV with epoch-nanosecond times, CSV with
ISO-8601 times and one bad price in a thousand, and Parquet; and the replay feed
turning a quotes-and-trades CSV into Quote/Trade objects. Each figure is the
median of `--repeat` runs, with the spread (max - min).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench._stats import T0_NS, emit
from realtime.domain import Instrument
from realtime.feed import ReplayFeed
from realtime.tick_file import read_tick_file


def write_files(folder: Path, rows: int) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    bid = np.round(190 + np.cumsum(rng.choice([-0.01, 0.0, 0.01], rows)), 2)
    quotes = pd.DataFrame(
        {
            "ts": T0_NS + np.arange(rows, dtype=np.int64) * 1_000,
            "symbol": "AAPL",
            "bid": bid,
            "ask": bid + 0.02,
            "bid_size": rng.integers(1, 50, rows) * 100,
            "ask_size": rng.integers(1, 50, rows) * 100,
        }
    )
    files = {"csv_epoch": folder / "epoch.csv", "csv_iso": folder / "iso.csv"}
    quotes.to_csv(files["csv_epoch"], index=False)
    iso = quotes.astype({"bid": object})
    iso["ts"] = pd.to_datetime(quotes["ts"], unit="ns").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    iso.loc[::1000, "bid"] = "n/a"
    iso.to_csv(files["csv_iso"], index=False)
    files["parquet"] = folder / "quotes.parquet"
    quotes.assign(ts=pd.to_datetime(quotes["ts"], unit="ns", utc=True)).to_parquet(
        files["parquet"], index=False
    )
    mixed = quotes.assign(kind=np.where(np.arange(rows) % 3 == 0, "trade", "quote"))
    trade = mixed["kind"] == "trade"
    mixed["price"] = np.where(trade, mixed["bid"], np.nan)
    mixed["size"] = np.where(trade, 100, np.nan)
    mixed.loc[trade, ["bid", "ask", "bid_size", "ask_size"]] = np.nan
    files["replay"] = folder / "mixed.csv"
    mixed.to_csv(files["replay"], index=False)
    return files


def timed(run: Callable[[], int], repeat: int) -> tuple[int, float, float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        count = run()
        seconds.append(time.perf_counter() - started)
    return count, statistics.median(seconds), max(seconds) - min(seconds)


def parse_all(path: Path) -> int:
    return sum(len(b.quotes) + len(b.trades) for b in read_tick_file(path, path.suffix))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "tick_files", "rows": args.rows}
    instruments = {"AAPL": Instrument(symbol="AAPL", tick_size=0.01)}
    with tempfile.TemporaryDirectory(prefix="tradepipe-ticks-") as folder:
        files = write_files(Path(folder), args.rows)
        for name in ("csv_epoch", "csv_iso", "parquet"):
            count, median, spread = timed(partial(parse_all, files[name]), args.repeat)
            print(f"{name:10} {count:>9} good rows  {median:6.2f} s (spread {spread:.2f} s)")
            result[f"{name}_seconds"] = round(median, 3)
            result[f"{name}_rows_per_s"] = round(args.rows / median)

        def replay() -> int:
            return sum(1 for _ in ReplayFeed(files["replay"], instruments, speed=0).ticks())

        count, median, spread = timed(replay, args.repeat)
        print(f"{'replay':10} {count:>9} ticks      {median:6.2f} s (spread {spread:.2f} s)")
        result["replay_seconds"] = round(median, 3)
        result["replay_ticks_per_s"] = round(count / median)
    return emit(result)


if __name__ == "__main__":
    main()
