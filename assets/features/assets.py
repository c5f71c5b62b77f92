"""The `features` group: sources from the warehouse, the Feast registry, the online store
and the point-in-time frame of order features.

    symbol_market / symbol_alt / account_activity   parquet feature sources (hourly files)
      -> feast_registry   `feast apply`, only when feature_repo/ changed
      -> online_features  materialise every view's new rows into the online store
      -> order_features   get_historical_features at the orders' submit times

The sources read the warehouse, so they are in the warehouse pool: one at a time with
the shipping runs, which write the same DuckDB file.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from assets.catalogue import WAREHOUSE_POOL
from assets.features import sources
from assets.features.checks import source_checks
from assets.features.registry import apply_if_changed
from assets.features.store import FeatureStoreResource
from assets.metadata import markdown_preview
from assets.resources import Warehouse
from assets.warehouse.tables import ORDERS
from realtime.feature_schema import CREATED_TS, DATA_TS, EVENT_TS, EXECUTION_FEATURES, VIEWS

GROUP = "features"


class SourceConfig(dg.Config):
    full_refresh: bool = False  # recompute every hour from the oldest input


def _source_asset(spec: sources.SourceSpec) -> dg.AssetsDefinition:
    view = spec.view

    @dg.asset(
        name=view.folder,
        group_name=GROUP,
        pool=WAREHOUSE_POOL,
        deps=[table.name for table in spec.tables],
        description=(
            f"Feature rows of {view.name} ({view.description}) as hourly parquet files "
            "under $DATA/features/sources. Incremental: each run recomputes from the "
            "newest hour written to the newest complete minute, replacing those hours' files."
        ),
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(view.entity, "string"),
                    dg.TableColumn(EVENT_TS, "timestamp", "minute end the values hold at"),
                    *(dg.TableColumn(f.name, f.dtype, f.description) for f in view.features),
                    dg.TableColumn(DATA_TS, "timestamp", "newest input used (<= event time)"),
                    dg.TableColumn(CREATED_TS, "timestamp", "when the row was computed"),
                ]
            )
        },
        kinds={"parquet", "duckdb"},
    )
    def source(
        context: dg.AssetExecutionContext,
        config: SourceConfig,
        warehouse: Warehouse,
        feature_store: FeatureStoreResource,
    ) -> dg.MaterializeResult:
        report = sources.refresh(
            spec,
            warehouse,
            feature_store.source_folder(view),
            computed_at=pd.Timestamp.now(tz="UTC"),
            full=config.full_refresh,
        )
        context.log.info(f"{view.name}: {report.rows} rows in hours {report.hours}")
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(report.rows),
                "hours_written": dg.MetadataValue.text(", ".join(report.hours) or "none"),
                "window": dg.MetadataValue.text(f"({report.start}, {report.end}]"),
                "preview": markdown_preview(report.preview),
                "folder": dg.MetadataValue.path(str(feature_store.source_folder(view))),
            }
        )

    return source


SOURCE_ASSETS = [_source_asset(spec) for spec in sources.SOURCES]


@dg.asset(
    group_name=GROUP,
    deps=[asset.key for asset in SOURCE_ASSETS],
    description=(
        "The Feast registry: feature_repo/ applied (`feast apply`), only when a hash of its "
        "definitions (and of where the store lives) changed."
    ),
    kinds={"feast"},
)
def feast_registry(
    context: dg.AssetExecutionContext, feature_store: FeatureStoreResource
) -> dg.MaterializeResult:
    result = apply_if_changed(feature_store.location)
    context.log.info("applied" if result.applied else "definitions unchanged; not applied")
    return dg.MaterializeResult(
        metadata={
            "applied": dg.MetadataValue.bool(result.applied),
            "fingerprint": dg.MetadataValue.text(result.fingerprint),
            "feature_views": dg.MetadataValue.text(", ".join(result.feature_views)),
            "feature_services": dg.MetadataValue.text(", ".join(result.feature_services)),
            "entities": dg.MetadataValue.text(", ".join(result.entities)),
            "online_store": dg.MetadataValue.text(feature_store.location.online_kind),
        }
    )


@dg.asset(
    group_name=GROUP,
    deps=[feast_registry],
    description=(
        "Every feature view's newest values in the online store (SQLite, or Redis with "
        "TRADEPIPE_FEAST_ONLINE), materialised incrementally up to each source's newest row."
    ),
    kinds={"feast"},
)
def online_features(
    context: dg.AssetExecutionContext, feature_store: FeatureStoreResource
) -> dg.MaterializeResult:
    store = feature_store.store()
    rows: list[dict[str, Any]] = []
    for view in VIEWS:
        frame = sources.read_rows(feature_store.source_folder(view))
        if frame.empty:
            rows.append({"view": view.name, "rows": 0, "entities": 0, "window": "no rows yet"})
            continue
        end = pd.Timestamp(frame[EVENT_TS].max()).to_pydatetime()
        fv = store.get_feature_view(view.name)
        previous = fv.most_recent_end_time
        if previous is None:
            # the first time: from the oldest row (materialize_incremental would start at
            # wall-clock now minus the TTL)
            start = pd.Timestamp(frame[EVENT_TS].min()).to_pydatetime()
            store.materialize(start_date=start, end_date=end, feature_views=[view.name])
        elif end > previous:
            start = previous
            store.materialize_incremental(end_date=end, feature_views=[view.name])
        else:
            start = end
        new = frame[(frame[EVENT_TS] > pd.Timestamp(start)) & (frame[EVENT_TS] <= end)]
        if previous is None:
            new = frame[frame[EVENT_TS] <= end]
        rows.append(
            {
                "view": view.name,
                "rows": len(new),
                "entities": int(new[view.entity].nunique()),
                "window": f"({start}, {end}]" if start != end else "up to date",
            }
        )
    table = pd.DataFrame(rows)
    return dg.MaterializeResult(
        metadata={
            "views": dg.MetadataValue.md(table.to_markdown(index=False)),
            "rows_written": dg.MetadataValue.int(int(table["rows"].sum())),
            "online_store": dg.MetadataValue.text(feature_store.location.online_kind),
        }
    )


class OrderFeaturesConfig(dg.Config):
    lookback_days: float = 7.0  # orders submitted this long before the newest one


@dg.asset(
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    deps=[feast_registry, ORDERS.name],
    description=(
        f"A point-in-time training frame: {EXECUTION_FEATURES.name} as of each order's "
        "submit time (Feast get_historical_features with the orders as the entity frame): "
        "the input of a slippage or fill-probability model."
    ),
    kinds={"feast", "parquet"},
)
def order_features(
    context: dg.AssetExecutionContext,
    config: OrderFeaturesConfig,
    warehouse: Warehouse,
    feature_store: FeatureStoreResource,
) -> dg.MaterializeResult:
    warehouse.ensure_schema([ORDERS])
    submitted = warehouse.query(
        f"SELECT order_id, account, symbol, ts FROM {ORDERS.name} "
        "WHERE event_type IN ('OrderAccepted', 'OrderRejected')"
    )
    if len(submitted):
        newest = pd.Timestamp(submitted["ts"].max())
        submitted = submitted[submitted["ts"] >= newest - pd.Timedelta(days=config.lookback_days)]
    entity = pd.DataFrame(
        {
            "order_id": submitted["order_id"].astype(str),
            "account": submitted["account"].astype(str),
            "symbol": submitted["symbol"].astype(str),
            EVENT_TS: pd.to_datetime(submitted["ts"])
            .dt.tz_localize("UTC")
            .astype("datetime64[us, UTC]"),
        }
    )
    frame = training_frame(feature_store, entity)
    target = feature_store.training_dir / "order_features.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    frame.to_parquet(temporary, index=False)
    temporary.replace(target)
    features = [c for c in frame.columns if c not in entity.columns]
    nulls = frame[features].isna().mean() if len(frame) else pd.Series(1.0, index=features)
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(len(frame)),
            "null_share": dg.MetadataValue.md(
                nulls.rename("null share").to_frame().to_markdown(floatfmt=".3f")
            ),
            "path": dg.MetadataValue.path(str(target)),
            "preview": markdown_preview(frame),
        }
    )


def training_frame(feature_store: FeatureStoreResource, entity: pd.DataFrame) -> pd.DataFrame:
    """execution_features_v1 as of each entity row's event_timestamp (Feast's
    point-in-time join: the newest row at or before it, within the view's TTL)."""
    store = feature_store.store()
    if entity.empty:
        names = [f.name for view, _ in EXECUTION_FEATURES.features for f in view.features]
        return entity.assign(**{name: pd.Series(dtype="float64") for name in names})
    empty = [v for v, _ in EXECUTION_FEATURES.features if not feature_store.has_rows(v)]
    if empty:
        # a view with no source file yet cannot be read; its features are null
        refs = [
            f"{view.name}:{f.name}"
            for view, _ in EXECUTION_FEATURES.features
            if view not in empty
            for f in view.features
        ]
        features: Any = refs
    else:
        features = store.get_feature_service(EXECUTION_FEATURES.name)
    frame = (
        store.get_historical_features(entity_df=entity, features=features).to_df()
        if features
        else entity.copy()
    )
    for view in empty:
        for f in view.features:
            frame[f.name] = pd.Series(dtype="float64", index=frame.index)
    return frame.sort_values([EVENT_TS, "order_id"]).reset_index(drop=True)


def features_checks() -> Iterator[dg.AssetChecksDefinition]:
    for spec, asset in zip(sources.SOURCES, SOURCE_ASSETS, strict=True):
        yield from source_checks(spec, asset.key)


FEATURE_ASSETS = [*SOURCE_ASSETS, feast_registry, online_features, order_features]
FEATURE_CHECKS = list(features_checks())
