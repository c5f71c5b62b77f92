"""The ticker hot cache, its coalescing subscriptions, and the metrics registry."""

from __future__ import annotations

import asyncio

from realtime.domain import Quote, Trade
from realtime.market import TickerCache
from realtime.metrics import Counter, Gauge, Histogram, Registry


def quote(symbol: str, bid: float, ts: int) -> Quote:
    return Quote(symbol=symbol, bid=bid, ask=bid + 0.02, bid_size=1, ask_size=2, ts_ns=ts)


def test_ticker_cache_when_updates_then_latest_per_symbol_and_unknown_ignored() -> None:
    cache = TickerCache(["AAPL", "MSFT"])
    cache.on_quote(quote("AAPL", 1.0, 1))
    cache.on_quote(quote("AAPL", 2.0, 2))
    cache.on_trade(Trade(symbol="AAPL", price=2.01, size=5, ts_ns=3))
    cache.on_quote(quote("ZZZ", 9.0, 4))
    aapl = cache.tickers["AAPL"]
    assert (aapl.bid, aapl.last, aapl.volume, aapl.ts_ns) == (2.0, 2.01, 5, 3)
    assert "ZZZ" not in cache.tickers
    assert cache.tickers["MSFT"].bid is None


def test_subscription_when_slow_then_coalesces_to_latest_per_subscribed_symbol() -> None:
    async def scenario() -> None:
        cache = TickerCache(["AAPL", "MSFT"])
        subscription = cache.subscribe(["AAPL"])
        for n in range(100):
            cache.on_quote(quote("AAPL", 1.0 + n, n))
            cache.on_quote(quote("MSFT", 1.0 + n, n))
        batch = await subscription.next_batch()
        assert [(t.symbol, t.bid) for t in batch] == [("AAPL", 100.0)]
        cache.unsubscribe(subscription)
        cache.on_quote(quote("AAPL", 5.0, 200))
        assert not subscription.pending

    asyncio.run(scenario())


def test_registry_renders_prometheus_text() -> None:
    registry = Registry()
    orders = registry.add(Counter("orders_total", "Orders", ("outcome",)))
    latency = registry.add(Histogram("latency_seconds", "Latency", (0.001, 0.01)))
    registry.add(Gauge("depth", "Depth", lambda: 3))
    orders.inc('we"ird')
    latency.observe(0.0005)
    latency.observe(0.5)
    text = registry.render()
    assert 'orders_total{outcome="we\\"ird"} 1' in text
    assert 'latency_seconds_bucket{le="0.001"} 1' in text
    assert 'latency_seconds_bucket{le="0.01"} 1' in text
    assert 'latency_seconds_bucket{le="+Inf"} 2' in text
    assert "latency_seconds_count 2" in text
    assert "depth 3" in text
    assert "# TYPE orders_total counter" in text
