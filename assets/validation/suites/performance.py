"""Performance: a short open-loop load on the service over loopback, or a host listed
in TRADEPIPE_VALIDATION_LOAD_HOSTS (`load_target`), with bench/loadgen.py: latency from
each request's due time, so a slow server is charged for its queueing; as test orders
of the probe account only, measuring submit-to-ack and /tickers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import numpy as np

from assets.validation.config import ValidationConfig
from assets.validation.load_target import LoadRefused, load_target
from assets.validation.platform import Platform, client_order_id
from assets.validation.results import CheckResult, judged, outcome
from bench.loadgen import LoadResult, run_open_loop

# enough for the bounded rates (a request due while all are busy waits, and is charged)
CONNECTIONS = 8


def performance(platform: Platform, config: ValidationConfig) -> list[CheckResult]:
    names = [c for c in config.checks if c.startswith("performance_")]
    try:
        host, port = load_target(platform.api_url, platform.load_hosts)
    except LoadRefused as exc:
        return [outcome(config[n], False, str(exc)) for n in names]
    load = config.performance
    key = config.probe.api_key
    try:
        orders, tickers = asyncio.run(
            _load(host, port, key, load.orders_per_s, load.tickers_per_s, load.seconds)
        )
    except OSError as exc:
        reason = f"the service at {platform.api_url} does not answer: {exc!r}"
        return [outcome(config[n], False, reason) for n in names]
    results = []
    for label, result, stem in (
        ("POST /orders submit-to-ack", orders, "performance_submit_ack"),
        ("GET /tickers", tickers, "performance_tickers"),
    ):
        lat = np.asarray(result.latencies_ns, dtype=np.float64) / 1e9
        figures = {"sent": result.sent, "answered": len(lat), "statuses": result.statuses}
        for q in (50, 99):
            name = f"{stem}_p{q}"
            if not len(lat):
                results.append(outcome(config[name], False, f"{label}: no request answered"))
                continue
            value = float(np.percentile(lat, q))
            results.append(
                judged(
                    config[name],
                    value,
                    f"{label} P{q} over {len(lat)} requests at "
                    f"{result.rate:g}/s for {result.seconds:g} s",
                    extra=figures,
                )
            )
    bad = orders.errors + tickers.errors  # non-2xx, lost or unanswered
    results.append(
        judged(
            config["performance_errors"],
            float(bad),
            "requests of the load not answered 2xx",
            extra={"orders": orders.statuses, "tickers": tickers.statuses},
        )
    )
    return results


def _order_request(host: str, port: int, key: str) -> Callable[[int], bytes]:
    def build(n: int) -> bytes:
        # Alternate buys and sells of one share: the probe account stays flat.
        body = json.dumps(
            {
                "client_order_id": client_order_id("perf"),
                "symbol": "AAPL",
                "side": "BUY" if n % 2 == 0 else "SELL",
                "quantity": 1,
                "order_type": "MARKET",
            }
        ).encode()
        return (
            f"POST /orders HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    return build


def _tickers_request(host: str, port: int) -> Callable[[int], bytes]:
    request = f"GET /tickers HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    return lambda n: request


async def _load(
    host: str, port: int, key: str, orders_per_s: float, tickers_per_s: float, seconds: float
) -> tuple[LoadResult, LoadResult]:
    return await asyncio.gather(
        run_open_loop(
            host,
            port,
            _order_request(host, port, key),
            rate=orders_per_s,
            seconds=seconds,
            connections=CONNECTIONS,
        ),
        run_open_loop(
            host,
            port,
            _tickers_request(host, port),
            rate=tickers_per_s,
            seconds=seconds,
            connections=CONNECTIONS,
        ),
    )
