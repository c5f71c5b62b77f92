"""A small trading client for demos: two accounts place a realistic mix of orders.

    python -m realtime.demo_client --url http://127.0.0.1:8000 [--seconds 0]

Resting and marketable limit orders, market and IOC orders, cancels and
cancel-replaces, plus a per-symbol news-sentiment signal posted to /alt now and
then, so every part of the platform (and the Dagster assets downstream) sees
data within a minute. Seeded, so two runs place the same sequence of orders.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx

ACCOUNTS = {"alice": "alice-demo-key", "bob": "bob-demo-key"}


def tick_round(price: float, tick: float = 0.01) -> float:
    return round(round(price / tick) * tick, 2)


class DemoTrader:
    def __init__(self, client: httpx.AsyncClient, seed: int) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.outcomes: Counter[str] = Counter()
        self.open_orders: dict[str, list[str]] = {a: [] for a in ACCOUNTS}
        self.n = 0

    async def tickers(self) -> dict[str, dict[str, Any]]:
        response = await self.client.get("/tickers")
        return {t["symbol"]: t for t in response.json() if t["bid"] and t["ask"]}

    async def step(self, tickers: dict[str, dict[str, Any]]) -> None:
        rng = self.rng
        account = rng.choice(list(ACCOUNTS))
        headers = {"X-API-Key": ACCOUNTS[account]}
        action = rng.random()
        if action < 0.12 and self.open_orders[account]:
            order_id = self.open_orders[account].pop(rng.randrange(len(self.open_orders[account])))
            response = await self.client.delete(f"/orders/{order_id}", headers=headers)
            self.outcomes[f"cancel {response.status_code}"] += 1
            return
        if action < 0.2 and self.open_orders[account]:
            order_id = rng.choice(self.open_orders[account])
            order = (await self.client.get(f"/orders/{order_id}", headers=headers)).json()
            ticker = tickers.get(order.get("symbol", ""))
            if ticker and order.get("limit_price"):
                near = ticker["bid"] if order["side"] == "BUY" else ticker["ask"]
                amend = {"quantity": order["quantity"] + 10, "limit_price": tick_round(near)}
                response = await self.client.post(
                    f"/orders/{order_id}/replace", json=amend, headers=headers
                )
                self.outcomes[f"replace {response.status_code}"] += 1
            return
        symbol = rng.choice([s for s in tickers if s != "DELISTED"])
        ticker = tickers[symbol]
        side = rng.choice(("BUY", "SELL"))
        self.n += 1
        body: dict[str, Any] = {
            "client_order_id": f"demo-{account}-{int(time.time())}-{self.n}",
            "symbol": symbol,
            "side": side,
            "quantity": 10 if symbol == "BTCUSD" else rng.choice((1, 5, 10, 25, 50, 100)),
        }
        tick = 0.25 if symbol == "ESZ6" else 0.5 if symbol == "BTCUSD" else 0.01
        kind = rng.random()
        if kind < 0.25:
            body["order_type"] = "MARKET"
        else:
            touch = ticker["ask"] if side == "BUY" else ticker["bid"]
            # Mostly passive (rests, fills when the walk comes through), some aggressive.
            offset = rng.choice((-0.004, -0.002, -0.001, 0.0, 0.0005))
            price = touch * (1 + offset) if side == "BUY" else touch * (1 - offset)
            body["limit_price"] = round(round(price / tick) * tick, 2)
            if kind > 0.9:
                body["time_in_force"] = "IOC"
        response = await self.client.post("/orders", json=body, headers=headers)
        payload = response.json()
        label = payload.get("code") if response.status_code >= 400 else "accepted"
        self.outcomes[f"order {response.status_code} {label}"] += 1
        if response.status_code == 201 and body.get("order_type") != "MARKET":
            self.open_orders[account].append(payload["order_id"])
            del self.open_orders[account][:-50]  # the demo only tracks its recent orders

    async def post_sentiment(self, tickers: dict[str, dict[str, Any]]) -> None:
        now = datetime.now(UTC).isoformat()
        records = [
            {
                "ts": now,
                "symbol": symbol,
                "signal": "news_sentiment",
                "value": round(self.rng.uniform(-1, 1), 3),
            }
            for symbol in tickers
        ]
        response = await self.client.post(
            "/alt", json=records, headers={"X-API-Key": ACCOUNTS["alice"]}
        )
        self.outcomes[f"alt {response.status_code}"] += 1


async def run(url: str, seconds: float, rate: float, seed: int) -> Counter[str]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        trader = DemoTrader(client, seed)
        started = time.monotonic()
        last_report = last_alt = started
        while not stop.is_set() and (seconds <= 0 or time.monotonic() - started < seconds):
            try:
                tickers = await trader.tickers()
                if tickers:
                    await trader.step(tickers)
                    if time.monotonic() - last_alt > 15:
                        await trader.post_sentiment(tickers)
                        last_alt = time.monotonic()
            except httpx.HTTPError as exc:
                trader.outcomes[f"transport {type(exc).__name__}"] += 1
            if time.monotonic() - last_report > 30:
                print("demo client:", dict(trader.outcomes.most_common()), flush=True)
                last_report = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0 / rate)
        return trader.outcomes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--seconds", type=float, default=0.0, help="0: until interrupted")
    parser.add_argument("--rate", type=float, default=5.0, help="actions per second")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    outcomes = asyncio.run(run(args.url, args.seconds, args.rate, args.seed))
    print("demo client done:", dict(outcomes.most_common()), flush=True)


if __name__ == "__main__":
    main()
