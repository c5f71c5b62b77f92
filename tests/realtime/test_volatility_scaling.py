"""Volatility scaling of the limits from online features: the pure rule, then a real
engine (fake clock, simulated venue, journal file) fed by the refresh timer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from realtime.domain import Side
from realtime.engine import rebuild_state
from realtime.events import FeatureLimitsChanged
from realtime.feature_schema import VOLATILITY_FEATURE
from realtime.journal import Journal
from realtime.limits import (
    MISSING,
    SCALED,
    STALE,
    STATIC,
    LimitsError,
    VolatilityScaling,
    parse_limits,
    volatility_scales,
)
from realtime.online_features import FeatureReading, FeatureRefresher, readings_from
from tests.realtime.harness import DEFAULT_LIMITS, INSTRUMENTS, T0, limit, market, open_engine

ON = VolatilityScaling(enabled=True, reference_vol=0.30, max_feature_age_s=600.0)
SECOND = 1_000_000_000


def scaling_limits(**scaling: object):  # type: ignore[no-untyped-def]
    return parse_limits(
        {
            "default": {**DEFAULT_LIMITS, "price_collar_pct": 5.0, "max_order_notional": 100_000.0},
            "volatility_scaling": {"enabled": True, **scaling},
        }
    )


# --- the rule ---------------------------------------------------------------------------


def test_scales_when_volatility_is_twice_the_reference_then_collar_doubles_notional_halves() -> (
    None
):
    assert volatility_scales(ON, 0.60, T0, T0 + SECOND) == (2.0, 0.5, SCALED)


def test_scales_when_volatility_is_extreme_then_held_at_ceiling_and_floor() -> None:
    assert volatility_scales(ON, 30.0, T0, T0) == (3.0, 0.25, SCALED)


def test_scales_when_volatility_is_low_then_static_limits_are_the_floor_and_ceiling() -> None:
    assert volatility_scales(ON, 0.05, T0, T0) == (1.0, 1.0, SCALED)


def test_scales_when_feature_is_stale_missing_or_scaling_off_then_static() -> None:
    assert volatility_scales(ON, 0.9, T0, T0 + 601 * SECOND) == (1.0, 1.0, STALE)
    assert volatility_scales(ON, None, None, T0) == (1.0, 1.0, MISSING)
    assert volatility_scales(ON, float("nan"), T0, T0) == (1.0, 1.0, MISSING)
    assert volatility_scales(VolatilityScaling(), 0.9, T0, T0) == (1.0, 1.0, STATIC)


def test_limits_when_floor_exceeds_ceiling_then_refused_naming_the_field() -> None:
    with pytest.raises(LimitsError) as caught:
        scaling_limits(collar_scale_floor=4.0, collar_scale_ceiling=3.0)

    assert "[volatility_scaling] collar_scale_floor" in str(caught.value)


def test_limits_file_when_loaded_then_scaling_is_on_with_its_documented_bounds() -> None:
    from realtime.layout import PROJECT_ROOT
    from realtime.limits import load_limits

    scaling = load_limits(PROJECT_ROOT / "config" / "limits.toml").volatility_scaling

    assert scaling.enabled
    assert (scaling.collar_scale_floor, scaling.collar_scale_ceiling) == (1.0, 3.0)
    assert (scaling.notional_scale_floor, scaling.notional_scale_ceiling) == (0.25, 1.0)


def test_readings_when_feast_answers_columns_then_one_reading_per_symbol() -> None:
    table = {
        "mid_price": [100.0, None],
        "realized_vol_5m": [0.2, None],
        VOLATILITY_FEATURE: [0.4, None],
        "last_spread_bps": [2.0, None],
        f"{VOLATILITY_FEATURE}__ts": [1_795_703_400, 0],
    }

    readings = readings_from(table, ["AAPL", "NEW"])

    assert readings["AAPL"].values[VOLATILITY_FEATURE] == 0.4
    assert readings["AAPL"].ts_ns == 1_795_703_400 * SECOND
    assert readings["NEW"].ts_ns is None


# --- the engine with the refresh timer -------------------------------------------------------


class TableReader:
    """The feature store's answer as a table the test sets (the Feast reader itself is
    tested against real stores in tests/assets/features)."""

    def __init__(self) -> None:
        self.rows: dict[str, FeatureReading] = {}
        self.fail = False
        self.reads = 0

    def read(self, symbols: Sequence[str]) -> dict[str, FeatureReading]:
        self.reads += 1
        if self.fail:
            raise ConnectionError("online store down")
        return {s: self.rows.get(s, FeatureReading({}, None)) for s in symbols}


def reading(volatility: float, ts_ns: int) -> FeatureReading:
    return FeatureReading({VOLATILITY_FEATURE: volatility}, ts_ns)


async def _inline(fn, *args):  # type: ignore[no-untyped-def]
    return fn(*args)


def test_engine_when_vol_high_then_collar_widens_notional_shrinks_and_reverts_when_stale(
    tmp_path: Path,
) -> None:
    async def session() -> None:
        async with open_engine(tmp_path / "journal.db", limits=scaling_limits()) as h:
            h.quote("AAPL", 99.99, 100.01)
            reader = TableReader()
            refresher = FeatureRefresher(
                h.engine, reader, ["AAPL", "MSFT"], h.clock, interval_s=30, run_blocking=_inline
            )
            outside_static = limit("wide", Side.BUY, 10, 92.00)  # 8% below: static collar 5%
            big = market("big", Side.BUY, 800)  # 80,000: within 100,000, over 50,000
            assert h.engine.check("alice", outside_static).reason.value == "PRICE_OUTSIDE_COLLAR"
            assert h.engine.check("alice", big) is None

            reader.rows["AAPL"] = reading(0.60, h.clock.now_ns())  # twice the reference
            assert await refresher.refresh_once() == 1  # AAPL changed; MSFT stays static

            assert h.engine.check("alice", outside_static) is None  # collar now 10%
            rejection = h.engine.check("alice", big)
            assert rejection is not None and rejection.reason.value == "MAX_ORDER_NOTIONAL"
            assert refresher.used_for("AAPL")["reason"] == SCALED
            assert refresher.used_for("AAPL")["values"][VOLATILITY_FEATURE] == 0.60

            reader.fail = True
            h.advance(601 * SECOND)
            assert await refresher.refresh_once() == 1  # stale: back to static
            assert refresher.stats.failures == 1
            assert h.engine.check("alice", big) is None
            assert h.engine.check("alice", outside_static).reason.value == "PRICE_OUTSIDE_COLLAR"
            assert refresher.used_for("AAPL")["reason"] == STALE
            assert await refresher.refresh_once() == 0  # nothing changed, nothing journaled
            await h.engine.journal.flush()

    asyncio.run(session())

    journal = Journal.open(tmp_path / "journal.db")
    try:
        changes = [
            e for _, _, e in journal.read(after_seq=0) if isinstance(e, FeatureLimitsChanged)
        ]
    finally:
        journal.close()
    assert [(e.scales["AAPL"].collar_scale, e.scales["AAPL"].reason) for e in changes] == [
        (2.0, SCALED),
        (1.0, STALE),
    ]
    assert all(set(e.scales) == {"AAPL"} for e in changes)


def test_engine_when_replayed_then_feature_limits_are_the_same_as_before(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    limits = scaling_limits()

    async def session() -> None:
        async with open_engine(path, limits=limits) as h:
            h.quote("AAPL", 99.99, 100.01)
            reader = TableReader()
            reader.rows["AAPL"] = reading(0.90, h.clock.now_ns())
            reader.rows["MSFT"] = reading(0.45, h.clock.now_ns())
            refresher = FeatureRefresher(
                h.engine, reader, ["AAPL", "MSFT"], h.clock, interval_s=30, run_blocking=_inline
            )
            await refresher.refresh_once()
            before.update(
                {s: h.engine.state.effective_limits("alice", s) for s in ("AAPL", "MSFT")}
            )

    before: dict[str, object] = {}
    asyncio.run(session())

    journal = Journal.open(path)
    try:
        state = rebuild_state(journal, INSTRUMENTS, limits)
    finally:
        journal.close()
    assert {s: state.effective_limits("alice", s) for s in ("AAPL", "MSFT")} == before
    assert before["AAPL"].price_collar_pct == 15.0  # type: ignore[attr-defined]
    # 0.45 / 0.30: notional x 1/1.5, in 5% steps: x 0.65
    assert before["MSFT"].max_order_notional == pytest.approx(65_000.0)  # type: ignore[attr-defined]
