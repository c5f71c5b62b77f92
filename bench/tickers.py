"""GET /tickers over loopback, open loop at a fixed rate (see bench/loadgen.py).

python -m bench.tickers [--rate 1000 --seconds 10] [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

import uvloop

from bench._stats import emit, environment
from bench.http_orders import service, summarize
from bench.loadgen import run_open_loop


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=1_000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--url")
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    args = parser.parse_args(argv)
    with service(args.url, args.server) as url:
        parts = urlsplit(url)
        request = f"GET /tickers HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        uvloop.run(run_open_loop(host, port, lambda _: request, rate=200, seconds=1))  # warm-up
        result = uvloop.run(
            run_open_loop(
                host,
                port,
                lambda _: request,
                rate=args.rate,
                seconds=args.seconds,
                connections=args.connections,
            )
        )
    return emit(
        {
            "benchmark": "tickers",
            "server": args.server,
            **summarize(result),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
