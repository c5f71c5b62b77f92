"""The hot cache on Redis: latest tickers and positions, for other processes to read.

Optional (`TRADEPIPE_HOT_CACHE=redis://host:6379/0`; unset, nothing here runs). The
service's own `/tickers` and `/positions` stay the source of truth; Redis carries a
copy so dashboards, other services and notebooks read it without asking the trading
process.

What lands in Redis::

    tradepipe:ticker:<SYMBOL>              JSON of realtime.views.TickerView
    tradepipe:position:<ACCOUNT>:<SYMBOL>  JSON of HotPosition
    channel tradepipe:updates              {"key": <key>, "value": <the same JSON>}

The figures are the API's (`realtime.presentation`): a ticker is exactly what
`GET /tickers` answers for it (`ticker_view`), a position's average cost is rounded
to its instrument's price precision and its realized P&L to the cent, as
`GET /positions` rounds them. A reader never sees binary noise the API hides.

Why it can never block or fail an order: the event loop only puts the value (a position
encoded, a ticker as its snapshot, which the thread encodes) in a dict under a lock held
for a dict assignment; a thread of its own does every network call. The dict holds the
latest value per key, so an outage costs memory bounded by the number of symbols and
positions, never a growing backlog, and when Redis is back the thread writes the latest
of each. A position is published only once the journal has committed the fill behind it,
so Redis never shows a position a restart would take back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, NamedTuple

import msgspec
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from realtime import events as ev
from realtime.domain import Position
from realtime.market import Ticker, TickerCache
from realtime.metrics import Gauge, Registry
from realtime.presentation import Precision, round_money
from realtime.redis_url import validate_url
from realtime.views import ticker_view

if TYPE_CHECKING:
    from realtime.engine import TradingEngine

log = logging.getLogger(__name__)

KEY_PREFIX: Final = "tradepipe"
UPDATES_CHANNEL: Final = f"{KEY_PREFIX}:updates"
# Network calls give up fast: the thread then waits RETRY_AFTER_S and tries again with
# the latest values, instead of redis-py's own retries stacking up behind an outage.
SOCKET_TIMEOUT_S: Final = 0.5
RETRY_AFTER_S: Final = 0.5
# While a position waits for its journal commit (usually well under a millisecond).
COMMIT_POLL_S: Final = 0.001


def ticker_key(symbol: str) -> str:
    return f"{KEY_PREFIX}:ticker:{symbol}"


def position_key(account: str, symbol: str) -> str:
    return f"{KEY_PREFIX}:position:{account}:{symbol}"


class HotPosition(msgspec.Struct, kw_only=True):
    account: str
    symbol: str
    quantity: int
    average_cost: float  # the instrument's price precision, as GET /positions
    realized_pnl: float  # net of fees, in cents, as GET /positions
    seq: int  # the journal event this position includes, for readers to order updates


class CacheUpdate(msgspec.Struct, kw_only=True):
    """One message on UPDATES_CHANNEL; `value` is exactly what the key holds."""

    key: str
    value: msgspec.Raw


class _Pending(NamedTuple):
    seq: int  # journal seq that must be committed first; 0 for tickers
    # A position is encoded on the loop (its struct changes with the next fill); a
    # ticker is a snapshot nobody changes, encoded by the thread (rounding and the ISO
    # time cost about 2 us, which the loop then never pays).
    value: bytes | Ticker


_encode = msgspec.json.Encoder().encode
_decode_update = msgspec.json.Decoder(CacheUpdate).decode


def decode_update(message: bytes) -> tuple[str, dict[str, object]]:
    update = _decode_update(message)
    return update.key, json.loads(bytes(update.value))


def hot_position(position: Position, seq: int, precision: Precision) -> HotPosition:
    return HotPosition(
        account=position.account,
        symbol=position.symbol,
        quantity=position.quantity,
        average_cost=precision.price(position.symbol, position.average_cost),
        realized_pnl=round_money(position.realized_pnl),
        seq=seq,
    )


def ticker_value(ticker: Ticker, precision: Precision) -> bytes:
    """What a ticker key holds: the API's view of it."""
    return _encode(ticker_view(ticker, precision))


def position_value(position: Position, seq: int, precision: Precision) -> bytes:
    """What a position key holds."""
    return _encode(hot_position(position, seq, precision))


def redis_client(url: str, *, socket_timeout_s: float | None = SOCKET_TIMEOUT_S) -> redis.Redis:
    """A client that gives up fast (None: reads wait as long as it takes, for a subscriber
    that may hear nothing for a while)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )


class HotCachePublisher:
    """Loop side: `offer_*` (cheap, never blocks on the network). Thread side: the rest."""

    def __init__(
        self,
        url: str,
        committed_seq: Callable[[], int],
        precision: Precision,
        *,
        retry_after_s: float = RETRY_AFTER_S,
    ) -> None:
        """`precision`: the service's (`TradingService.precision`), so the values are
        rounded as the API rounds them."""
        self.url = url
        self._committed_seq = committed_seq
        self._precision = precision
        self._retry_after_s = retry_after_s
        self._client = redis_client(url)
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Written by the thread only; read by /metrics and tests.
        self.connected = False
        self.published = 0
        self.failures = 0
        self.last_error = ""

    # --- loop side ------------------------------------------------------------------

    def offer_ticker(self, ticker: Ticker) -> None:
        """`ticker` must not change after the offer: a snapshot, as the ticker cache's
        subscriptions hand out."""
        self._offer(ticker_key(ticker.symbol), _Pending(0, ticker))

    def offer_position(self, position: Position, seq: int) -> None:
        value = position_value(position, seq, self._precision)
        self._offer(position_key(position.account, position.symbol), _Pending(seq, value))

    def _offer(self, key: str, pending: _Pending) -> None:
        with self._lock:
            self._pending[key] = pending
        if not self._wake.is_set():  # set() takes a condition lock; a set event needs none
            self._wake.set()

    @property
    def pending_keys(self) -> int:
        return len(self._pending)

    def register_metrics(self, registry: Registry) -> None:
        registry.add(
            Gauge(
                "tradepipe_hot_cache_connected",
                "1 while the last write to the Redis hot cache succeeded",
                lambda: float(self.connected),
            )
        )
        registry.add(
            Gauge(
                "tradepipe_hot_cache_pending_keys",
                "Keys whose latest value is not yet in Redis",
                lambda: float(self.pending_keys),
            )
        )
        registry.add(
            Gauge(
                "tradepipe_hot_cache_failures",
                "Failed writes to Redis since start-up (each is retried with the latest values)",
                lambda: float(self.failures),
            )
        )

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hot-cache", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Write what is pending if Redis answers within the timeout, then close."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._client.close()

    # --- thread side ----------------------------------------------------------------

    def _run(self) -> None:
        held = failed = False
        while True:
            stopping = self._stopping.is_set()
            if not (stopping or failed):
                # Offers wake the thread; a held position re-checks its commit shortly.
                self._wake.wait(COMMIT_POLL_S if held else None)
                self._wake.clear()
            ready, held = self._take_ready()
            failed = bool(ready) and not self._write(ready)
            if failed:
                self._put_back(ready)
                if stopping or self._stopping.wait(self._retry_after_s):
                    return
            elif stopping:
                return

    def _take_ready(self) -> tuple[dict[str, _Pending], bool]:
        committed = self._committed_seq()
        with self._lock:
            batch, self._pending = self._pending, {}
            held = {k: v for k, v in batch.items() if v.seq > committed}
            for key, value in held.items():
                self._pending.setdefault(key, value)
        for key in held:
            del batch[key]
        return batch, bool(held)

    def _put_back(self, batch: dict[str, _Pending]) -> None:
        with self._lock:
            for key, value in batch.items():
                self._pending.setdefault(key, value)  # a newer offer wins

    def _write(self, batch: dict[str, _Pending]) -> bool:
        pipe = self._client.pipeline(transaction=False)
        for key, pending in batch.items():
            value = pending.value
            if isinstance(value, Ticker):
                value = ticker_value(value, self._precision)
            pipe.set(key, value)
            pipe.publish(UPDATES_CHANNEL, _encode(CacheUpdate(key=key, value=msgspec.Raw(value))))
        try:
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            self.failures += 1
            if self.connected or self.failures == 1:
                log.warning(
                    "hot cache: Redis unreachable, keeping the latest values until it is back",
                    extra={"url": self.url, "error": str(exc), "pending": len(batch)},
                )
            self.connected = False
            self.last_error = str(exc)
            return False
        if not self.connected:
            log.info("hot cache: writing to Redis", extra={"url": self.url})
        self.connected = True
        self.published += len(batch)
        return True


class PositionFeeder:
    """An engine event listener (`engine.subscribe`) that offers each position a fill
    changed; `position_of(account, symbol)` reads it from the engine's state."""

    def __init__(
        self, publisher: HotCachePublisher, position_of: Callable[[str, str], Position]
    ) -> None:
        self._publisher = publisher
        self._position_of = position_of

    def __call__(self, seq: int, event: ev.Event) -> None:
        if isinstance(event, ev.OrderFilled):
            self._publisher.offer_position(self._position_of(event.account, event.symbol), seq)


class HotCacheLink:
    """The service's wiring: the publisher, a task that hands it ticker updates (the
    ticker cache's coalesced subscription, so a burst of quotes is one offer per symbol)
    and the engine listener for positions."""

    def __init__(self, publisher: HotCachePublisher, tickers: TickerCache) -> None:
        self.publisher = publisher
        self._tickers = tickers
        self._subscription = tickers.subscribe(None)
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @classmethod
    def start(
        cls,
        url: str,
        engine: TradingEngine,
        tickers: TickerCache,
        registry: Registry,
        precision: Precision,
    ) -> HotCacheLink:
        publisher = HotCachePublisher(url, lambda: engine.journal.committed_seq, precision)
        publisher.register_metrics(registry)
        link = cls(publisher, tickers)
        state = engine.state
        # What the journal replay rebuilt is committed: publish it all at start-up.
        for book in state.accounts.values():
            for symbol_book in book.symbols.values():
                publisher.offer_position(symbol_book.position, state.last_seq)
        for ticker in tickers.tickers.values():
            if ticker.ts_ns:  # a copy: the cache changes its own tickers in place
                publisher.offer_ticker(msgspec.structs.replace(ticker))

        def position_of(account: str, symbol: str) -> Position:
            return state.account(account).symbol(symbol).position

        link._unsubscribe = engine.subscribe(PositionFeeder(publisher, position_of))
        link._task = asyncio.create_task(link._forward_tickers(), name="hot-cache-tickers")
        publisher.start()
        return link

    async def _forward_tickers(self) -> None:
        while True:
            for ticker in await self._subscription.next_batch():
                self.publisher.offer_ticker(ticker)

    async def stop(self) -> None:
        """After the engine closed (its last fills committed): write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._tickers.unsubscribe(self._subscription)
        if self._unsubscribe is not None:
            self._unsubscribe()
        await asyncio.to_thread(self.publisher.stop)


# --- a reader, for people and tests: python -m realtime.hot_cache watch URL ------------


def watch(url: str, out: Callable[[str], None], *, max_updates: int | None = None) -> None:
    """Print `ready`, then one JSON line per update with the reader's receive time
    (`received_ns`, wall-clock epoch ns: the clock the service stamps tickers with, so
    `received_ns - value["ts_ns"]` is a quote's way from the feed to this reader)."""
    client = redis_client(url, socket_timeout_s=None)
    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(UPDATES_CHANNEL)
    pubsub.get_message(timeout=SOCKET_TIMEOUT_S)  # the subscribe confirmation
    out("ready")
    seen = 0
    try:
        while max_updates is None or seen < max_updates:
            message = pubsub.get_message(timeout=None)
            if message is None:
                continue
            received = time.time_ns()
            key, value = decode_update(message["data"])
            out(json.dumps({"received_ns": received, "key": key, "value": value}))
            seen += 1
    finally:
        pubsub.close()
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime.hot_cache")
    commands = parser.add_subparsers(dest="command", required=True)
    watcher = commands.add_parser("watch", help="print every hot cache update as a JSON line")
    watcher.add_argument("url", type=validate_url)
    watcher.add_argument("--count", type=int, default=None, help="stop after this many")
    args = parser.parse_args(argv)
    try:
        watch(args.url, lambda line: print(line, flush=True), max_updates=args.count)
    except redis.RedisError as exc:
        print(f"hot cache: {args.url}: {exc}", file=sys.stderr)
        return 69
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
