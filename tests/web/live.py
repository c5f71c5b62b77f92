"""The real service app on a real socket, in a thread of the test process.

In-process (rather than `python -m realtime.server`) so that a test can play the
market itself: it hands quotes to the service's feed sink (`TradingService.on_quote`,
the interface every feed uses) on the server's own event loop, and so decides when
a resting order's price is crossed instead of waiting on a random walk.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from realtime.app import create_app
from realtime.domain import Quote, Trade
from realtime.service import TradingService
from realtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
CONFIG_SOURCE = ROOT / "config"
START_TIMEOUT_S = 20.0
MARKET_STEP_NS = 1_100_000_000


@dataclass
class LiveService:
    url: str
    service: TradingService
    loop: asyncio.AbstractEventLoop
    # The market's own clock for the quotes a test plays: each a little over a second
    # after the last, so the engine samples every one as a new mark (it samples at most
    # once a second of market time) without the test sleeping.
    market_ns: int = 0

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def call(self, fn: Any, *args: Any) -> Any:
        """Run fn(*args) on the server's loop (where all trading state lives); its result."""
        done: Future[Any] = Future()

        def run() -> None:
            try:
                done.set_result(fn(*args))
            except BaseException as exc:
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(timeout=10)

    def quote(self, symbol: str, bid: float, ask: float, size: int = 5_000) -> None:
        """A quote from the market, through the feed sink every feed uses."""
        quote = Quote(
            symbol=symbol, bid=bid, ask=ask, bid_size=size, ask_size=size, ts_ns=self._next_ts()
        )
        self.call(self.service.on_quote, quote)

    def trade(self, symbol: str, price: float, size: int = 100) -> None:
        self.call(
            self.service.on_trade,
            Trade(symbol=symbol, price=price, size=size, ts_ns=self._next_ts()),
        )

    def _next_ts(self) -> int:
        self.market_ns = max(time.time_ns(), self.market_ns + MARKET_STEP_NS)
        return self.market_ns


def settings_for(base: Path, feed: str = "synthetic", **overrides: Any) -> ServiceSettings:
    config = base / "config"
    shutil.copytree(CONFIG_SOURCE, config)
    data = base / "data"
    return ServiceSettings(
        data_dir=data,
        journal_path=data / "journal.sqlite",
        instruments_path=config / "instruments.toml",
        limits_path=config / "limits.toml",
        accounts_path=config / "accounts.toml",
        alt_inbox=data / "inbox" / "alt",
        tick_inbox=data / "inbox" / "ticks",
        port=0,
        feed=feed,
        access_log=False,
        **overrides,
    )


@contextmanager
def live_service(settings: ServiceSettings) -> Iterator[LiveService]:
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, ws="websockets", lifespan="on", log_config=None
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="live-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(10)
            raise RuntimeError(f"the service did not start: {failure or 'timed out'}")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    service = app.app.service  # type: ignore[attr-defined]  # FastPath holds the service
    try:
        yield LiveService(url=f"http://127.0.0.1:{port}", service=service, loop=loop)
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the live service did not stop"
