"""The running platform as the suites see it: the service's public HTTP API, the
journal and the warehouse (through their resources), and the Dagster instance.

Only public surfaces: HTTP endpoints (never the service's internals) and the
resources' verbs, so the suites keep working while those change inside.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from assets.resources import JournalSource, Warehouse
from realtime.feast_config import FeastLocation

T = TypeVar("T")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


@dataclass
class Platform:
    api_url: str
    journal: JournalSource
    warehouse: Warehouse
    timeout_s: float = 5.0
    # the Feast store the features pipeline fills (None: this run was given none)
    features: FeastLocation | None = None
    # where the launcher, when it started the platform, says how to ask it to restart
    # the service (`realtime.service_control`; None: this run was given none)
    launcher_control: Path | None = None
    # hosts besides loopback the performance load may go to (`load_target`)
    load_hosts: frozenset[str] = frozenset()
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.api_url, timeout=self.timeout_s)
        return self._client

    def reconnect(self, api_url: str) -> None:
        """Talk to the service at `api_url` from now on (after a restart)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self.api_url = api_url.rstrip("/")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        release(self.warehouse)

    def metrics(self) -> dict[str, float]:
        """GET /metrics as {name{labels}: value}."""
        response = self.http.get("/metrics")
        response.raise_for_status()
        return parse_metrics(response.text)

    def all_orders(self, key: str) -> list[dict[str, Any]]:
        orders: list[dict[str, Any]] = []
        cursor: int | None = 0
        while cursor is not None:
            response = self.http.get(
                "/orders", headers=headers(key), params={"limit": 1000, "cursor": cursor}
            )
            response.raise_for_status()
            page = response.json()
            orders.extend(page["orders"])
            cursor = page["next_cursor"]
        return orders

    def get_json(self, path: str, key: str) -> Any:
        response = self.http.get(path, headers=headers(key))
        response.raise_for_status()
        return response.json()

    def market_order(self, key: str, side: str, quantity: int = 1, symbol: str = "AAPL") -> Any:
        body = {
            "client_order_id": client_order_id(),
            "symbol": symbol,
            "side": side,
            "quantity": quantity,
            "order_type": "MARKET",
        }
        response = self.http.post("/orders", headers=headers(key), json=body)
        if response.status_code != 201:
            raise ProbeError(f"POST /orders answered {response.status_code}: {response.text}")
        return response.json()


class ProbeError(RuntimeError):
    """A probe could not do its step; the message is the check's reason."""


def headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key, "Content-Type": "application/json"}


def client_order_id(prefix: str = "val") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def parse_metrics(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if match := _SAMPLE.match(line):
            values[match[1] + (match[2] or "")] = float(match[3])
    return values


def histogram_quantile(metrics: Mapping[str, float], name: str, q: float) -> float | None:
    """The upper bound of the bucket holding quantile q (None: no observations)."""
    buckets = []
    for key, value in metrics.items():
        if key.startswith(f"{name}_bucket{{"):
            label = key.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if label == "+Inf" else float(label), value))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    if not total:
        return None
    for upper, cumulative in buckets:
        if cumulative >= q * total:
            return upper
    return buckets[-1][0]


def release(warehouse: Warehouse) -> None:
    """Let go of an embedded warehouse file, so shipping can write it meanwhile."""
    close = getattr(warehouse, "close", None)
    if callable(close):
        close()


def wait_for(
    what: str, get: Callable[[], T | None], timeout_s: float, interval_s: float = 0.25
) -> T:
    """`get()` once it is not None, or ProbeError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = get()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise ProbeError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
