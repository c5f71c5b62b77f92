"""Helpers for API tests against a real server process on 127.0.0.1.

Every server a test starts goes through `running_server` (or `start_server` plus
`stop_server` in a `finally`), so no process outlives the test that started it.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from websockets.sync.client import connect as ws_connect

from realtime.config import load_service_config
from realtime.service_process import ServiceProcess, clean_env, start_service

ROOT = Path(__file__).resolve().parents[3]
CONFIG_SOURCE = ROOT / "config"

ALICE = {"X-API-Key": "alice-demo-key"}
BOB = {"X-API-Key": "bob-demo-key"}
ADMIN = {"X-API-Key": "ops-demo-key"}
KEYS = {"alice": ALICE, "bob": BOB}

PROBLEM_JSON = "application/problem+json"

# Every API test runs against both stacks: the ASGI fast path in front of FastAPI (the
# default) and FastAPI alone, so a route served by both answers the same on both. The
# value is TRADEPIPE_FAST_PATH.
STACKS = {"fast_path": "1", "fastapi": "0"}
HTTP_TIMEOUT = httpx.Timeout(10.0)

T = TypeVar("T")


# --- the server process -----------------------------------------------------------
# Starting, waiting for readiness and stopping are realtime.service_process, shared
# with the launcher and the benchmarks; this adds the test's data and config folders.


@dataclass
class Server:
    service: ServiceProcess
    data_dir: Path
    config_dir: Path

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.service.process

    @property
    def port(self) -> int:
        return self.service.port

    @property
    def log_path(self) -> Path:
        return self.service.log_path

    @property
    def instance_id(self) -> str:
        return self.service.instance_id

    @property
    def base_url(self) -> str:
        return self.service.url

    @property
    def ws_url(self) -> str:
        return self.service.url.replace("http://", "ws://", 1)

    def log_text(self) -> str:
        return self.service.output()

    def log_tail(self, lines: int = 40) -> str:
        return self.service.tail(lines)


def copy_config(destination: Path) -> Path:
    """A private copy of config/, so a test may rewrite the limits file."""
    shutil.copytree(CONFIG_SOURCE, destination)
    return destination


def server_env(data_dir: Path, config_dir: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    # Settings the developer may have exported must not leak into the server under test.
    env = clean_env()
    env.update(
        TRADEPIPE_DATA_DIR=str(data_dir),
        TRADEPIPE_CONFIG_DIR=str(config_dir),
        TRADEPIPE_ACCESS_LOG="0",
        TRADEPIPE_FEED_RATE="500",
        TRADEPIPE_HOST="127.0.0.1",
    )
    env.update(extra or {})
    return env


def start_server(
    data_dir: Path,
    config_dir: Path,
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
    ready_timeout: float = 30.0,
) -> Server:
    """Start `python -m realtime.server` on a port of its choosing and wait until it is
    ready; a server that exits first raises ServiceExited with its error lines."""
    env = server_env(data_dir, config_dir, extra_env)
    service = start_service(env, log_path)
    try:
        service.wait_ready(ready_timeout)
        server = Server(service, data_dir, config_dir)
        if env.get("TRADEPIPE_FEED", "synthetic") == "synthetic":
            wait_for_first_quotes(server, ready_timeout)
    except BaseException:
        service.stop()
        raise
    return server


def quoted_symbols(config_dir: Path) -> set[str]:
    """The symbols the synthetic feed quotes: the instruments with a reference price."""
    config = load_service_config(
        config_dir / "instruments.toml", config_dir / "limits.toml", config_dir / "accounts.toml"
    )
    return {
        symbol
        for symbol, spec in config.universe.instruments.items()
        if spec.reference_price is not None
    }


def wait_for_first_quotes(server: Server, timeout: float) -> None:
    """Until every symbol the feed quotes has a bid and an ask, read from the ticker
    stream: each message is the server saying a ticker changed, so nothing polls, and
    a test then finds a quote for any symbol on its first request."""
    expected = quoted_symbols(server.config_dir)
    quoted: set[str] = set()
    deadline = time.monotonic() + timeout
    with ws_connect(server.ws_url + "/ws/tickers", open_timeout=timeout) as stream:
        stream.send(json.dumps({"op": "subscribe"}))
        while not expected <= quoted:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no quote within {timeout} s for {sorted(expected - quoted)}")
            for ticker in json.loads(stream.recv(timeout=remaining)):
                if ticker["bid"] is not None and ticker["ask"] is not None:
                    quoted.add(ticker["symbol"])


def stop_server(server: Server, timeout: float = 15.0) -> int:
    """SIGTERM, wait, then SIGKILL if it does not exit; returns the exit status."""
    return server.service.stop(timeout)


def kill_server(server: Server) -> int:
    return server.service.kill()


@contextlib.contextmanager
def running_server(
    data_dir: Path,
    config_dir: Path,
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    server = start_server(data_dir, config_dir, log_path, extra_env)
    try:
        yield server
    finally:
        stop_server(server)


# --- assertions and polling ----------------------------------------------------------


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An error answer: the exact status, problem+json, and the stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["type"].startswith("urn:tradepipe:problem:")
    assert body["title"] and body["detail"]
    return body


def poll(
    fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = 5.0, what: str = ""
) -> T:
    """Call `fetch` until `done(value)` or the deadline; the last value on failure."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}: {value!r}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


# --- market data and prices ---------------------------------------------------------

TICKS = {"ESZ6": 0.25}


def tick_of(symbol: str) -> float:
    return TICKS.get(symbol, 0.01)


def on_grid(steps: int, tick: float) -> float:
    return round(steps * tick, 10)


def quote(client: httpx.Client, symbol: str = "AAPL") -> tuple[float, float]:
    """The current bid and ask (a server from `start_server` has quoted every symbol
    before it is handed to a test)."""
    ticker = client.get(f"/tickers/{symbol}").json()
    assert ticker["bid"] is not None and ticker["ask"] is not None, ticker
    return ticker["bid"], ticker["ask"]


def resting_buy_price(client: httpx.Client, symbol: str = "AAPL", fraction: float = 0.97) -> float:
    """A buy limit well below the bid (it rests) and inside the 5% collar."""
    bid, _ = quote(client, symbol)
    tick = tick_of(symbol)
    return on_grid(math.floor(bid * fraction / tick), tick)


def resting_sell_price(client: httpx.Client, symbol: str = "AAPL", fraction: float = 1.03) -> float:
    _, ask = quote(client, symbol)
    tick = tick_of(symbol)
    return on_grid(math.ceil(ask * fraction / tick), tick)


# --- orders ------------------------------------------------------------------------


def client_order_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def market_order(side: str = "BUY", quantity: int = 1, symbol: str = "AAPL") -> dict[str, Any]:
    return {
        "client_order_id": client_order_id("mkt"),
        "symbol": symbol,
        "side": side,
        "quantity": quantity,
        "order_type": "MARKET",
    }


def limit_order(
    price: float, side: str = "BUY", quantity: int = 1, symbol: str = "AAPL", **extra: Any
) -> dict[str, Any]:
    return {
        "client_order_id": client_order_id("lmt"),
        "symbol": symbol,
        "side": side,
        "quantity": quantity,
        "order_type": "LIMIT",
        "limit_price": price,
        **extra,
    }


def place(
    client: httpx.Client, headers: Mapping[str, str], body: Mapping[str, Any]
) -> dict[str, Any]:
    response = client.post("/orders", headers=headers, json=body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def place_resting_buy(
    client: httpx.Client, headers: Mapping[str, str], quantity: int = 1, symbol: str = "AAPL"
) -> dict[str, Any]:
    """A limit buy that rests on the venue; returned once it is acknowledged (NEW)."""
    order = place(client, headers, limit_order(resting_buy_price(client, symbol), "BUY", quantity))
    return wait_for_status(client, headers, order["order_id"], {"NEW"})


def get_order(client: httpx.Client, headers: Mapping[str, str], order_id: str) -> dict[str, Any]:
    response = client.get(f"/orders/{order_id}", headers=headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


def wait_for_status(
    client: httpx.Client,
    headers: Mapping[str, str],
    order_id: str,
    statuses: set[str],
    timeout: float = 5.0,
) -> dict[str, Any]:
    return poll(
        lambda: get_order(client, headers, order_id),
        lambda o: o["status"] in statuses,
        timeout,
        what=f"order {order_id} to reach {sorted(statuses)}",
    )


def all_orders(client: httpx.Client, headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every order of the account, following next_cursor."""
    orders: list[dict[str, Any]] = []
    cursor: int | None = 0
    while cursor is not None:
        response = client.get("/orders", headers=headers, params={"limit": 1000, "cursor": cursor})
        assert response.status_code == 200, response.text
        page = response.json()
        orders.extend(page["orders"])
        cursor = page["next_cursor"]
    return orders


# --- Prometheus text -----------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

MetricKey = tuple[str, frozenset[tuple[str, str]]]


def parse_metrics(text: str) -> dict[MetricKey, float]:
    """Samples of the text exposition format, keyed by (name, labels)."""
    samples: dict[MetricKey, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match is not None, f"not a Prometheus sample line: {line!r}"
        name, labels, value = match.groups()
        label_set = frozenset(_LABEL.findall(labels or ""))
        samples[(name, label_set)] = float(value)
    return samples


def metric(samples: Mapping[MetricKey, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@contextlib.contextmanager
def orders_unchanged(client: httpx.Client, headers: Mapping[str, str]) -> Iterator[None]:
    """The account's order list (every field of every order) is the same afterwards."""
    before = all_orders(client, headers)
    yield
    assert all_orders(client, headers) == before
