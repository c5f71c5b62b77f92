"""The hot cache of latest tickers and its fan-out to WebSocket subscribers.

Subscribers get coalesced updates: a slow client sees the latest ticker per
symbol rather than an ever-growing backlog, so one slow browser cannot grow the
service's memory or delay anyone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import msgspec

from realtime.domain import Quote, Trade


class Ticker(msgspec.Struct, kw_only=True):
    symbol: str
    bid: float | None = None
    ask: float | None = None
    bid_size: int = 0
    ask_size: int = 0
    last: float | None = None
    last_size: int = 0
    volume: int = 0  # traded units seen since start-up
    ts_ns: int = 0


class TickerSubscription:
    """One subscriber's pending updates: the latest ticker per subscribed symbol."""

    def __init__(self, symbols: Collection[str] | None) -> None:
        self.symbols: set[str] | None = set(symbols) if symbols is not None else None
        self.pending: dict[str, Ticker] = {}
        self.ready = asyncio.Event()

    def wants(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols

    def offer(self, ticker: Ticker) -> None:
        self.pending[ticker.symbol] = ticker
        self.ready.set()

    async def next_batch(self) -> list[Ticker]:
        await self.ready.wait()
        self.ready.clear()
        batch, self.pending = list(self.pending.values()), {}
        return batch


class TickerCache:
    def __init__(self, symbols: Collection[str]) -> None:
        self.tickers: dict[str, Ticker] = {s: Ticker(symbol=s) for s in symbols}
        self.subscriptions: set[TickerSubscription] = set()
        self.last_update_ns = 0
        self.messages = 0

    def on_quote(self, quote: Quote) -> None:
        ticker = self.tickers.get(quote.symbol)
        if ticker is None:
            return
        ticker.bid, ticker.ask = quote.bid, quote.ask
        ticker.bid_size, ticker.ask_size = quote.bid_size, quote.ask_size
        self._updated(ticker, quote.ts_ns)

    def on_trade(self, trade: Trade) -> None:
        ticker = self.tickers.get(trade.symbol)
        if ticker is None:
            return
        ticker.last, ticker.last_size = trade.price, trade.size
        ticker.volume += trade.size
        self._updated(ticker, trade.ts_ns)

    def _updated(self, ticker: Ticker, ts_ns: int) -> None:
        ticker.ts_ns = ts_ns
        self.last_update_ns = ts_ns
        self.messages += 1
        if self.subscriptions:
            # Subscribers keep a reference until they send: hand them a copy.
            snapshot = msgspec.structs.replace(ticker)
            for subscription in self.subscriptions:
                if subscription.wants(ticker.symbol):
                    subscription.offer(snapshot)

    def subscribe(self, symbols: Collection[str] | None) -> TickerSubscription:
        subscription = TickerSubscription(symbols)
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: TickerSubscription) -> None:
        self.subscriptions.discard(subscription)
