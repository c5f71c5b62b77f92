"""The Redis hot cache: what an offer costs the event loop, and how soon a reader sees it.

(a) `offer_ticker` per call while the publisher thread writes to a live Redis;
(b) the same while Redis is unreachable (a closed port): the loop's cost must not move;
(c) a separate reader process (`python -m realtime.hot_cache watch`) subscribed to the
    updates channel: each of `--updates` tickers (distinct keys, so none coalesce) is
    offered at `--rate` per second, stamped with the wall clock at the offer, and the
    reader stamps its receipt; the delay is the difference (same clock, same machine).

Needs `redis-server` on PATH (a private one on a free port is started and stopped), or
`--redis URL` for a server you run (its `tradepipe:*` keys are overwritten).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import redis

from bench._stats import emit, percentile, timer_overhead_ns
from realtime.hot_cache import HotCachePublisher
from realtime.instruments import load_universe
from realtime.market import Ticker
from realtime.presentation import Precision
from realtime.service_process import free_port

ROOT = Path(__file__).resolve().parents[1]
# The service's rounding, of the default universe (the bench's B* symbols are not in
# it: they round at the fallback precision, which costs the same).
PRECISION = Precision(load_universe(ROOT / "config" / "instruments.toml").by_symbol())


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no redis-server on PATH: pass --redis URL")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


def offer_costs_ns(publisher: HotCachePublisher, calls: int) -> list[int]:
    clock = time.perf_counter_ns
    base = Ticker(symbol="AAPL", bid=100.0, ask=100.02, bid_size=100, ask_size=200)
    samples = []
    for i in range(calls):
        # A snapshot per offer, as the ticker cache hands them out (made outside the timing).
        ticker = msgspec.structs.replace(base, ts_ns=i)
        start = clock()
        publisher.offer_ticker(ticker)
        samples.append(clock() - start)
    samples.sort()
    return samples


def reader_delays_ms(url: str, updates: int, rate: float) -> list[float]:
    reader = subprocess.Popen(
        [sys.executable, "-m", "realtime.hot_cache", "watch", url, "--count", str(updates)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    out = reader.stdout
    publisher = HotCachePublisher(url, lambda: 0, PRECISION)
    lines: list[dict[str, Any]] = []
    # Drained while the offers run: a full pipe would stall the reader and time the pipe.
    drain = threading.Thread(target=lambda: lines.extend(json.loads(x) for x in out))
    try:
        if out.readline().strip() != "ready":
            raise SystemExit("the reader did not subscribe")
        drain.start()
        publisher.start()
        interval_ns = int(1e9 / rate)
        due = time.perf_counter_ns()
        for i in range(updates):
            due += interval_ns
            while (wait := due - time.perf_counter_ns()) > 0:
                time.sleep(wait / 1e9)
            publisher.offer_ticker(
                Ticker(symbol=f"B{i:06d}", bid=1.0, ask=1.01, ts_ns=time.time_ns())
            )
        reader.wait(30)
        drain.join(30)
    finally:
        publisher.stop()
        reader.kill()
        reader.wait()
    return sorted((line["received_ns"] - line["value"]["ts_ns"]) / 1e6 for line in lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000, help="offers timed in (a), (b)")
    parser.add_argument("--updates", type=int, default=5_000, help="updates in (c)")
    parser.add_argument("--rate", type=float, default=1_000.0, help="offers per second in (c)")
    parser.add_argument("--redis", default=None, help="a Redis URL instead of a private one")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "benchmark": "hot_cache",
        "calls": args.calls,
        "updates": args.updates,
        "rate": args.rate,
        "timer_overhead_ns": timer_overhead_ns(),
    }
    with contextlib.ExitStack() as stack:
        url = args.redis or stack.enter_context(private_redis())
        for label, target in (("live", url), ("outage", f"redis://127.0.0.1:{free_port()}/0")):
            publisher = HotCachePublisher(target, lambda: 0, PRECISION)
            publisher.start()
            try:
                costs = offer_costs_ns(publisher, args.calls)
            finally:
                publisher.stop()
            p50, p99 = percentile(costs, 50), percentile(costs, 99)
            print(f"offer_ticker, Redis {label:6}: p50 {p50:.0f} ns  p99 {p99:.0f} ns")
            result[f"{label}_offer_p50_ns"] = p50
            result[f"{label}_offer_p99_ns"] = p99
        delays = reader_delays_ms(url, args.updates, args.rate)
    result["received"] = len(delays)
    for name, pct in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
        result[f"reader_{name}_ms"] = round(percentile(delays, pct), 3)
    print(
        f"reader process: {len(delays)} updates  p50 {result['reader_p50_ms']} ms  "
        f"p99 {result['reader_p99_ms']} ms  max {result['reader_max_ms']} ms"
    )
    return emit(result)


if __name__ == "__main__":
    main()
