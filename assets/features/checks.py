"""Checks of each feature source, next to it: freshness, value ranges and the
point-in-time rule (no row stamped before the data it was computed from).

Freshness is measured against the source's own inputs (the newest warehouse row), not
the wall clock: a quiet market is not a stale pipeline, a pipeline that fell behind is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import dagster as dg
import pandas as pd

from assets.catalogue import WAREHOUSE_POOL
from assets.features import sources
from assets.features.store import FeatureStoreResource
from assets.resources import Warehouse
from realtime.feature_schema import DATA_TS, EVENT_TS

# a source may trail its newest input by the minute still being filled plus one run
MAX_LAG: Final = pd.Timedelta(minutes=10)

# (low, high) of each bounded feature; None: unbounded on that side
RANGES: Final = {
    "realized_vol_5m": (0.0, None),
    "realized_vol_30m": (0.0, None),
    "avg_spread_bps_1m": (0.0, None),
    "last_spread_bps": (0.0, None),
    "mid_price": (0.0, None),
    "trade_count_1m": (0, None),
    "trade_volume_1m": (0, None),
    "trade_count_5m": (0, None),
    "trade_volume_5m": (0, None),
    "book_imbalance": (-1.0, 1.0),
    "news_sentiment_age_s": (0.0, None),
    "orders_today": (0, None),
    "fill_rate": (0.0, 1.0),
    "order_to_trade_ratio": (0.0, None),
    "rejection_rate": (0.0, 1.0),
}


def out_of_range(rows: pd.DataFrame) -> dict[str, int]:
    counts = {}
    for name, (low, high) in RANGES.items():
        if name not in rows:
            continue
        values = pd.to_numeric(rows[name], errors="coerce")
        bad = (values < low) if low is not None else pd.Series(False, index=values.index)
        if high is not None:
            bad |= values > high
        if int(bad.sum()):
            counts[name] = int(bad.sum())
    return counts


def source_checks(spec: sources.SourceSpec, key: dg.AssetKey) -> Iterator[dg.AssetChecksDefinition]:
    view = spec.view
    name = view.folder

    @dg.asset_check(
        asset=key,
        name=f"{name}_freshness",
        pool=WAREHOUSE_POOL,
        description=f"The newest row trails the newest {spec.tables[0].name} row by <= {MAX_LAG}.",
    )
    def freshness(warehouse: Warehouse, feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        rows = sources.read_rows(feature_store.source_folder(view))
        bounds = sources.input_bounds(warehouse, spec)
        if bounds is None:
            return dg.AssetCheckResult(passed=True, metadata={"inputs": "none yet"})
        newest_input = bounds[1]
        if rows.empty:
            return dg.AssetCheckResult(
                passed=False, metadata={"newest_input": str(newest_input), "rows": 0}
            )
        newest = pd.Timestamp(rows[EVENT_TS].max()).tz_convert("UTC").tz_localize(None)
        lag = newest_input - newest
        return dg.AssetCheckResult(
            passed=bool(lag <= MAX_LAG),
            metadata={
                "newest_row": str(newest),
                "newest_input": str(newest_input),
                "lag_s": float(lag.total_seconds()),
            },
        )

    @dg.asset_check(
        asset=key,
        name=f"{name}_ranges",
        description="Volatility, spreads, counts >= 0; imbalance in [-1, 1]; rates in [0, 1].",
    )
    def ranges(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        rows = sources.read_rows(feature_store.source_folder(view))
        bad = out_of_range(rows)
        return dg.AssetCheckResult(
            passed=not bad,
            metadata={"rows": len(rows), "out_of_range": dg.MetadataValue.json(bad)},
        )

    @dg.asset_check(
        asset=key,
        name=f"{name}_point_in_time",
        description=(
            "No row is stamped earlier than the newest input it was computed from "
            f"({DATA_TS} <= {EVENT_TS}): a model trained on these rows sees no future."
        ),
    )
    def point_in_time(feature_store: FeatureStoreResource) -> dg.AssetCheckResult:
        rows = sources.read_rows(feature_store.source_folder(view))
        early = rows[rows[DATA_TS] > rows[EVENT_TS]] if len(rows) else rows
        return dg.AssetCheckResult(
            passed=early.empty,
            metadata={"rows": len(rows), "stamped_before_their_data": len(early)},
        )

    yield freshness
    yield ranges
    yield point_in_time
