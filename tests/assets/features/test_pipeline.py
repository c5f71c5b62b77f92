"""The features group on a journal the real engine wrote: real DuckDB warehouse, real
`feast apply`, parquet sources, materialisation into SQLite and Feast reads."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from assets.features import sources
from assets.features.assets import FEATURE_ASSETS, FEATURE_CHECKS, training_frame
from assets.features.store import FeatureStoreResource
from orchestration.resources import DuckDBWarehouse
from realtime.feature_schema import EVENT_TS, RISK_FEATURES, SYMBOL_MARKET, service_feature_names
from tests.assets.features.journal import SPIKE_AT_NS, SYMBOLS

pytestmark = pytest.mark.slow


def materialise(
    warehouse: DuckDBWarehouse, store: FeatureStoreResource, **kwargs: object
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*FEATURE_ASSETS, *FEATURE_CHECKS],
        resources={"warehouse": warehouse, "feature_store": store},
        **kwargs,  # type: ignore[arg-type]
    )


def test_features_when_materialised_then_online_values_equal_the_sources_latest_rows(
    shipped: DuckDBWarehouse, feature_store: FeatureStoreResource
) -> None:
    result = materialise(shipped, feature_store)

    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks
    rows = sources.read_rows(feature_store.source_folder(SYMBOL_MARKET))
    latest = rows.sort_values(EVENT_TS).groupby("symbol").tail(1).set_index("symbol")
    store = feature_store.store()
    online = store.get_online_features(
        features=store.get_feature_service(RISK_FEATURES.name),
        entity_rows=[{"symbol": s} for s in SYMBOLS],
    ).to_dict()
    for i, symbol in enumerate(SYMBOLS):
        for name in service_feature_names(RISK_FEATURES):
            assert online[name][i] == pytest.approx(latest.loc[symbol, name]), name
    assert latest["realized_vol_30m"].notna().all()


def test_features_when_rerun_then_hours_are_replaced_without_duplicates_and_not_reapplied(
    shipped: DuckDBWarehouse, feature_store: FeatureStoreResource
) -> None:
    materialise(shipped, feature_store)
    folder = feature_store.source_folder(SYMBOL_MARKET)
    first = sources.read_rows(folder)

    again = materialise(shipped, feature_store)

    second = sources.read_rows(folder)
    assert len(second) == len(first)
    assert not second.duplicated(["symbol", EVENT_TS]).any()
    registry = again.asset_materializations_for_node("feast_registry")[0]
    assert registry.metadata["applied"].value is False


def test_historical_when_spike_comes_later_then_the_frame_before_it_shows_calm_volatility(
    shipped: DuckDBWarehouse, feature_store: FeatureStoreResource
) -> None:
    materialise(shipped, feature_store)
    spike = pd.Timestamp(SPIKE_AT_NS, unit="ns", tz="UTC")
    just_before = spike - pd.Timedelta(seconds=1)
    just_after_spike = spike + pd.Timedelta(minutes=5)
    entity = pd.DataFrame(
        {
            "order_id": ["before", "after"],
            "account": ["alice", "alice"],
            "symbol": ["AAPL", "AAPL"],
            EVENT_TS: [just_before, just_after_spike],
        }
    )

    frame = training_frame(feature_store, entity).set_index("order_id")

    rows = sources.read_rows(feature_store.source_folder(SYMBOL_MARKET))
    aapl = rows[rows["symbol"] == "AAPL"]
    as_of = aapl[aapl[EVENT_TS] <= just_before].iloc[-1]
    # the value is the newest row at or before the time, computed from data before it
    assert frame.loc["before", "realized_vol_5m"] == pytest.approx(as_of["realized_vol_5m"])
    assert as_of["data_ts"] <= just_before
    assert frame.loc["before", "realized_vol_5m"] < 0.5 * frame.loc["after", "realized_vol_5m"]
