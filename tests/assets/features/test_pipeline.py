"""The features group on a journal the real engine wrote: real DuckDB warehouse, real
`feast apply`, parquet sources, materialisation into SQLite and Feast reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from assets.features import sources
from assets.features.assets import FEATURE_ASSETS, FEATURE_CHECKS, training_frame
from assets.features.store import FeatureStoreResource
from assets.resources import DuckDBWarehouse
from orchestration.definitions import build_definitions
from orchestration.settings import Settings
from realtime.feature_schema import EVENT_TS, RISK_FEATURES, SYMBOL_MARKET, service_feature_names
from realtime.online_features import FeastReader
from tests.assets.features.journal import SPIKE_AT_NS, SYMBOLS

REDIS_DB = 11  # this test's own database on the shared server

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


def test_feast_reader_when_store_is_materialised_then_one_batched_read_gives_every_symbol(
    shipped: DuckDBWarehouse, feature_store: FeatureStoreResource
) -> None:
    materialise(shipped, feature_store)
    rows = sources.read_rows(feature_store.source_folder(SYMBOL_MARKET))
    latest = rows.sort_values(EVENT_TS).groupby("symbol").tail(1).set_index("symbol")

    readings = FeastReader(feature_store.location).read([*SYMBOLS, "NOPE"])

    for symbol in SYMBOLS:
        assert readings[symbol].values["realized_vol_30m"] == pytest.approx(
            latest.loc[symbol, "realized_vol_30m"]
        )
        assert readings[symbol].ts_ns == latest.loc[symbol, EVENT_TS].value
    assert readings["NOPE"].ts_ns is None


def test_features_job_when_run_from_the_definitions_then_it_succeeds_with_its_checks(
    features_warehouse_template: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(features_warehouse_template, data / "warehouse.duckdb")
    defs = build_definitions(Settings.for_data_dir(data))

    result = defs.resolve_job_def("features_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )

    assert result.success
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"symbol_market", "feast_registry", "online_features", "order_features"} <= materialised
    frame = pd.read_parquet(data / "features" / "training" / "order_features.parquet")
    assert len(frame) > 0 and frame["realized_vol_5m"].notna().any()


@pytest.mark.redis
def test_redis_online_store_when_materialised_then_reads_equal_the_sources(
    shipped: DuckDBWarehouse, tmp_path: Path
) -> None:
    store = FeatureStoreResource(
        features_dir=str(tmp_path / "features"), online_url=f"redis://127.0.0.1:6379/{REDIS_DB}"
    )
    materialise(shipped, store)
    try:
        rows = sources.read_rows(store.source_folder(SYMBOL_MARKET))
        latest = rows.sort_values(EVENT_TS).groupby("symbol").tail(1).set_index("symbol")

        readings = FeastReader(store.location).read(list(SYMBOLS))

        assert store.location.online_kind == "redis"
        for symbol in SYMBOLS:
            assert readings[symbol].values["realized_vol_30m"] == pytest.approx(
                latest.loc[symbol, "realized_vol_30m"]
            )
    finally:
        store.store().teardown()  # the test's keys out of the shared server
