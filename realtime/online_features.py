"""Online features into the hot path: risk_features_v1 for every symbol, on a timer.

One batched `get_online_features` for all symbols runs in a worker thread (never on
the event loop, never inside an order request); what it read is applied on the loop:
each symbol's volatility scales are computed (`realtime.limits.volatility_scales`) and
the engine journals the ones that changed (FeatureLimitsChanged). A failed read keeps
the last readings, which age: once older than the configured age they put the static
limits back, so a broken feature store degrades to the static limits, never to none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import msgspec

from realtime.clock import Clock
from realtime.events import FeatureScale
from realtime.feast_config import FeastLocation
from realtime.feature_schema import RISK_FEATURES, VOLATILITY_FEATURE, service_feature_names
from realtime.limits import STATIC, VolatilityScaling, volatility_scales

if TYPE_CHECKING:
    from realtime.engine import TradingEngine

log = logging.getLogger(__name__)

FEATURE_NAMES: Final = service_feature_names(RISK_FEATURES)
_TS_SUFFIX: Final = "__ts"  # feast.online_response.TIMESTAMP_POSTFIX


class FeatureReading(msgspec.Struct, frozen=True, gc=False):
    """One symbol's risk features as the online store returned them."""

    values: dict[str, float | None]
    ts_ns: int | None  # event time of the row (None: the store has no row)


class FeatureReader(Protocol):
    def read(self, symbols: Sequence[str]) -> dict[str, FeatureReading]: ...


class FeastReader:
    """Reads risk_features_v1 from the Feast online store (SQLite or Redis)."""

    def __init__(self, location: FeastLocation) -> None:
        self.location = location
        self._store: Any = None
        self._service: Any = None

    def read(self, symbols: Sequence[str]) -> dict[str, FeatureReading]:
        """Blocking: call it from a worker thread."""
        if self._store is None:
            # before the first features_job run there is nothing to read: say so without
            # paying Feast's import
            if not self.location.registry_path.exists():
                raise FileNotFoundError(
                    f"no feature registry at {self.location.registry_path} yet "
                    "(features_job has not run)"
                )
            self._store = self.location.store()
        try:
            if self._service is None:
                self._service = self._store.get_feature_service(RISK_FEATURES.name)
            response = self._store.get_online_features(
                features=self._service, entity_rows=[{"symbol": s} for s in symbols]
            )
        except Exception:
            self._service = None  # the registry may have changed: look it up again
            raise
        return readings_from(response.to_dict(include_event_timestamps=True), symbols)


def readings_from(
    table: Mapping[str, list[Any]], symbols: Sequence[str]
) -> dict[str, FeatureReading]:
    """Feast's columnar answer as one reading per symbol. A row's time is that of its
    volatility feature (all risk features come from one view, so one row)."""
    readings = {}
    stamps = table.get(VOLATILITY_FEATURE + _TS_SUFFIX) or [0] * len(symbols)
    for i, symbol in enumerate(symbols):
        values = {
            name: _number(table.get(name, [None] * len(symbols))[i]) for name in FEATURE_NAMES
        }
        stamp = stamps[i]
        has_row = any(v is not None for v in values.values()) and stamp
        readings[symbol] = FeatureReading(values, int(stamp) * 1_000_000_000 if has_row else None)
    return readings


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass
class FeatureStats:
    refreshes: int = 0
    failures: int = 0
    last_error: str | None = None
    last_read_ms: float = 0.0


class FeatureRefresher:
    """The refresh timer: read (in a thread), then apply (on the loop)."""

    def __init__(
        self,
        engine: TradingEngine,
        reader: FeatureReader,
        symbols: Sequence[str],
        clock: Clock,
        *,
        interval_s: float,
        run_blocking: Callable[..., Any] | None = None,
    ) -> None:
        self.engine = engine
        self.reader = reader
        self.symbols = list(symbols)
        self.clock = clock
        self.interval_s = interval_s
        self.latest: dict[str, FeatureReading] = {}
        self.stats = FeatureStats()
        self._run_blocking = run_blocking
        self._task: asyncio.Task[None] | None = None

    @property
    def scaling(self) -> VolatilityScaling:
        return self.engine.state.limits.volatility_scaling

    async def _read(self) -> dict[str, FeatureReading]:
        if self._run_blocking is not None:
            result: dict[str, FeatureReading] = await self._run_blocking(
                self.reader.read, self.symbols
            )
            return result
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.reader.read, self.symbols)

    async def refresh_once(self) -> int:
        """One read and apply; answers how many symbols' limits changed. A failed read is
        counted and logged, and the previous readings are applied at their age."""
        started = self.clock.now_ns()
        try:
            readings = await self._read()
        except Exception as exc:
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("online feature read failed: %s", self.stats.last_error)
        else:
            self.latest = readings
            self.stats.refreshes += 1
            self.stats.last_read_ms = (self.clock.now_ns() - started) / 1e6
        return await self.apply()

    async def apply(self) -> int:
        scaling = self.scaling
        now = self.clock.now_ns()
        scales = {symbol: self.scale_of(symbol, scaling, now) for symbol in self.symbols}
        return await self.engine.set_feature_scales(scales, source=RISK_FEATURES.name)

    def scale_of(self, symbol: str, scaling: VolatilityScaling, now_ns: int) -> FeatureScale:
        reading = self.latest.get(symbol)
        volatility = None if reading is None else reading.values.get(VOLATILITY_FEATURE)
        ts_ns = None if reading is None else reading.ts_ns
        collar, notional, reason = volatility_scales(scaling, volatility, ts_ns, now_ns)
        return FeatureScale(
            collar_scale=collar,
            notional_scale=notional,
            reason=reason,
            volatility=volatility,
            feature_ts_ns=ts_ns,
        )

    # --- the timer ----------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="online-features")

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh_once()
            except Exception:  # the engine refused (journal failed): keep the timer alive
                log.exception("applying online features failed")
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # --- what the API and the metrics show -------------------------------------------

    def age_s(self, symbol: str) -> float | None:
        reading = self.latest.get(symbol)
        if reading is None or reading.ts_ns is None:
            return None
        return max(0.0, (self.clock.now_ns() - reading.ts_ns) / 1e9)

    def max_age_s(self) -> float:
        """The oldest symbol's feature age (NaN before any reading): /metrics."""
        ages = [a for s in self.symbols if (a := self.age_s(s)) is not None]
        return max(ages) if ages else math.nan

    def used_for(self, symbol: str) -> dict[str, Any]:
        """What a risk check of `symbol` used: the feature values, their age, and the
        scales in force (static when none)."""
        reading = self.latest.get(symbol)
        scale = self.engine.state.feature_scales.get(symbol)
        scaling = self.scaling
        return {
            "service": RISK_FEATURES.name,
            "values": {} if reading is None else dict(reading.values),
            "age_s": self.age_s(symbol),
            "max_age_s": scaling.max_feature_age_s,
            "collar_scale": 1.0 if scale is None else scale.collar_scale,
            "notional_scale": 1.0 if scale is None else scale.notional_scale,
            "reason": (
                scale.reason
                if scale is not None
                else STATIC
                if not scaling.enabled
                else self.scale_of(symbol, scaling, self.clock.now_ns()).reason
            ),
        }
