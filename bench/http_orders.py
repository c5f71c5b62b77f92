"""POST /orders submit-to-ack over loopback, open loop (see bench/loadgen.py).

    python -m bench.http_orders --rate 500 --seconds 20     # latency at a fixed rate
    python -m bench.http_orders --max                       # highest clean sustained rate

Starts its own service (fresh data directory, free port, default durability)
unless --url points at a running one. Orders are limit orders resting a few
percent away from the market, alternating sides, so every one is accepted,
journaled and queued to the venue (an error is any non-2xx answer).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvloop

from bench._service import running_service
from bench._stats import emit, environment, percentile
from bench.loadgen import LoadResult, run_open_loop

API_KEY = "alice-demo-key"
SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "JPM", "SPY")


def order_factory(url: str, run_id: str) -> Any:
    """Pre-build everything but the client order id: the generator must stay cheap."""
    tickers = httpx.get(f"{url}/tickers", timeout=5).json()
    prices = {t["symbol"]: t for t in tickers if t["symbol"] in SYMBOLS and t["bid"]}
    host = urlsplit(url).netloc
    bodies = []
    for symbol, ticker in sorted(prices.items()):
        buy = round(ticker["bid"] * 0.97, 2)
        sell = round(ticker["ask"] * 1.03, 2)
        for side, price in (("BUY", buy), ("SELL", sell)):
            bodies.append(
                (
                    f'{{"client_order_id":"{run_id}-',
                    f'","symbol":"{symbol}","side":"{side}","quantity":1,'
                    f'"order_type":"LIMIT","limit_price":{price}}}',
                )
            )
    head = (
        f"POST /orders HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {API_KEY}\r\n"
        "Content-Type: application/json\r\n"
    )

    def make(n: int) -> bytes:
        prefix, suffix = bodies[n % len(bodies)]
        body = f"{prefix}{n}{suffix}".encode()
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    return make


def summarize(result: LoadResult) -> dict[str, Any]:
    ordered = sorted(result.latencies_ns)
    lag = sorted(result.send_lag_ns)
    if not ordered:
        return {"rate": result.rate, "errors": result.errors, "p50_ms": None, "p99_ms": None}
    return {
        "rate": result.rate,
        "seconds": result.seconds,
        "requests": len(ordered),
        "errors": result.errors,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "p50_ms": round(percentile(ordered, 50) / 1e6, 3),
        "p90_ms": round(percentile(ordered, 90) / 1e6, 3),
        "p99_ms": round(percentile(ordered, 99) / 1e6, 3),
        "p999_ms": round(percentile(ordered, 99.9) / 1e6, 3),
        "max_ms": round(ordered[-1] / 1e6, 3),
        "send_lag_p99_ms": round(percentile(lag, 99) / 1e6, 3) if lag else None,
    }


def measure(url: str, rate: float, seconds: float, connections: int, run_id: str) -> dict[str, Any]:
    parts = urlsplit(url)
    make = order_factory(url, run_id)
    result = uvloop.run(
        run_open_loop(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            make,
            rate=rate,
            seconds=seconds,
            connections=connections,
        )
    )
    return summarize(result)


@contextmanager
def service(url: str | None, server: str) -> Iterator[str]:
    if url:
        yield url.rstrip("/")
    else:
        with running_service(server) as started:
            yield started


def find_max(url: str, seconds: float, connections: int, p99_budget_ms: float) -> dict[str, Any]:
    """Raise the rate until P99 or errors break the budget; bisect between the last good
    and the first bad rate."""
    good: dict[str, Any] | None = None
    steps = []
    rate, bad_rate = 1_000.0, None
    while bad_rate is None and rate <= 20_000:
        summary = measure(url, rate, seconds, connections, f"max{int(rate)}")
        steps.append(summary)
        print(json.dumps(summary), file=sys.stderr)
        if (
            summary["errors"] == 0
            and summary["p99_ms"] is not None
            and (summary["p99_ms"] <= p99_budget_ms)
        ):
            good, rate = summary, rate * 1.5
        else:
            bad_rate = rate
    low = good["rate"] if good else 0.0
    high = bad_rate or rate
    for _ in range(3):
        middle = round((low + high) / 2, -1)
        if middle <= low or middle >= high:
            break
        summary = measure(url, middle, seconds, connections, f"bis{int(middle)}")
        steps.append(summary)
        print(json.dumps(summary), file=sys.stderr)
        if summary["errors"] == 0 and summary["p99_ms"] <= p99_budget_ms:
            good, low = summary, middle
        else:
            high = middle
    return {"max_orders_per_s": low, "at_max": good, "steps": steps}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0, help="orders per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max", action="store_true", help="find the highest clean rate")
    parser.add_argument("--p99-budget-ms", type=float, default=10.0)
    parser.add_argument("--url", help="a running service instead of starting one")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    args = parser.parse_args(argv)
    with service(args.url, args.server) as url:
        # Warm the service (imports, caches, JIT-free but allocator-warm) before measuring.
        with contextlib.suppress(Exception):
            measure(url, 200.0, 2.0, args.connections, "warm")
        if args.max:
            seconds = min(args.seconds, 8.0)
            found = find_max(url, seconds, args.connections, args.p99_budget_ms)
            result: dict[str, Any] = {
                "benchmark": "http_orders_max",
                "server": args.server,
                "max_orders_per_s": found["max_orders_per_s"],
                "at_max": found["at_max"],
                "steps": found["steps"],
            }
        else:
            summary = measure(url, args.rate, args.seconds, args.connections, "run")
            result = {"benchmark": "http_orders", "server": args.server, **summary}
    result["environment"] = environment()
    return emit(result)


if __name__ == "__main__":
    main()
