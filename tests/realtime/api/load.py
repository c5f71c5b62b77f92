"""A small HTTP load generator for the crash and shutdown tests, and the durability check.

Worker threads submit market and resting limit orders, retry some (idempotency) and
cancel some, each over its own connection, until stopped or the server goes away.
Every 2xx answer about an order is remembered (the latest per order): those are the
orders the service acknowledged, which must all survive a restart.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from realtime.domain import OrderStatus
from realtime.oms import TRANSITIONS
from tests.realtime.api.support import (
    KEYS,
    all_orders,
    limit_order,
    market_order,
    resting_buy_price,
)

SYMBOLS = ("AAPL", "MSFT", "NVDA")
TERMS = (
    "order_id",
    "account",
    "client_order_id",
    "symbol",
    "side",
    "order_type",
    "time_in_force",
    "quantity",
    "limit_price",
    "created_ns",
)


@dataclass
class LoadResult:
    acked: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, account: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{response.status_code} {response.text[:200]}")
            elif 200 <= response.status_code < 300:
                order = response.json()
                self.acked[order["order_id"]] = (account, order)

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.acked)


class LoadGenerator:
    def __init__(self, base_url: str, client: httpx.Client, threads: int = 4) -> None:
        self.base_url = base_url
        self.result = LoadResult()
        self.stop = threading.Event()
        # Resting buys 3% under the bid: they stay open, so cancels have something to do.
        self.prices = {symbol: resting_buy_price(client, symbol) for symbol in SYMBOLS}
        accounts = itertools.cycle(KEYS)
        self.threads = [
            threading.Thread(target=self._work, args=(next(accounts), n), daemon=True)
            for n in range(threads)
        ]

    def __enter__(self) -> LoadGenerator:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)
        assert not any(t.is_alive() for t in self.threads), "a load thread did not stop"

    def _work(self, account: str, worker: int) -> None:
        headers = KEYS[account]
        resting: list[str] = []
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            for i in itertools.count():
                if self.stop.is_set():
                    return
                symbol = SYMBOLS[(i + worker) % len(SYMBOLS)]
                try:
                    self._step(client, account, headers, symbol, i, resting)
                except httpx.TransportError:
                    return  # the server is gone (killed or shutting down)

    def _step(
        self,
        client: httpx.Client,
        account: str,
        headers: Mapping[str, str],
        symbol: str,
        i: int,
        resting: list[str],
    ) -> None:
        kind = i % 5
        if kind == 4 and resting:
            response = client.delete(f"/orders/{resting.pop(0)}", headers=headers)
            self.result.record(account, response)
            return
        if kind in (0, 1):
            body = market_order("BUY" if kind == 0 else "SELL", 1 + i % 3, symbol)
        else:
            body = limit_order(self.prices[symbol], "BUY", 1 + i % 4, symbol)
        response = client.post("/orders", headers=headers, json=body)
        self.result.record(account, response)
        if response.status_code == 201 and body["order_type"] == "LIMIT":
            order_id = response.json()["order_id"]
            resting.append(order_id)
            if i % 7 == 2:  # an idempotent retry of the same request
                retry = client.post("/orders", headers=headers, json=body)
                self.result.record(account, retry)
                if retry.status_code != 200 or retry.json()["order_id"] != order_id:
                    with self.result.lock:
                        self.result.violations.append(f"retry answered {retry.text[:200]}")


def reachable(status: str) -> set[str]:
    """Statuses the lifecycle table allows from `status` (itself included)."""
    seen = {OrderStatus(status)}
    frontier = list(seen)
    while frontier:
        current = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is not current:
                continue
            targets: Iterable[OrderStatus] = (
                (target,)
                if isinstance(target, OrderStatus)
                else (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)  # WORKING
            )
            for t in targets:
                if t not in seen:
                    seen.add(t)
                    frontier.append(t)
    return {s.value for s in seen}


def check_acknowledged_orders_survived(client: httpx.Client, result: LoadResult) -> None:
    """Every acknowledged order is there, from its own account, with the same terms and
    the same or a later lifecycle state; no order appears twice."""
    problems = []
    for order_id, (account, acked) in sorted(result.acked.items()):
        response = client.get(f"/orders/{order_id}", headers=KEYS[account])
        if response.status_code != 200:
            problems.append(f"{order_id} ({account}): {response.status_code} {response.text}")
            continue
        now = response.json()
        changed = {k: (acked[k], now[k]) for k in TERMS if acked[k] != now[k]}
        if changed:
            problems.append(f"{order_id}: terms changed {changed}")
        if now["status"] not in reachable(acked["status"]):
            problems.append(f"{order_id}: acknowledged {acked['status']}, now {now['status']}")
        if now["filled_quantity"] < acked["filled_quantity"]:
            problems.append(f"{order_id}: filled {acked['filled_quantity']} -> fewer")
    for account, headers in KEYS.items():
        listed = all_orders(client, headers)
        cids = collections.Counter(o["client_order_id"] for o in listed)
        twice = [cid for cid, n in cids.items() if n > 1]
        if twice:
            problems.append(f"{account}: client_order_ids listed twice: {twice[:5]}")
        ids = collections.Counter(o["order_id"] for o in listed)
        if any(n > 1 for n in ids.values()):
            problems.append(f"{account}: an order_id is listed twice")
        mine = {oid for oid, (acct, _) in result.acked.items() if acct == account}
        missing = mine - set(ids)
        if missing:
            problems.append(f"{account}: acknowledged but not listed: {sorted(missing)[:5]}")
    assert not problems, "\n".join(problems[:30])
