"""Latency of online feature reads: what the risk engine's refresh timer pays.

    python -m bench.online_features [--iterations 500] [--symbols 2000] [--no-redis]

Builds a real feature store in a temporary folder (the repo's own definitions, `feast
apply`, a market source for `--symbols` symbols written as the features assets write
it, materialised into the SQLite online store and, unless --no-redis, into Redis on
127.0.0.1:6379 db 12, whose keys it removes at the end). Then times:

* one-entity `get_online_features` of the `risk_features_v1` service (the service
  object looked up once, as the service's reader does), from SQLite and from Redis;
* one batched read of every symbol through `realtime.online_features.FeastReader`
  (what one refresh costs, in its worker thread): `refresh_2000_ms` is its median over
  --refreshes reads from SQLite (`redis_refresh_2000_ms` from Redis).

Targets (issue 9): SQLite P50 <= 5 ms, Redis P50 <= 2 ms, refresh of 2,000 symbols
<= 200 ms. The last line is JSON.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assets.features.registry import apply_if_changed
from bench._stats import emit, environment, percentile
from realtime.feast_config import FeastLocation
from realtime.feature_schema import (
    CREATED_TS,
    DATA_TS,
    EVENT_TS,
    RISK_FEATURES,
    SYMBOL_MARKET,
    SYMBOL_RISK,
)
from realtime.online_features import FeastReader

REDIS_URL = "redis://127.0.0.1:6379/12"
TARGETS = {"sqlite_p50_ms": 5.0, "redis_p50_ms": 2.0, "refresh_2000_ms": 200.0}


def market_rows(symbols: list[str], stamp: pd.Timestamp, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(symbols)
    frame = pd.DataFrame({"symbol": symbols, EVENT_TS: stamp})
    for feature in SYMBOL_MARKET.features:
        if feature.dtype == "int64":
            frame[feature.name] = pd.array(rng.integers(0, 500, n), dtype="Int64")
        else:
            frame[feature.name] = rng.uniform(0.05, 0.9, n)
    frame[DATA_TS] = stamp
    frame[CREATED_TS] = stamp
    return frame


def build_store(folder: Path, online_url: str | None, symbols: list[str]) -> FeastLocation:
    location = FeastLocation(folder, online_url)
    source = location.sources_dir / SYMBOL_MARKET.folder
    source.mkdir(parents=True, exist_ok=True)
    stamp = pd.Timestamp.now(tz="UTC").floor("min").as_unit("us")
    market_rows(symbols, stamp).to_parquet(source / f"{stamp.strftime('%Y-%m-%dT%H')}.parquet")
    apply_if_changed(location)
    store = location.store()
    store.materialize(
        start_date=(stamp - pd.Timedelta(minutes=1)).to_pydatetime(),
        end_date=(stamp + pd.Timedelta(seconds=1)).to_pydatetime(),
        feature_views=[SYMBOL_MARKET.name, SYMBOL_RISK.name],
    )
    return location


def one_entity_ms(location: FeastLocation, symbols: list[str], iterations: int) -> list[float]:
    store = location.store()
    service = store.get_feature_service(RISK_FEATURES.name)
    for symbol in symbols[:20]:  # warm the registry cache and connections
        store.get_online_features(features=service, entity_rows=[{"symbol": symbol}])
    samples = []
    for i in range(iterations):
        rows = [{"symbol": symbols[i % len(symbols)]}]
        started = time.perf_counter_ns()
        store.get_online_features(features=service, entity_rows=rows).to_dict()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return sorted(samples)


def refresh_ms(location: FeastLocation, symbols: list[str], refreshes: int) -> list[float]:
    reader = FeastReader(location)
    readings = reader.read(symbols)  # warm-up; and the answer must be complete
    missing = [s for s, r in readings.items() if r.ts_ns is None]
    if missing:
        raise RuntimeError(f"{len(missing)} symbols without features, e.g. {missing[:3]}")
    samples = []
    for _ in range(refreshes):
        started = time.perf_counter_ns()
        reader.read(symbols)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def measure(
    folder: Path, online_url: str | None, symbols: list[str], iterations: int, refreshes: int
) -> dict[str, float]:
    location = build_store(folder, online_url, symbols)
    try:
        single = one_entity_ms(location, symbols, iterations)
        batch = refresh_ms(location, symbols, refreshes)
    finally:
        if online_url is not None:
            location.store().teardown()  # type: ignore[no-untyped-call]  # our keys out
    return {
        "p50_ms": round(percentile(single, 50), 3),
        "p99_ms": round(percentile(single, 99), 3),
        "refresh_ms": round(statistics.median(batch), 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--symbols", type=int, default=2_000)
    parser.add_argument("--refreshes", type=int, default=7)
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args(argv)
    symbols = [f"S{i:05d}" for i in range(args.symbols)]
    result: dict[str, Any] = {"bench": "online_features", "symbols": args.symbols}
    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        sqlite = measure(Path(tmp) / "sqlite", None, symbols, args.iterations, args.refreshes)
        result.update(
            sqlite_p50_ms=sqlite["p50_ms"],
            sqlite_p99_ms=sqlite["p99_ms"],
            refresh_2000_ms=sqlite["refresh_ms"],
        )
        print(
            f"sqlite: one entity p50 {sqlite['p50_ms']} ms p99 {sqlite['p99_ms']} ms; "
            f"refresh of {args.symbols} symbols {sqlite['refresh_ms']} ms"
        )
        if args.no_redis:
            result.update(redis_p50_ms=None, redis_p99_ms=None, redis_refresh_2000_ms=None)
        else:
            redis = measure(
                Path(tmp) / "redis", REDIS_URL, symbols, args.iterations, args.refreshes
            )
            result.update(
                redis_p50_ms=redis["p50_ms"],
                redis_p99_ms=redis["p99_ms"],
                redis_refresh_2000_ms=redis["refresh_ms"],
            )
            print(
                f"redis: one entity p50 {redis['p50_ms']} ms p99 {redis['p99_ms']} ms; "
                f"refresh of {args.symbols} symbols {redis['refresh_ms']} ms"
            )
    result["targets"] = TARGETS
    result["met"] = {
        key: result.get(key) is not None and result[key] <= target
        for key, target in TARGETS.items()
    }
    result["environment"] = environment()
    return emit(result)


if __name__ == "__main__":
    main()
