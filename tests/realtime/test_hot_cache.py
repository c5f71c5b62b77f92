"""The Redis hot cache: what lands in Redis, when, and that an outage never touches orders.

Each test runs its own redis-server on a free port (the server binary that serves
127.0.0.1:6379 here), so tests can kill it to make an outage and never see another
process's keys.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
import redis

from realtime.domain import OrderRequest, OrderType, Position, Side
from realtime.hot_cache import (
    UPDATES_CHANNEL,
    HotCachePublisher,
    decode_update,
    position_key,
    position_value,
    redis_client,
    ticker_key,
    ticker_value,
)
from realtime.instruments import load_universe
from realtime.market import Ticker
from realtime.presentation import Precision
from realtime.queries import positions
from realtime.service import TradingService
from realtime.service_process import free_port
from realtime.settings import ServiceSettings, SettingsError
from realtime.views import ticker_view
from tests.realtime.api.support import start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
needs_redis_server = pytest.mark.skipif(REDIS_SERVER is None, reason="no redis-server binary")
WAIT_S = 10.0  # upper bound for awaited events; they normally take milliseconds
# The default universe's (config/instruments.toml): AAPL 3 decimals, ESZ6 (tick 0.25) 3.
PRECISION = Precision(load_universe(ROOT / "config" / "instruments.toml").by_symbol())


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(
            [REDIS_SERVER, *options, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + WAIT_S
        while True:  # the server accepts connections only once it has loaded
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.01)
        client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


class Channel:
    """The test's own subscriber to the updates channel."""

    def __init__(self, url: str) -> None:
        self.client = redis_client(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(UPDATES_CHANNEL)
        self.pubsub.get_message(timeout=1.0)

    def next_for(self, key: str) -> dict[str, object]:
        deadline = time.monotonic() + WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            message = self.pubsub.get_message(timeout=left)
            if message is not None:
                got, value = decode_update(message["data"])
                if got == key:
                    return value
        raise AssertionError(f"no update for {key} within {WAIT_S} s")

    def close(self) -> None:
        self.pubsub.close()
        self.client.close()


@pytest.fixture
def channel(redis_server: RedisServer) -> Iterator[Channel]:
    subscriber = Channel(redis_server.url)
    yield subscriber
    subscriber.close()


# --- the setting ------------------------------------------------------------------------


def test_hot_cache_setting_when_unset_then_nothing_is_published() -> None:
    assert ServiceSettings.from_env({}).hot_cache_url is None


def test_hot_cache_setting_when_a_redis_url_then_kept() -> None:
    settings = ServiceSettings.from_env({"TRADEPIPE_HOT_CACHE": "redis://cache:6379/2"})

    assert settings.hot_cache_url == "redis://cache:6379/2"


@pytest.mark.parametrize("value", ["http://cache:6379", "redis://", "cache:6379", "redis://h:x"])
def test_hot_cache_setting_when_not_a_redis_url_then_settings_error_names_it(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        ServiceSettings.from_env({"TRADEPIPE_HOT_CACHE": value})

    (problem,) = error.value.problems
    assert (problem.source, problem.where) == ("environment", "TRADEPIPE_HOT_CACHE")
    assert error.value.code == "INVALID_SETTINGS"


# --- the publisher ----------------------------------------------------------------------


class Committed:
    def __init__(self, seq: int) -> None:
        self.seq = seq

    def __call__(self) -> int:
        return self.seq


@pytest.mark.redis
@needs_redis_server
def test_publisher_when_ticker_offered_then_key_holds_it_and_channel_announces_it(
    redis_server: RedisServer, channel: Channel
) -> None:
    publisher = HotCachePublisher(redis_server.url, Committed(0), PRECISION)
    publisher.start()
    try:
        publisher.offer_ticker(Ticker(symbol="AAPL", bid=189.5, ask=189.52, ts_ns=7))
        announced = channel.next_for(ticker_key("AAPL"))
    finally:
        publisher.stop()

    assert announced["bid"] == 189.5
    assert announced["ts_ns"] == 7
    stored = json.loads(channel.client.get(ticker_key("AAPL")))  # type: ignore[arg-type]
    assert stored == announced


@pytest.mark.redis
@needs_redis_server
def test_publisher_when_position_not_yet_committed_then_published_only_after_the_commit(
    redis_server: RedisServer, channel: Channel
) -> None:
    committed = Committed(4)
    publisher = HotCachePublisher(redis_server.url, committed, PRECISION)
    publisher.start()
    position = Position(account="alice", symbol="AAPL", quantity=10, average_cost=189.5)
    try:
        publisher.offer_position(position, seq=5)
        # A ticker offered after it is written (it needs no commit) while the position waits.
        publisher.offer_ticker(Ticker(symbol="MSFT", bid=410.0, ask=410.1, ts_ns=1))
        channel.next_for(ticker_key("MSFT"))
        assert channel.client.get(position_key("alice", "AAPL")) is None

        committed.seq = 5
        announced = channel.next_for(position_key("alice", "AAPL"))
    finally:
        publisher.stop()

    assert announced == {
        "account": "alice",
        "symbol": "AAPL",
        "quantity": 10,
        "average_cost": 189.5,
        "realized_pnl": 0.0,
        "seq": 5,
    }


@pytest.mark.redis
@needs_redis_server
def test_publisher_when_redis_dies_and_returns_then_the_latest_values_are_written(
    redis_server: RedisServer,
) -> None:
    publisher = HotCachePublisher(redis_server.url, Committed(0), PRECISION, retry_after_s=0.05)
    publisher.start()
    try:
        publisher.offer_ticker(Ticker(symbol="AAPL", bid=1.0, ask=1.1, ts_ns=1))
        wait_for(lambda: publisher.published == 1)
        redis_server.kill()
        for i in range(2, 100):  # offered during the outage: only the latest survives
            publisher.offer_ticker(Ticker(symbol="AAPL", bid=float(i), ask=i + 0.1, ts_ns=i))
        wait_for(lambda: publisher.failures >= 1 and not publisher.connected)
        assert publisher.pending_keys == 1

        redis_server.start()  # same port, empty (it keeps nothing on disk)
        wait_for(lambda: publisher.connected)
    finally:
        publisher.stop()

    stored = json.loads(redis_client(redis_server.url).get(ticker_key("AAPL")))  # type: ignore[arg-type]
    assert stored["ts_ns"] == 99
    assert publisher.published == 2


# Binary noise the engine's float arithmetic leaves (issue 12's examples).
NOISY_PRICE = 191.07999999999998
NOISY_PNL = -43.44000000000017


def test_ticker_value_when_prices_carry_binary_noise_then_it_is_the_apis_rounded_view() -> None:
    ticker = Ticker(symbol="AAPL", bid=NOISY_PRICE, ask=191.10000000000002, last=None, ts_ns=7)

    value = json.loads(ticker_value(ticker, PRECISION))

    assert value == msgspec.to_builtins(ticker_view(ticker, PRECISION))  # GET /tickers' body
    assert (value["bid"], value["ask"], value["last"]) == (191.08, 191.1, None)
    assert value["ts"] == "1970-01-01T00:00:00.000000Z" and value["ts_ns"] == 7


def test_position_value_when_cost_and_pnl_carry_noise_then_price_precision_and_cents() -> None:
    position = Position(
        account="alice",
        symbol="ESZ6",
        quantity=-2,
        average_cost=6012.3749999999991,  # the mean of fills on a 0.25 grid: 3 decimals
        realized_pnl=NOISY_PNL,
    )

    value = json.loads(position_value(position, 9, PRECISION))

    assert value == {
        "account": "alice",
        "symbol": "ESZ6",
        "quantity": -2,
        "average_cost": 6012.375,
        "realized_pnl": -43.44,
        "seq": 9,
    }


@pytest.mark.redis
@needs_redis_server
def test_publisher_when_noisy_ticker_and_position_then_redis_holds_the_rounded_figures(
    redis_server: RedisServer, channel: Channel
) -> None:
    publisher = HotCachePublisher(redis_server.url, Committed(1), PRECISION)
    position = Position(
        account="alice", symbol="AAPL", quantity=3, average_cost=NOISY_PRICE, realized_pnl=NOISY_PNL
    )
    publisher.start()
    try:
        publisher.offer_ticker(Ticker(symbol="AAPL", bid=NOISY_PRICE, ask=191.09, ts_ns=5))
        ticker = channel.next_for(ticker_key("AAPL"))
        publisher.offer_position(position, seq=1)
        announced = channel.next_for(position_key("alice", "AAPL"))
    finally:
        publisher.stop()

    assert (ticker["bid"], ticker["ask"]) == (191.08, 191.09)
    assert (announced["average_cost"], announced["realized_pnl"]) == (191.08, -43.44)
    stored = json.loads(channel.client.get(position_key("alice", "AAPL")))  # type: ignore[arg-type]
    assert stored == announced


def wait_for(condition: object, timeout_s: float = WAIT_S) -> None:
    """Wait for a condition that another thread makes true (polled: it has no event)."""
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


# --- the service ------------------------------------------------------------------------


def service_settings(tmp_path: Path, hot_cache_url: str) -> ServiceSettings:
    env = {
        "TRADEPIPE_DATA_DIR": str(tmp_path / "data"),
        "TRADEPIPE_CONFIG_DIR": str(ROOT / "config"),
        "TRADEPIPE_FEED_RATE": "500",
        "TRADEPIPE_ACCESS_LOG": "0",
        "TRADEPIPE_HOT_CACHE": hot_cache_url,
    }
    return ServiceSettings.from_env(env)


@asynccontextmanager
async def running_service(settings: ServiceSettings) -> AsyncIterator[TradingService]:
    service = TradingService(settings)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


def buy(cid: str, quantity: int = 5) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        symbol="AAPL",
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
    )


async def first_quote(service: TradingService) -> None:
    subscription = service.tickers.subscribe({"AAPL"})
    try:
        await asyncio.wait_for(subscription.next_batch(), WAIT_S)
    finally:
        service.tickers.unsubscribe(subscription)


@pytest.mark.redis
@needs_redis_server
def test_service_when_a_fill_commits_then_its_position_reaches_redis(
    tmp_path: Path, redis_server: RedisServer, channel: Channel
) -> None:
    async def scenario() -> dict[str, object]:
        async with running_service(service_settings(tmp_path, redis_server.url)) as service:
            await first_quote(service)
            result = await service.engine.submit("alice", buy("hc-1", 5))
            assert result.rejection is None
            announced = await asyncio.to_thread(channel.next_for, position_key("alice", "AAPL"))
            (api,) = positions(service.engine.state, "alice", service.precision)
            # The figures GET /positions answers, rounded the same way.
            assert (announced["average_cost"], announced["realized_pnl"]) == (
                api.average_cost,
                api.realized_pnl,
            )
            return announced

    announced = asyncio.run(scenario())

    assert announced["quantity"] == 5
    assert isinstance(announced["seq"], int)
    assert announced["seq"] > 0


class SilentServer:
    """Accepts TCP connections (the kernel does, from the backlog) and never answers:
    a Redis that hangs, the worst case for a caller that waits on it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"redis://127.0.0.1:{self.socket.getsockname()[1]}/0"

    def close(self) -> None:
        self.socket.close()


@pytest.mark.parametrize("outage", ["refused", "hanging"])
def test_service_when_redis_is_down_or_hangs_then_orders_are_accepted_as_fast(
    tmp_path: Path, outage: str
) -> None:
    silent = SilentServer()
    url = silent.url if outage == "hanging" else f"redis://127.0.0.1:{free_port()}/0"

    async def scenario() -> float:
        async with running_service(service_settings(tmp_path, url)) as service:
            await first_quote(service)
            link = service.hot_cache
            assert link is not None
            slowest = 0.0
            for i in range(40):
                started = time.perf_counter()
                result = await service.engine.submit("alice", buy(f"down-{i}", 1))
                slowest = max(slowest, time.perf_counter() - started)
                assert result.rejection is None
            await asyncio.to_thread(wait_for, lambda: link.publisher.failures >= 1)
            assert not link.publisher.connected
            assert "tradepipe_hot_cache_connected 0" in service.metrics.registry.render()
            return slowest

    try:
        slowest = asyncio.run(scenario())
    finally:
        silent.close()

    # A hanging Redis holds the publisher's socket for 0.5 s per try; an order waiting on
    # it would take at least that.
    assert slowest < 0.25


@pytest.mark.redis
@pytest.mark.slow
@needs_redis_server
def test_reader_process_when_the_service_publishes_then_it_sees_each_ticker_within_50ms(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    reader = subprocess.Popen(
        [sys.executable, "-m", "realtime.hot_cache", "watch", redis_server.url, "--count", "40"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    server = None
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready"
        server = start_server(
            tmp_path / "data",
            ROOT / "config",
            tmp_path / "server.log",
            {"TRADEPIPE_HOT_CACHE": redis_server.url, "TRADEPIPE_FEED_RATE": "100"},
        )
        lines = [json.loads(line) for line in reader.stdout]
        assert reader.wait(WAIT_S) == 0
    finally:
        if server is not None:
            stop_server(server)
        reader.kill()
        reader.wait()

    delays_ms = sorted(
        (line["received_ns"] - line["value"]["ts_ns"]) / 1e6
        for line in lines
        if line["key"].startswith("tradepipe:ticker:")
    )
    assert len(delays_ms) >= 30
    # The feed stamps a quote when it makes it; the reader when Redis hands it over.
    assert delays_ms[len(delays_ms) // 2] < 50, delays_ms
    assert delays_ms[int(len(delays_ms) * 0.9)] < 50, delays_ms
