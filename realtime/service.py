"""The running service: engine, journal, venue, feed and hot cache, started and stopped together.

This is the object the HTTP layer talks to. Start-up replays the journal;
shutdown stops the feed, lets the venue drain its queue and flushes the
journal, so a SIGTERM loses nothing and leaves no request half-done.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import time
from pathlib import Path

from realtime.clock import Clock, SystemClock
from realtime.config import load_service_config
from realtime.domain import Instrument, Quote, Trade
from realtime.engine import EngineConfig, TradingEngine
from realtime.feast_config import FeastLocation, features_dir
from realtime.feed import ReplayFeed, SyntheticFeed
from realtime.hot_cache import HotCacheLink
from realtime.journal import Journal
from realtime.limits import RiskLimits
from realtime.market import TickerCache
from realtime.metrics import Counter, Gauge, Histogram, Registry
from realtime.online_features import FeastReader, FeatureRefresher
from realtime.presentation import Precision
from realtime.settings import ServiceSettings
from realtime.venue import SimulatedVenue, SimulatedVenueConfig

log = logging.getLogger(__name__)

LATENCY_BUCKETS_S = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.1,
    1.0,
)


class ServiceMetrics:
    def __init__(self, service: TradingService) -> None:
        self.registry = Registry()
        add = self.registry.add
        self.orders = add(
            Counter("tradepipe_orders_total", "Order submissions by outcome", ("outcome", "reason"))
        )
        self.submit_latency = add(
            Histogram(
                "tradepipe_submit_latency_seconds",
                "POST /orders time inside the service, risk to journal commit",
                LATENCY_BUCKETS_S,
            )
        )
        self.http = add(
            Counter("tradepipe_http_requests_total", "HTTP requests", ("method", "route", "status"))
        )
        add(
            Gauge(
                "tradepipe_venue_queue_depth",
                "Requests waiting in the venue's outbound queue",
                lambda: float(service.engine.venue.queue_depth),
            )
        )
        add(
            Gauge(
                "tradepipe_venue_queue_capacity",
                "Requests the venue's outbound queue holds before submits answer 429",
                lambda: float(service.engine.venue.queue_capacity),
            )
        )
        add(
            Gauge(
                "tradepipe_feed_lag_seconds",
                "Seconds since the last market data message",
                service.feed_lag_s,
            )
        )
        add(
            Gauge(
                "tradepipe_journal_committed_seq",
                "Sequence number of the last committed journal event",
                lambda: float(service.engine.journal.committed_seq),
            )
        )
        add(
            Gauge(
                "tradepipe_feed_malformed_rows",
                "Replay rows rejected as malformed",
                lambda: float(service.replay.stats.malformed if service.replay else 0),
            )
        )
        add(
            Gauge(
                "tradepipe_feature_age_seconds",
                "Age of the oldest symbol's online risk features (NaN: none read yet)",
                lambda: service.features.max_age_s() if service.features else math.nan,
            )
        )
        add(
            Gauge(
                "tradepipe_feature_refresh_failures",
                "Online feature reads that failed since start (limits stay static when stale)",
                lambda: float(service.features.stats.failures if service.features else 0),
            )
        )
        add(
            Gauge(
                "tradepipe_feature_scaled_symbols",
                "Symbols whose limits volatility scaling currently changes",
                lambda: float(len(service.engine.state.feature_scales)),
            )
        )
        add(
            Gauge(
                "tradepipe_venue_anomalies",
                "Venue reports dropped as inconsistent with the order lifecycle",
                lambda: float(service.engine.venue_anomalies),
            )
        )


class TradingService:
    def __init__(
        self,
        settings: ServiceSettings,
        clock: Clock | None = None,
        *,
        engine_config: EngineConfig | None = None,
        own_feed: bool = True,
    ) -> None:
        """`own_feed=False` (with `EngineConfig(auto_pump=False)` and a fake clock): the
        caller publishes market data and pumps the venue as its clock moves (tests)."""
        self.settings = settings
        self.clock = clock or SystemClock()
        self.engine_config = engine_config or EngineConfig(
            retain_terminal_s=settings.order_retention_s
        )
        self.own_feed = own_feed
        config = load_service_config(
            settings.instruments_path, settings.limits_path, settings.accounts_path
        )
        universe = config.universe
        self.instruments: dict[str, Instrument] = universe.by_symbol()
        self.precision = Precision(self.instruments)  # how responses round prices
        self.start_prices = {
            s: spec.reference_price
            for s, spec in universe.instruments.items()
            if spec.reference_price is not None
        }
        self.fees = universe.fees
        self.limits: RiskLimits = config.limits
        self.accounts = config.accounts
        self.tickers = TickerCache(self.instruments)
        self.metrics = ServiceMetrics(self)
        self.replay: ReplayFeed | None = None
        self.stopping = asyncio.Event()
        self._engine: TradingEngine | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self.hot_cache: HotCacheLink | None = None
        self.features: FeatureRefresher | None = None
        self.started_monotonic = time.monotonic()

    @property
    def engine(self) -> TradingEngine:
        if self._engine is None:
            raise RuntimeError("the service is not started")
        return self._engine

    async def start(self) -> None:
        settings = self.settings
        settings.journal_path.parent.mkdir(parents=True, exist_ok=True)
        journal = Journal.open(settings.journal_path, durability=settings.durability)
        if journal.recovery.quarantined:
            log.warning("journal tail recovered", extra={"detail": journal.recovery.detail})
        venue = SimulatedVenue(
            self.instruments,
            SimulatedVenueConfig(
                ack_latency_ns=settings.ack_latency_us * 1_000,
                queue_capacity=settings.venue_queue_capacity,
                fees=self.fees,
            ),
        )
        started = time.perf_counter()
        self._engine = await TradingEngine.open(
            journal, self.instruments, self.limits, venue, self.clock, self.engine_config
        )
        log.info(
            "engine started",
            extra={
                "replayed_to_seq": self._engine.state.last_seq,
                "replay_seconds": round(time.perf_counter() - started, 3),
                "open_orders": venue.open_order_count,
            },
        )
        # Everything replayed so far lives until shutdown: take it out of the cyclic
        # collector's scans so a full collection does not walk the whole order book.
        gc.freeze()
        if settings.hot_cache_url:
            self.hot_cache = HotCacheLink.start(
                settings.hot_cache_url,
                self._engine,
                self.tickers,
                self.metrics.registry,
                self.precision,
            )
        if settings.features_refresh_s > 0 and self.limits.volatility_scaling.enabled:
            location = FeastLocation(features_dir(settings.data_dir), settings.feast_online_url)
            self.features = FeatureRefresher(
                self._engine,
                FeastReader(location),
                sorted(self.instruments),
                self.clock,
                interval_s=settings.features_refresh_s,
            )
            self.features.start()
        if self.own_feed:
            self._feed_task = asyncio.create_task(self._run_feed(), name="feed")

    async def _run_feed(self) -> None:
        settings = self.settings
        if settings.feed == "synthetic":
            feed = SyntheticFeed(self.instruments, self.start_prices, seed=settings.feed_seed)
            await feed.run(self, self.clock, settings.feed_rate_per_s)
        else:
            self.replay = ReplayFeed(
                Path(settings.feed), self.instruments, speed=settings.replay_speed
            )
            await self.replay.run(self, self.clock)
            log.info(
                "replay finished",
                extra={
                    "rows": self.replay.stats.rows,
                    "malformed": self.replay.stats.malformed,
                    "examples": self.replay.stats.examples[:5],
                },
            )

    # --- FeedSink -------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        self.tickers.on_quote(quote)
        self.engine.on_quote(quote)

    def on_trade(self, trade: Trade) -> None:
        self.tickers.on_trade(trade)
        self.engine.on_trade(trade)

    # --- health -------------------------------------------------------------------

    def feed_lag_s(self) -> float:
        last = self.tickers.last_update_ns
        if last == 0:
            return float(time.monotonic() - self.started_monotonic)
        return max(0.0, (self.clock.now_ns() - last) / 1e9)

    def readiness(self) -> dict[str, bool]:
        engine = self._engine
        return {
            "journal_open": engine is not None and not engine.journal.closed,
            "engine_healthy": engine is not None and engine.healthy,
            "feed_live": self.feed_lag_s() <= self.settings.feed_stale_after_s,
            "accepting": not self.stopping.is_set(),
        }

    # --- shutdown -------------------------------------------------------------------

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Stop the feed, let the venue work off its queue, flush and close the journal."""
        self.stopping.set()
        if self._feed_task is not None:
            self._feed_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed_task
        if self.features is not None:
            await self.features.stop()
        engine = self._engine
        if engine is None:
            return
        deadline = time.monotonic() + drain_timeout_s
        while engine.venue.queue_depth and time.monotonic() < deadline:
            engine.pump()
            await asyncio.sleep(0.001)
        engine.pump()
        await engine.close()
        if self.hot_cache is not None:
            await self.hot_cache.stop()
        log.info(
            "engine stopped",
            extra={
                "committed_seq": engine.journal.committed_seq,
                "venue_queue": engine.venue.queue_depth,
            },
        )
