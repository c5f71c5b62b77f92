"""A small trading desk for demos: two accounts that trade the way a sensible desk does.

    python -m realtime.demo_client --url http://127.0.0.1:8000 [--seconds 0] [--actions 0]

Each account quotes passively and takes liquidity now and then, with order sizes of
a few thousand to a few tens of thousands of dollars, and keeps to its own book:

* it cancels or replaces only orders that are still working (the server's status,
  looked up first), and cancels what has rested too long, so its open orders stay few;
* it leans against its positions (buys what it is short, sells what it is long),
  flattens a position that grew past its cap, and rebalances its largest position
  every minute or so, so its exposure stays well inside its limits;
* about one order in a hundred is a deliberate rejection (a restricted symbol, a
  price outside the collar, a size over the limit) so the risk views have something
  to show.

It also posts a per-symbol news-sentiment signal to /alt every 15 s. Seeded: two runs
take the same decisions on the same market. The desk's clock is its action count
(`rate` actions a second), so a run of `actions` behaves the same at any speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import httpx

ACCOUNTS: Final = {"alice": "alice-demo-key", "bob": "bob-demo-key"}
WORKING: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
# Per account and symbol: past this market value the desk flattens the position.
POSITION_CAP: Final = 150_000.0
ORDER_NOTIONAL: Final = (2_000.0, 25_000.0)
MAX_RESTING_S: Final = 20.0  # demo seconds before a resting order is canceled
MAX_WORKING: Final = 8  # working orders per account
REFRESH_S: Final = 2.0  # how often an account re-reads its P&L (positions, marks)
REBALANCE_S: Final = 60.0
ALT_EVERY_S: Final = 15.0
DELIBERATE_REJECTIONS: Final = 0.01  # share of new orders meant to be refused
SKIP_SYMBOLS: Final = frozenset({"DELISTED"})
TICKS: Final = {"ESZ6": 0.25, "BTCUSD": 0.5}
LOTS: Final = {"BTCUSD": 10}
# Contract multipliers (config/instruments.toml): risk counts ESZ6 at 50x its price.
MULTIPLIERS: Final = {"ESZ6": 50.0}
MAX_ORDER_VALUE: Final = 100_000.0  # a flatten is sent in pieces of at most this


def unit_value(symbol: str, mid: float) -> float:
    return mid * MULTIPLIERS.get(symbol, 1.0)


def tick_round(price: float, tick: float = 0.01) -> float:
    return round(round(price / tick) * tick, 2)


@dataclass
class Book:
    """What one account knows of its own orders and positions."""

    working: dict[str, float] = field(default_factory=dict)  # order id -> placed at (demo s)
    positions: dict[str, int] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)  # symbols risk says it may not trade
    refreshed_at: float = -1e9
    rebalanced_at: float = 0.0


class DemoTrader:
    def __init__(self, client: httpx.AsyncClient, seed: int, rate: float = 5.0) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.rate = rate
        self.outcomes: Counter[str] = Counter()
        self.books = {account: Book() for account in ACCOUNTS}
        self.actions = 0
        self.n = 0
        self.alt_at = -1e9

    @property
    def now(self) -> float:
        """Demo seconds: the action count at the desk's pace."""
        return self.actions / self.rate

    def count(self, what: str, response: httpx.Response) -> None:
        label = "ok"
        if response.status_code >= 400:
            try:
                label = str(response.json().get("code"))
            except ValueError:
                label = "?"
        self.outcomes[f"{what} {response.status_code} {label}"] += 1

    async def tickers(self) -> dict[str, dict[str, Any]]:
        response = await self.client.get("/tickers")
        return {
            t["symbol"]: t
            for t in response.json()
            if t.get("bid") and t.get("ask") and t["symbol"] not in SKIP_SYMBOLS
        }

    async def step(self) -> None:
        """Read the tickers and take one action on them (none while no symbol has a
        quote); a transport failure is counted, not raised, so the desk trades on."""
        try:
            tickers = await self.tickers()
            if tickers:
                await self.act(tickers)
        except httpx.HTTPError as exc:
            self.outcomes[f"transport {type(exc).__name__}"] += 1

    async def act(self, tickers: dict[str, dict[str, Any]]) -> None:
        """One action of one account."""
        self.actions += 1
        account = self.rng.choice(list(ACCOUNTS))
        book = self.books[account]
        headers = {"X-API-Key": ACCOUNTS[account]}
        if self.now - book.refreshed_at >= REFRESH_S:
            await self.refresh(account, book, headers)
        if self.now - self.alt_at >= ALT_EVERY_S:
            self.alt_at = self.now
            await self.post_sentiment(tickers)
            return
        if over := self.over_cap(book, tickers):
            await self.reduce(account, headers, over, book.positions[over], 1.0, tickers)
            return
        if self.now - book.rebalanced_at >= REBALANCE_S and book.positions:
            book.rebalanced_at = self.now
            symbol = max(book.positions, key=lambda s: abs(self.value(book, s, tickers)))
            await self.reduce(account, headers, symbol, book.positions[symbol], 0.5, tickers)
            return
        stale = [oid for oid, at in book.working.items() if self.now - at > MAX_RESTING_S]
        if stale:
            await self.cancel(account, book, headers, stale[0])
            return
        roll = self.rng.random()
        if roll < 0.08 and book.working:
            await self.cancel(account, book, headers, self.rng.choice(sorted(book.working)))
        elif roll < 0.16 and book.working:
            await self.replace(
                account, book, headers, self.rng.choice(sorted(book.working)), tickers
            )
        elif len(book.working) < MAX_WORKING or roll > 0.8:
            await self.new_order(account, book, headers, tickers)

    async def refresh(self, account: str, book: Book, headers: dict[str, str]) -> None:
        response = await self.client.get("/pnl", headers=headers)
        self.count("pnl", response)
        if response.status_code == 200:
            book.positions = {
                p["symbol"]: int(p["quantity"])
                for p in response.json().get("positions", [])
                if int(p["quantity"])
            }
        book.refreshed_at = self.now

    def value(self, book: Book, symbol: str, tickers: dict[str, dict[str, Any]]) -> float:
        ticker = tickers.get(symbol)
        mid = (ticker["bid"] + ticker["ask"]) / 2 if ticker else 0.0
        return book.positions.get(symbol, 0) * unit_value(symbol, mid)

    def over_cap(self, book: Book, tickers: dict[str, dict[str, Any]]) -> str | None:
        for symbol in sorted(book.positions):
            if abs(self.value(book, symbol, tickers)) > POSITION_CAP and symbol in tickers:
                return symbol
        return None

    async def reduce(
        self,
        account: str,
        headers: dict[str, str],
        symbol: str,
        quantity: int,
        share: float,
        tickers: dict[str, dict[str, Any]],
    ) -> None:
        """Trade `share` of a position back towards flat, at market, in a piece no
        larger than MAX_ORDER_VALUE (the next action sends the next piece)."""
        lot = LOTS.get(symbol, 1)
        ticker = tickers.get(symbol)
        if ticker is None:
            return
        per_unit = unit_value(symbol, (ticker["bid"] + ticker["ask"]) / 2)
        piece = max(lot, int(MAX_ORDER_VALUE / per_unit) // lot * lot)
        size = min(int(abs(quantity) * share), piece) // lot * lot
        if size <= 0:
            return
        body = {
            "client_order_id": self.client_order_id(account),
            "symbol": symbol,
            "side": "SELL" if quantity > 0 else "BUY",
            "quantity": size,
            "order_type": "MARKET",
        }
        response = await self.client.post("/orders", json=body, headers=headers)
        self.count("flatten" if share >= 1 else "rebalance", response)
        # Positions change with the fill: read them again before the next decision.
        self.books[account].refreshed_at = -1e9

    async def working_order(
        self, book: Book, headers: dict[str, str], order_id: str
    ) -> dict[str, Any] | None:
        """The order if the server says it still works; otherwise forget it."""
        response = await self.client.get(f"/orders/{order_id}", headers=headers)
        self.count("lookup", response)
        order = response.json() if response.status_code == 200 else {}
        if order.get("status") in WORKING:
            return dict(order)
        book.working.pop(order_id, None)
        return None

    async def cancel(
        self, account: str, book: Book, headers: dict[str, str], order_id: str
    ) -> None:
        if await self.working_order(book, headers, order_id) is None:
            return
        response = await self.client.delete(f"/orders/{order_id}", headers=headers)
        self.count("cancel", response)
        book.working.pop(order_id, None)

    async def replace(
        self,
        account: str,
        book: Book,
        headers: dict[str, str],
        order_id: str,
        tickers: dict[str, dict[str, Any]],
    ) -> None:
        order = await self.working_order(book, headers, order_id)
        ticker = tickers.get(order["symbol"]) if order else None
        if order is None or ticker is None or order.get("limit_price") is None:
            return
        tick = TICKS.get(order["symbol"], 0.01)
        near = ticker["bid"] if order["side"] == "BUY" else ticker["ask"]
        leaves = int(order["quantity"]) - int(order.get("filled_quantity") or 0)
        amend = {"quantity": int(order["quantity"]), "limit_price": tick_round(near, tick)}
        if leaves <= 0:
            return
        response = await self.client.post(
            f"/orders/{order_id}/replace", json=amend, headers=headers
        )
        self.count("replace", response)
        if response.status_code < 400:
            book.working[order_id] = self.now

    def client_order_id(self, account: str) -> str:
        self.n += 1
        return f"demo-{account}-{int(time.time())}-{self.n}"

    async def new_order(
        self, account: str, book: Book, headers: dict[str, str], tickers: dict[str, dict[str, Any]]
    ) -> None:
        rng = self.rng
        if rng.random() < DELIBERATE_REJECTIONS:
            await self.deliberate_rejection(account, headers, tickers)
            return
        # What one lot of costs more than the desk's largest order it does not trade.
        affordable = [
            s
            for s in sorted(tickers)
            if LOTS.get(s, 1) * unit_value(s, tickers[s]["bid"]) <= ORDER_NOTIONAL[1]
            and s not in book.refused
        ]
        symbol = rng.choice(affordable)
        ticker = tickers[symbol]
        position = book.positions.get(symbol, 0)
        # Lean against the position: a long is sold more often than added to.
        lean = 0.5 if position == 0 else (0.25 if position > 0 else 0.75)
        side = "BUY" if rng.random() < lean else "SELL"
        mid = (ticker["bid"] + ticker["ask"]) / 2
        lot = LOTS.get(symbol, 1)
        per_unit = unit_value(symbol, mid)
        quantity = max(lot, int(rng.uniform(*ORDER_NOTIONAL) / per_unit) // lot * lot)
        tick = TICKS.get(symbol, 0.01)
        body: dict[str, Any] = {
            "client_order_id": self.client_order_id(account),
            "symbol": symbol,
            "side": side,
            "quantity": quantity,
        }
        kind = rng.random()
        if kind < 0.2:
            body["order_type"] = "MARKET"
        else:
            touch = ticker["bid"] if side == "BUY" else ticker["ask"]
            # Mostly joins or improves the touch, sometimes crosses it.
            offset = rng.choice((-0.001, -0.0005, 0.0, 0.0, 0.0005, 0.001))
            price = touch * (1 + offset) if side == "BUY" else touch * (1 - offset)
            body["limit_price"] = tick_round(price, tick)
            if kind > 0.9:
                body["time_in_force"] = "IOC"
        response = await self.client.post("/orders", json=body, headers=headers)
        self.count("order", response)
        if response.status_code == 422 and response.json().get("code") == "RESTRICTED_SYMBOL":
            book.refused.add(symbol)  # a desk learns its restricted list once
        if response.status_code == 201 and "limit_price" in body and "time_in_force" not in body:
            book.working[response.json()["order_id"]] = self.now

    async def deliberate_rejection(
        self, account: str, headers: dict[str, str], tickers: dict[str, dict[str, Any]]
    ) -> None:
        symbol = self.rng.choice(sorted(tickers))
        mid = (tickers[symbol]["bid"] + tickers[symbol]["ask"]) / 2
        tick = TICKS.get(symbol, 0.01)
        lot = LOTS.get(symbol, 1)
        body: dict[str, Any] = {
            "client_order_id": self.client_order_id(account),
            "symbol": symbol,
            "side": "BUY",
            "quantity": lot,
            "order_type": "LIMIT",
            "limit_price": tick_round(mid * 0.8, tick),  # outside the 5 % collar
        }
        if self.rng.random() < 0.5:
            body.update(order_type="MARKET", quantity=20_000 // lot * lot)  # over the size cap
            del body["limit_price"]
        response = await self.client.post("/orders", json=body, headers=headers)
        self.count("deliberate", response)

    async def post_sentiment(self, tickers: dict[str, dict[str, Any]]) -> None:
        now = datetime.now(UTC).isoformat()
        records = [
            {
                "ts": now,
                "symbol": symbol,
                "signal": "news_sentiment",
                "value": round(self.rng.uniform(-1, 1), 3),
            }
            for symbol in sorted(tickers)
        ]
        response = await self.client.post(
            "/alt", json=records, headers={"X-API-Key": ACCOUNTS["alice"]}
        )
        self.count("alt", response)


RISK_CODES: Final = frozenset(
    {
        "POSITION_LIMIT",
        "GROSS_EXPOSURE_LIMIT",
        "INSUFFICIENT_BUYING_POWER",
        "MAX_ORDER_NOTIONAL",
        "MAX_ORDER_QUANTITY",
        "PRICE_OUTSIDE_COLLAR",
        "RESTRICTED_SYMBOL",
        "REDUCE_ONLY",
        "TRADING_HALTED",
        "RATE_LIMITED",
    }
)


@dataclass(frozen=True)
class Summary:
    requests: int
    conflicts: int  # 409: acted on an order that was no longer working
    risk_rejections: int

    @classmethod
    def of(cls, outcomes: Counter[str]) -> Summary:
        def status_and_code(key: str) -> tuple[str, str]:
            _, status, code = key.split(" ", 2)
            return status, code

        parsed = [(status_and_code(k), n) for k, n in outcomes.items() if k.count(" ") >= 2]
        return cls(
            requests=sum(n for _, n in parsed),
            conflicts=sum(n for (status, _), n in parsed if status == "409"),
            risk_rejections=sum(n for (_, code), n in parsed if code in RISK_CODES),
        )


async def run(
    url: str, seconds: float, rate: float, seed: int, actions: int = 0, paced: bool = True
) -> Counter[str]:
    """Trade until stopped, `seconds` (wall clock) or `actions` have passed (0: no
    bound). `paced=False` goes as fast as the server answers (tests)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        trader = DemoTrader(client, seed, rate)
        started = last_report = time.monotonic()
        while not stop.is_set():
            if seconds > 0 and time.monotonic() - started >= seconds:
                break
            if actions > 0 and trader.actions >= actions:
                break
            await trader.step()
            if paced and time.monotonic() - last_report > 30:
                print("demo client:", dict(trader.outcomes.most_common()), flush=True)
                last_report = time.monotonic()
            if paced:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0 / rate)
        return trader.outcomes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--seconds", type=float, default=0.0, help="0: until interrupted")
    parser.add_argument("--actions", type=int, default=0, help="0: no bound")
    parser.add_argument("--rate", type=float, default=5.0, help="actions per second")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    outcomes = asyncio.run(run(args.url, args.seconds, args.rate, args.seed, args.actions))
    print("demo client done:", dict(outcomes.most_common()), flush=True)


if __name__ == "__main__":
    main()
