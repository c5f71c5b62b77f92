"""The `execution_quality` group: TCA of each trading day, as partitioned assets.

    orders, fills, quotes, trades (warehouse)
        -> tca_orders + tca_fills   the library over the day's orders (one op: they
                                    share every as-of lookup)
        -> tca_daily                summaries by symbol, account, side, order type
        -> tca_report               HTML page + PNG charts in the report folder

A partition is a UTC calendar day: the orders submitted in it, their events up
to the day's end (the cutoff: still-working orders are marked there), quotes
up to the longest markout horizon past it. Every asset reads and writes the
warehouse through its resource's verbs, in pool `duckdb_warehouse`, and
writes idempotently (see `assets.execution_quality.tables`).
"""

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from assets.catalogue import WAREHOUSE_POOL
from assets.execution_quality import charts
from assets.execution_quality.inputs import load_window
from assets.execution_quality.report import headline, render_html
from assets.execution_quality.report_folder import ReportFolder
from assets.execution_quality.summary import daily_summary, outlier_orders
from assets.execution_quality.tables import HORIZONS_S, TCA_DAILY, TCA_FILLS, TCA_ORDERS
from assets.execution_quality.tca import compute_tca
from assets.instruments import Multipliers
from assets.metadata import markdown_preview, table_definition_metadata
from assets.resources import TableSpec, Warehouse, sql_string
from assets.timestamps import naive_utc
from assets.warehouse.tables import FILLS, ORDERS, QUOTES, TRADES

GROUP: Final = "execution_quality"
# Serialises every writer of the embedded DuckDB file (one process at a time).
PARTITIONS: Final = dg.DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC")
OUTLIER_METRICS: Final = ("arrival_slippage_bps", "is_bps", "vwap_slippage_bps")
_PREVIEW_ORDER_COLUMNS: Final = [
    "order_id",
    "symbol",
    "side",
    "end_status",
    "fill_rate",
    "arrival_slippage_bps",
    "is_bps",
    "flags",
]


@dataclass(frozen=True)
class TradingDay:
    start: pd.Timestamp  # naive UTC midnight
    end: pd.Timestamp

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m-%d")

    @property
    def literal(self) -> str:
        return sql_string(self.start.isoformat())


def trading_day(context: AssetExecutionContext) -> TradingDay:
    window = context.partition_time_window
    return TradingDay(naive_utc(window.start), naive_utc(window.end))


def read_day(warehouse: Warehouse, table: TableSpec, day: TradingDay) -> pd.DataFrame:
    """The table's rows of one trading day."""
    warehouse.ensure_schema([table])
    return warehouse.query(
        f"SELECT * FROM {table.name} WHERE trading_day = {day.literal}"
        f" ORDER BY {table.timestamp}, {', '.join(table.keys)}"
    )


def build_execution_quality_assets(
    multipliers: Multipliers,
) -> list[dg.AssetsDefinition]:
    """The group's assets; `multipliers`: symbol -> contract multiplier
    (`assets.instruments.load_multipliers` of the instruments config; absent: 1x),
    so every currency figure, weight and notional is P * qty * k.
    """

    @dg.multi_asset(
        name="tca_orders_and_fills",
        partitions_def=PARTITIONS,
        pool=WAREHOUSE_POOL,
        specs=[
            dg.AssetSpec(
                TCA_ORDERS.name,
                group_name=GROUP,
                deps=[ORDERS.name, FILLS.name, QUOTES.name, TRADES.name],
                description=(
                    f"{TCA_ORDERS.description} Arrival and VWAP/TWAP slippage, implementation "
                    "shortfall and its decomposition, fill and participation rates; the "
                    "conventions are in assets.execution_quality.tca."
                ),
                metadata=table_definition_metadata(TCA_ORDERS),
            ),
            dg.AssetSpec(
                TCA_FILLS.name,
                group_name=GROUP,
                deps=[ORDERS.name, FILLS.name, QUOTES.name],
                description=(
                    f"{TCA_FILLS.description} Horizons: {', '.join(f'{h} s' for h in HORIZONS_S)}."
                ),
                metadata=table_definition_metadata(TCA_FILLS),
            ),
        ],
    )
    def tca_orders_and_fills(
        context: AssetExecutionContext, warehouse: Warehouse
    ) -> Iterator[dg.MaterializeResult]:
        day = trading_day(context)
        inputs = load_window(
            warehouse, day.start, day.end, lookahead=pd.Timedelta(seconds=max(HORIZONS_S))
        )
        result = compute_tca(
            inputs.orders,
            inputs.fills,
            inputs.quotes,
            inputs.trades,
            horizons_s=HORIZONS_S,
            cutoff=inputs.cutoff,
            multipliers=multipliers,
        )
        orders = result.orders.assign(trading_day=day.start)
        fills = result.fills.assign(trading_day=day.start)
        # Replaces the day's rows, including those a re-run no longer produces.
        warehouse.replace_partition([(TCA_ORDERS, orders), (TCA_FILLS, fills)], day.start, day.end)
        context.log.info(
            f"{day.key}: {len(orders)} orders, {len(fills)} fills from {len(inputs.quotes)} quotes "
            f"and {len(inputs.trades)} trades"
        )
        flags = _flag_counts(orders["flags"])
        common = {
            "trading_day": dg.MetadataValue.text(day.key),
            "warehouse": dg.MetadataValue.text(warehouse.location),
        }
        yield dg.MaterializeResult(
            asset_key=TCA_ORDERS.name,
            metadata={
                **common,
                "dagster/row_count": dg.MetadataValue.int(len(orders)),
                "orders_with_fills": dg.MetadataValue.int(
                    int((orders["filled_quantity"] > 0).sum())
                ),
                "quotes_read": dg.MetadataValue.int(len(inputs.quotes)),
                "quotes_skipped": dg.MetadataValue.int(result.quotes_skipped),
                "trades_read": dg.MetadataValue.int(len(inputs.trades)),
                "flags": markdown_preview(flags, rows=20),
                "preview": markdown_preview(orders[_PREVIEW_ORDER_COLUMNS]),
            },
        )
        yield dg.MaterializeResult(
            asset_key=TCA_FILLS.name,
            metadata={
                **common,
                "dagster/row_count": dg.MetadataValue.int(len(fills)),
                "preview": markdown_preview(
                    fills[["fill_id", "symbol", "side", "price", "effective_spread_bps"]]
                ),
            },
        )

    @dg.asset(
        name=TCA_DAILY.name,
        group_name=GROUP,
        partitions_def=PARTITIONS,
        pool=WAREHOUSE_POOL,
        deps=[TCA_ORDERS.name, TCA_FILLS.name],
        description=(
            f"{TCA_DAILY.description} Weights and the outlier rule are in "
            "assets.execution_quality.summary."
        ),
        metadata=table_definition_metadata(TCA_DAILY),
    )
    def tca_daily(context: AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        day = trading_day(context)
        orders = read_day(warehouse, TCA_ORDERS, day)
        fills = read_day(warehouse, TCA_FILLS, day)
        summary = daily_summary(orders, fills, HORIZONS_S, multipliers).assign(
            trading_day=day.start
        )
        warehouse.replace_partition([(TCA_DAILY, summary)], day.start, day.end)
        outliers = outlier_orders(orders, OUTLIER_METRICS)
        whole = summary[summary["group_by"] == "all"]
        return dg.MaterializeResult(
            metadata={
                "trading_day": dg.MetadataValue.text(day.key),
                "dagster/row_count": dg.MetadataValue.int(len(summary)),
                "outlier_orders": dg.MetadataValue.int(int(outliers["order_id"].nunique())),
                "whole_day": markdown_preview(
                    whole[["metric", "n", "vw_mean", "median", "p05", "p95", "outliers"]], rows=40
                ),
                "outliers": markdown_preview(outliers, rows=10),
            }
        )

    @dg.asset(
        name="tca_report",
        group_name=GROUP,
        partitions_def=PARTITIONS,
        pool=WAREHOUSE_POOL,
        deps=[TCA_DAILY.name, TCA_ORDERS.name, TCA_FILLS.name],
        description=(
            "The day's execution-quality report: an HTML page (no network requests) with the "
            "headline figures, PNG charts (slippage distribution, markout curves by side, IS "
            "decomposition by symbol, fill rate by order type), breakdowns and outliers."
        ),
    )
    def tca_report(
        context: AssetExecutionContext, warehouse: Warehouse, tca_reports: ReportFolder
    ) -> dg.MaterializeResult:
        day = trading_day(context)
        orders = read_day(warehouse, TCA_ORDERS, day)
        fills = read_day(warehouse, TCA_FILLS, day)
        summary = read_day(warehouse, TCA_DAILY, day)
        outliers = outlier_orders(orders, OUTLIER_METRICS)
        figures = headline(orders, fills, summary, outliers, HORIZONS_S, multipliers)
        images = {
            "slippage_distribution": charts.slippage_distribution(orders),
            "markout_curves": charts.markout_curves(fills, HORIZONS_S, multipliers),
            "is_decomposition": charts.is_decomposition(orders, multipliers),
            "fill_rate_by_order_type": charts.fill_rate_by_order_type(orders, multipliers),
        }
        for name, png in images.items():
            tca_reports.write(f"{day.key}/{name}.png", png)
        page = render_html(
            day.key, figures, orders, summary, outliers, images, HORIZONS_S, multipliers
        )
        path = tca_reports.write(f"{day.key}/index.html", page.encode("utf-8"))
        chart = base64.b64encode(images["is_decomposition"]).decode("ascii")
        return dg.MaterializeResult(
            metadata={
                "trading_day": dg.MetadataValue.text(day.key),
                "report_path": dg.MetadataValue.path(str(path)),
                **{name: _figure_metadata(value) for name, value in figures.items()},
                "chart": dg.MetadataValue.md(f"![IS decomposition](data:image/png;base64,{chart})"),
            }
        )

    return [tca_orders_and_fills, tca_daily, tca_report]


def _figure_metadata(value: float | int) -> dg.MetadataValue:
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    # NaN (no value that day) is not valid JSON metadata; show it as missing.
    return dg.MetadataValue.float(round(value, 6)) if value == value else dg.MetadataValue.null()


def _flag_counts(flags: pd.Series) -> pd.DataFrame:
    codes = flags.fillna("").str.split(",").explode()
    counts = codes[codes != ""].value_counts()
    return counts.rename_axis("flag").reset_index(name="orders")
