"""The `reports` group: P&L, tax lots, exposure and compliance of each trading day.

    fills, quotes, orders (warehouse)
        -> daily_pnl                 average-cost book per account and symbol
           -> pnl_weekly|monthly     the coarser roll-up (config `rollup`)
           -> tax_lots + open_tax_lots + wash_sales (one op: one lot engine run)
        -> exposure                  end-of-day exposure, intraday equity curve
        -> compliance_findings       the rules of assets.reports.compliance

Every asset also renders its HTML page (assets.reports.pages) into the report
folder, `<asset>/<day>.html`, with its headline figures and a chart in its
metadata.

A partition is a calendar day in the configured time zone (config/reports.toml,
UTC by default). The books are run over every fill up to the day's end, so a
day's numbers do not depend on which other days were materialised. Every asset
reads and writes the warehouse through its resource's verbs, in pool
`duckdb_warehouse`, and a re-run of a day replaces that day's rows only.

The definitions are built from the configuration when the code location loads
(`build_report_definitions`), since the partitions depend on its time zone, with
the contract multipliers of the instruments config (`assets.instruments`: money is
quantity x price x multiplier in every report, 1x for a symbol it does not know).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import dagster as dg
import numpy as np
import pandas as pd
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from assets.catalogue import WAREHOUSE_POOL
from assets.execution_quality.report_folder import ReportFolder
from assets.instruments import NO_MULTIPLIERS, Multipliers
from assets.metadata import markdown_preview, table_definition_metadata
from assets.reports import charts
from assets.reports.compliance import findings as compliance_findings_of
from assets.reports.config import ReportsConfig
from assets.reports.days import (
    ReportDay,
    daily_partitions,
    day_of,
    rollup_partitions,
    run_day,
)
from assets.reports.exposure import TOTAL, exposure_and_curves
from assets.reports.inputs import (
    fills_before,
    fills_since,
    last_mids,
    order_events_between,
    quotes_between,
)
from assets.reports.pages import ReportPage, publish
from assets.reports.pnl import daily_pnl as compute_daily_pnl
from assets.reports.pnl import marks_at
from assets.reports.relief import relief_reconciliation, relief_violations
from assets.reports.replay import (
    reconciliation_differences,
    replayed_positions,
    service_differences,
)
from assets.reports.tables import (
    COMPLIANCE_FINDINGS,
    DAILY_PNL,
    EXPOSURE,
    OPEN_TAX_LOTS,
    TAX_LOTS,
    WASH_SALES,
    rollup_table,
)
from assets.reports.tax_lots import lots_of_day
from assets.resources import JournalSource, ServiceBook, TableSpec, Warehouse
from assets.timestamps import naive_utc, timestamp_literal
from assets.warehouse.tables import FILLS, ORDERS, QUOTES

GROUP: Final = "reports"


@dataclass(frozen=True)
class ReportDefinitions:
    assets: list[Any]
    checks: list[Any]
    daily_asset_names: list[str]  # the daily-partitioned assets (reports_job)
    rollup_asset_names: list[str]  # the roll-up (its own partitions, its own job)


def read_day(warehouse: Warehouse, table: TableSpec, day: ReportDay) -> pd.DataFrame:
    """The table's rows of one trading day (or period)."""
    warehouse.ensure_schema([table])
    return warehouse.query(
        f"SELECT * FROM {table.name} WHERE {table.timestamp} >= {timestamp_literal(day.start)} "
        f"AND {table.timestamp} < {timestamp_literal(day.end)} ORDER BY {', '.join(table.keys)}"
    )


def write_day(
    warehouse: Warehouse, day: ReportDay, *frames: tuple[TableSpec, pd.DataFrame]
) -> None:
    """The day's rows, stamped with the day, replacing whatever the tables held for
    it (an empty frame leaves the day empty): a re-run of a day replaces that day
    only. The tables of one call are replaced together (one transaction in DuckDB)."""
    warehouse.replace_partition(
        [(table, frame.assign(**{table.timestamp: day.start})) for table, frame in frames],
        day.start,
        day.end,
    )


def newest_day(
    warehouse: Warehouse, table: TableSpec, partitions: dg.TimeWindowPartitionsDefinition
) -> ReportDay | None:
    warehouse.ensure_schema([table])
    newest = warehouse.query(f"SELECT max({table.timestamp}) AS newest FROM {table.name}")
    value = newest["newest"].iloc[0] if len(newest) else None
    if value is None or pd.isna(value):
        return None
    key = partitions.get_partition_key_for_timestamp(
        pd.Timestamp(value).tz_localize("UTC").timestamp()
    )
    return day_of(partitions, key)


def figure(value: float | int) -> dg.MetadataValue:
    if isinstance(value, int | np.integer):
        return dg.MetadataValue.int(int(value))
    value = float(value)
    return dg.MetadataValue.float(round(value, 2)) if value == value else dg.MetadataValue.null()


def reconciliation_result(
    day: ReportDay, rows: pd.DataFrame, differences: pd.DataFrame, source: str, booked: int
) -> dg.AssetCheckResult:
    pairs = sorted(
        {f"{a}/{s}" for a, s in zip(differences["account"], differences["symbol"], strict=True)}
    )
    return dg.AssetCheckResult(
        passed=differences.empty,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{len(rows)} rows agree with {source}"
            if differences.empty
            else f"differs from {source} for {', '.join(pairs[:10])}"
        ),
        metadata={
            "trading_day": day.key,
            "source": source,
            "rows_checked": len(rows),
            "service_positions": booked,
            "differences": markdown_preview(differences, rows=20),
        },
    )


def figures_metadata(figures: dict[str, float | int]) -> dict[str, dg.MetadataValue]:
    """The headline figures a page shows, as the asset's metadata entries."""
    return {name: figure(value) for name, value in figures.items()}


def build_report_definitions(
    config: ReportsConfig, multipliers: Multipliers = NO_MULTIPLIERS
) -> ReportDefinitions:
    """The reports' assets and checks; `multipliers`: symbol -> contract multiplier
    (`assets.instruments.load_multipliers` of the instruments config; absent: 1x)."""
    daily = daily_partitions(config)
    coarse = rollup_partitions(config)
    rollup = rollup_table(config.rollup)
    tolerance = config.pnl.reconcile_tolerance

    def day_or_newest(
        context: AssetCheckExecutionContext, warehouse: Warehouse, table: TableSpec
    ) -> ReportDay | None:
        return run_day(context, daily) or newest_day(warehouse, table, daily)

    @dg.asset(
        name=DAILY_PNL.name,
        group_name=GROUP,
        partitions_def=daily,
        pool=WAREHOUSE_POOL,
        deps=[FILLS.name, QUOTES.name],
        description=(
            f"{DAILY_PNL.description} Marked to the last mid of the day; the conventions "
            "are in assets.reports.pnl."
        ),
        metadata=table_definition_metadata(DAILY_PNL),
    )
    def daily_pnl(
        context: AssetExecutionContext, warehouse: Warehouse, report_folder: ReportFolder
    ) -> dg.MaterializeResult:
        day = day_of(daily, context.partition_key)
        fills = fills_before(warehouse, day.end)
        start_marks, _ = marks_at(last_mids(warehouse, day.start), fills, day.start)
        end_marks, sources = marks_at(last_mids(warehouse, day.end), fills, day.end)
        rows = compute_daily_pnl(
            fills, day.start, day.end, start_marks, end_marks, sources, multipliers
        )
        write_day(warehouse, day, (DAILY_PNL, rows))
        by_account = rows.groupby("account")[["realized_pnl", "fees", "net_pnl"]].sum()
        headline: dict[str, float | int] = {
            "fills_today": int(rows["fill_count"].sum()),
            "realized_pnl": float(rows["realized_pnl"].sum()),
            "fees": float(rows["fees"].sum()),
            "unrealized_pnl": float(rows["unrealized_pnl"].sum()),
            "net_pnl": float(rows["net_pnl"].sum()),
        }
        parts = rows.assign(
            unrealized_change=rows["unrealized_pnl"] - rows["unrealized_start"],
            fees_paid=-rows["fees"],
        )
        page = ReportPage(
            asset=DAILY_PNL.name,
            day=day.key,
            heading=f"Daily P&L, {day.key}",
            figures={"accounts": int(rows["account"].nunique()), **headline},
            images={
                "by_account": charts.bars(
                    parts,
                    "account",
                    ["realized_pnl", "unrealized_change", "fees_paid", "net_pnl"],
                    title="P&L by account",
                    ylabel="currency",
                ),
                "by_symbol": charts.bars(
                    rows, "symbol", ["net_pnl"], title="Net P&L by symbol", ylabel="currency"
                ),
            },
            chart_titles={"by_account": "P&L by account", "by_symbol": "Net P&L by symbol"},
            tables=[
                ("By account", by_account.reset_index()),
                ("Per account and symbol", rows),
            ],
            note="Average-cost book (the service's own); realized P&L gross of fees, net P&L "
            "= realized + unrealized change - fees, marked to the last mid of the day.",
        )
        return dg.MaterializeResult(
            metadata={
                "trading_day": dg.MetadataValue.text(day.key),
                "dagster/row_count": dg.MetadataValue.int(len(rows)),
                **figures_metadata(headline),
                **publish(report_folder, page),
                "by_account": markdown_preview(by_account.reset_index(), rows=50),
                "preview": markdown_preview(
                    rows[["account", "symbol", "end_quantity", "realized_pnl", "net_pnl"]]
                ),
            }
        )

    @dg.asset_check(
        asset=DAILY_PNL.name,
        name="daily_pnl_reconciles_with_service",
        pool=WAREHOUSE_POOL,
        description=(
            "Each account and symbol's end-of-day position, lifetime realized P&L and "
            "unrealized P&L equal the realtime service's own to within "
            f"{tolerance:g}; a failure names the account and symbol. The service's own: "
            "GET /positions and /pnl of the running service (TRADEPIPE_SERVICE_URL) when "
            "nothing has been filled since the day's end (its book is then the day's; "
            "unrealized re-marked at its marks), else its journal replayed to the day's end."
        ),
    )
    def daily_pnl_reconciles_with_service(
        context: AssetCheckExecutionContext,
        warehouse: Warehouse,
        journal: JournalSource,
        service: ServiceBook,
    ) -> dg.AssetCheckResult:
        day = day_or_newest(context, warehouse, DAILY_PNL)
        if day is None:
            return dg.AssetCheckResult(passed=True, description="no daily_pnl rows yet")
        rows = read_day(warehouse, DAILY_PNL, day)
        live = (
            service.positions()
            if service.configured and fills_since(warehouse, day.end) == 0
            else None
        )
        if live is not None:
            positions, accounts = live
            found = service_differences(rows, positions, accounts, tolerance, multipliers)
            return reconciliation_result(
                day, rows, found, f"the service at {service.url}", len(positions)
            )
        if not journal.exists():
            return dg.AssetCheckResult(
                passed=rows.empty,
                description="no journal to reconcile against"
                + ("" if rows.empty else f", but {len(rows)} daily_pnl rows"),
                metadata={"trading_day": day.key, "journal": journal.path},
            )
        replayed = replayed_positions(journal.path, day.end, multipliers)
        differences = reconciliation_differences(rows, replayed, tolerance)
        return reconciliation_result(
            day, rows, differences, "the service's journal replayed", len(replayed)
        )

    @dg.asset(
        name=rollup.name,
        group_name=GROUP,
        partitions_def=coarse,
        pool=WAREHOUSE_POOL,
        deps=[DAILY_PNL.name],
        description=f"{rollup.description} Built from the stored daily_pnl rows of the period.",
        metadata=table_definition_metadata(rollup),
    )
    def pnl_rollup(
        context: AssetExecutionContext, warehouse: Warehouse, report_folder: ReportFolder
    ) -> dg.MaterializeResult:
        period = day_of(coarse, context.partition_key)
        days = read_day(warehouse, DAILY_PNL, period)
        rows = roll_up(days)
        write_day(warehouse, period, (rollup, rows))
        headline: dict[str, float | int] = {
            "days_with_rows": int(days["trading_day"].nunique()),
            "realized_pnl": float(rows["realized_pnl"].sum()) if len(rows) else 0.0,
            "fees": float(rows["fees"].sum()) if len(rows) else 0.0,
            "net_pnl": float(rows["net_pnl"].sum()) if len(rows) else 0.0,
        }
        by_day = (
            days.groupby(["trading_day"])["net_pnl"].sum().reset_index()
            if len(days)
            else pd.DataFrame(columns=["trading_day", "net_pnl"])
        )
        by_day["day"] = pd.to_datetime(by_day["trading_day"]).dt.strftime("%Y-%m-%d")
        page = ReportPage(
            asset=rollup.name,
            day=period.key,
            heading=f"P&L, {config.rollup} from {period.key}",
            figures=headline,
            images={
                "by_day": charts.bars(
                    by_day, "day", ["net_pnl"], title="Net P&L by day", ylabel="currency"
                ),
                "by_account": charts.bars(
                    rows,
                    "account",
                    ["realized_pnl", "net_pnl"],
                    title="P&L by account",
                    ylabel="currency",
                ),
            },
            chart_titles={"by_day": "Net P&L by day", "by_account": "P&L by account"},
            tables=[("Per account and symbol", rows)],
        )
        return dg.MaterializeResult(
            metadata={
                "period": dg.MetadataValue.text(period.key),
                "dagster/row_count": dg.MetadataValue.int(len(rows)),
                **figures_metadata(headline),
                **publish(report_folder, page),
                "preview": markdown_preview(rows, rows=10),
            }
        )

    relief_check = dg.AssetCheckSpec(
        name="tax_lots_match_average_cost",
        asset=TAX_LOTS.name,
        description=(
            "Per account and symbol, the gross gain of the day's closed lot slices equals the "
            "day's realized P&L in daily_pnl (average cost) to the cent over closed round "
            "trips; elsewhere the difference is explained by the change in open lots' basis "
            "against the average-cost basis (assets.reports.relief), and reported."
        ),
    )

    @dg.multi_asset(
        name="tax_lots_and_wash_sales",
        partitions_def=daily,
        pool=WAREHOUSE_POOL,
        specs=[
            dg.AssetSpec(
                TAX_LOTS.name,
                group_name=GROUP,
                deps=[FILLS.name, DAILY_PNL.name],
                description=(
                    f"{TAX_LOTS.description} Relief method {config.lots.method}; the rules, "
                    "the wash-sale rule among them, are in assets.reports.tax_lots."
                ),
                metadata=table_definition_metadata(TAX_LOTS),
            ),
            dg.AssetSpec(
                OPEN_TAX_LOTS.name,
                group_name=GROUP,
                deps=[FILLS.name],
                description=OPEN_TAX_LOTS.description,
                metadata=table_definition_metadata(OPEN_TAX_LOTS),
            ),
            dg.AssetSpec(
                WASH_SALES.name,
                group_name=GROUP,
                deps=[FILLS.name],
                description=WASH_SALES.description,
                metadata=table_definition_metadata(WASH_SALES),
            ),
        ],
        check_specs=[relief_check],
    )
    def tax_lots_and_wash_sales(
        context: AssetExecutionContext, warehouse: Warehouse, report_folder: ReportFolder
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        day = day_of(daily, context.partition_key)
        fills = fills_before(warehouse, day.end)
        # Only the day's slices and wash sales are built, over the whole history.
        result = lots_of_day(fills, config.lots, day.start, day.end, multipliers)
        method = str(config.lots.method)
        closed = result.slices.assign(wash_pending=result.slices["wash_pending"].astype(np.int64))
        washes = result.wash_sales
        open_lots = result.open_lots
        write_day(
            warehouse,
            day,
            (TAX_LOTS, closed.assign(relief_method=method)),
            (OPEN_TAX_LOTS, open_lots.assign(relief_method=method)),
            (WASH_SALES, washes),
        )
        common = {"trading_day": dg.MetadataValue.text(day.key)}
        terms = closed.groupby("term")["reportable_gain"].sum()
        lots_headline: dict[str, float | int] = {
            "gain": float(closed["gain"].sum()),
            "disallowed_loss": float(closed["disallowed_loss"].sum()),
            "reportable_short_term": float(terms.get("SHORT", 0.0)),
            "reportable_long_term": float(terms.get("LONG", 0.0)),
            "wash_pending": int(closed["wash_pending"].sum()),
        }
        lots_page = ReportPage(
            asset=TAX_LOTS.name,
            day=day.key,
            heading=f"Tax lots closed on {day.key} ({method})",
            figures={"slices": len(closed), **lots_headline},
            images={
                "by_symbol": charts.bars(
                    closed,
                    "symbol",
                    ["gross_gain", "disallowed_loss", "reportable_gain"],
                    title="Gains of the closed lot slices by symbol",
                    ylabel="currency",
                    empty="no lot closed on this day",
                ),
                "by_term": charts.bars(
                    closed,
                    "term",
                    ["reportable_gain"],
                    title="Reportable gain by term",
                    ylabel="currency",
                    empty="no lot closed on this day",
                ),
            },
            chart_titles={
                "by_symbol": "Gains by symbol",
                "by_term": "Reportable gain by term",
            },
            tables=[("Closed lot slices", closed)],
            note=f"Relief method {method}; the rules (wash sales among them) are stated in "
            "assets.reports.tax_lots.",
        )
        yield dg.MaterializeResult(
            asset_key=TAX_LOTS.name,
            metadata={
                **common,
                "dagster/row_count": dg.MetadataValue.int(len(closed)),
                "relief_method": dg.MetadataValue.text(method),
                **figures_metadata(lots_headline),
                **publish(report_folder, lots_page),
                "preview": markdown_preview(
                    closed[["slice_id", "quantity", "gain", "disallowed_loss", "term"]]
                ),
            },
        )
        open_page = ReportPage(
            asset=OPEN_TAX_LOTS.name,
            day=day.key,
            heading=f"Tax lots open at the end of {day.key} ({method})",
            figures={"lots": len(open_lots), "cost_basis": float(open_lots["cost_basis"].sum())},
            images={
                "basis_by_symbol": charts.bars(
                    open_lots,
                    "symbol",
                    ["cost_basis"],
                    title="Cost basis of open lots",
                    ylabel="currency",
                    empty="no open lot",
                )
            },
            chart_titles={"basis_by_symbol": "Cost basis of open lots by symbol"},
            tables=[("Open lots", open_lots)],
        )
        yield dg.MaterializeResult(
            asset_key=OPEN_TAX_LOTS.name,
            metadata={
                **common,
                "dagster/row_count": dg.MetadataValue.int(len(open_lots)),
                "cost_basis": figure(open_lots["cost_basis"].sum()),
                **publish(report_folder, open_page),
                "preview": markdown_preview(
                    open_lots[["lot_id", "symbol", "direction", "quantity", "cost_basis"]]
                ),
            },
        )
        wash_page = ReportPage(
            asset=WASH_SALES.name,
            day=day.key,
            heading=f"Wash sales determined on {day.key}",
            figures={
                "wash_sales": len(washes),
                "disallowed_loss": float(washes["disallowed_loss"].sum()),
            },
            images={
                "by_symbol": charts.bars(
                    washes,
                    "symbol",
                    ["disallowed_loss"],
                    title="Disallowed loss by symbol",
                    ylabel="currency",
                    empty="no wash sale on this day",
                )
            },
            chart_titles={"by_symbol": "Disallowed loss by symbol"},
            tables=[("Wash sales", washes)],
        )
        yield dg.MaterializeResult(
            asset_key=WASH_SALES.name,
            metadata={
                **common,
                "dagster/row_count": dg.MetadataValue.int(len(washes)),
                "disallowed_loss": figure(washes["disallowed_loss"].sum()),
                **publish(report_folder, wash_page),
                "preview": markdown_preview(washes),
            },
        )
        pnl = read_day(warehouse, DAILY_PNL, day)
        assert result.open_lots_at_checkpoint is not None  # a checkpoint was given
        relief = relief_reconciliation(
            pnl, closed, result.open_lots_at_checkpoint, open_lots, multipliers
        )
        bad = relief_violations(relief, tolerance)
        round_trips = relief[relief["round_trip"]]
        yield dg.AssetCheckResult(
            check_name=relief_check.name,
            asset_key=TAX_LOTS.name,
            passed=bad.empty,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                f"{len(relief)} books agree ({len(round_trips)} closed round trips to the cent)"
                if bad.empty
                else "unexplained for "
                + ", ".join(f"{a}/{s}" for a, s in zip(bad["account"], bad["symbol"], strict=True))
            ),
            metadata={
                **common,
                "books": len(relief),
                "round_trips": len(round_trips),
                "explained_difference": figure(relief["explained_by_open_basis"].sum()),
                "differences": markdown_preview(
                    relief[relief["difference"].abs() > tolerance], rows=20
                ),
                "unexplained": markdown_preview(bad, rows=20),
            },
        )

    @dg.asset(
        name=EXPOSURE.name,
        group_name=GROUP,
        partitions_def=daily,
        pool=WAREHOUSE_POOL,
        deps=[FILLS.name, QUOTES.name],
        description=(
            f"{EXPOSURE.description} Definitions in assets.reports.exposure; equity is "
            f"sampled every {config.exposure.equity_sample_seconds:g} s and at every fill."
        ),
        metadata=table_definition_metadata(EXPOSURE),
    )
    def exposure(
        context: AssetExecutionContext, warehouse: Warehouse, report_folder: ReportFolder
    ) -> dg.MaterializeResult:
        day = day_of(daily, context.partition_key)
        fills = fills_before(warehouse, day.end)
        start_marks, _ = marks_at(last_mids(warehouse, day.start), fills, day.start)
        end_marks, _ = marks_at(last_mids(warehouse, day.end), fills, day.end)
        symbols = sorted(set(fills["symbol"]))
        quotes = quotes_between(warehouse, day.start, day.end, symbols)
        rows, curves = exposure_and_curves(
            fills,
            day.start,
            day.end,
            start_marks,
            end_marks,
            quotes,
            config.exposure.equity_sample_seconds,
            multipliers,
        )
        write_day(warehouse, day, (EXPOSURE, rows))
        totals = rows[rows["symbol"] == TOTAL]
        positions = rows[rows["symbol"] != TOTAL]
        headline: dict[str, float | int] = {
            "accounts": len(totals),
            "gross": float(totals["gross"].sum()),
            "net": float(totals["market_value"].sum()),
            "largest_concentration": float(totals["concentration"].max()) if len(totals) else 0.0,
            "max_drawdown": float(totals["max_drawdown"].max()) if len(totals) else 0.0,
        }
        page = ReportPage(
            asset=EXPOSURE.name,
            day=day.key,
            heading=f"Exposure at the end of {day.key}",
            figures=headline,
            images={
                "equity": charts.equity_curves(curves, title="Intraday equity by account"),
                "by_account": charts.bars(
                    totals,
                    "account",
                    ["gross", "long_exposure", "short_exposure", "market_value"],
                    title="End-of-day exposure by account",
                    ylabel="currency",
                    empty="no positions",
                ),
            },
            chart_titles={
                "equity": "Intraday equity (dashed: high-water mark)",
                "by_account": "Gross, long, short and net exposure by account",
            },
            tables=[("Accounts", totals), ("Positions", positions)],
            note="Definitions in assets.reports.exposure.",
        )
        return dg.MaterializeResult(
            metadata={
                "trading_day": dg.MetadataValue.text(day.key),
                "dagster/row_count": dg.MetadataValue.int(len(rows)),
                **figures_metadata(headline),
                **publish(report_folder, page),
                "accounts_preview": markdown_preview(
                    totals[
                        [
                            "account",
                            "gross",
                            "market_value",
                            "concentration",
                            "equity_high_water",
                            "max_drawdown",
                        ]
                    ],
                    rows=50,
                ),
            }
        )

    @dg.asset(
        name=COMPLIANCE_FINDINGS.name,
        group_name=GROUP,
        partitions_def=daily,
        pool=WAREHOUSE_POOL,
        deps=[ORDERS.name, FILLS.name, QUOTES.name],
        description=(
            f"{COMPLIANCE_FINDINGS.description} The rules and their thresholds are in "
            "assets.reports.compliance and config/reports.toml [compliance]."
        ),
        metadata=table_definition_metadata(COMPLIANCE_FINDINGS),
    )
    def compliance_findings(
        context: AssetExecutionContext, warehouse: Warehouse, report_folder: ReportFolder
    ) -> dg.MaterializeResult:
        day = day_of(daily, context.partition_key)
        events = order_events_between(warehouse, day.start, day.end)
        fills = fills_before(warehouse, day.end)
        fills = fills[fills["ts"] >= day.start]
        symbols = sorted(set(events["symbol"].dropna()) | set(fills["symbol"]))
        quotes = quotes_between(warehouse, day.start, day.end, symbols)
        rows = compliance_findings_of(events, fills, quotes, config.compliance)
        write_day(warehouse, day, (COMPLIANCE_FINDINGS, rows))
        by_rule = rows.groupby(["rule_id", "severity"]).size().rename("findings").reset_index()
        headline: dict[str, float | int] = {
            "findings": len(rows),
            "errors": int((rows["severity"] == "ERROR").sum()),
            "warnings": int((rows["severity"] == "WARNING").sum()),
        }
        page = ReportPage(
            asset=COMPLIANCE_FINDINGS.name,
            day=day.key,
            heading=f"Compliance findings, {day.key}",
            figures=headline,
            images={
                "by_rule": charts.bars(
                    by_rule,
                    "rule_id",
                    ["findings"],
                    title="Findings by rule",
                    ylabel="findings",
                    empty="no finding on this day",
                )
            },
            chart_titles={"by_rule": "Findings by rule"},
            tables=[("By rule", by_rule), ("Findings", rows)],
            note="The rules and thresholds are in assets.reports.compliance and "
            "config/reports.toml [compliance].",
        )
        return dg.MaterializeResult(
            metadata={
                "trading_day": dg.MetadataValue.text(day.key),
                "dagster/row_count": dg.MetadataValue.int(len(rows)),
                **figures_metadata(headline),
                **publish(report_folder, page),
                "by_rule": markdown_preview(by_rule, rows=20),
                "preview": markdown_preview(
                    rows[["rule_id", "severity", "account", "symbol", "order_ids"]], rows=10
                ),
            }
        )

    @dg.asset_check(
        asset=COMPLIANCE_FINDINGS.name,
        name="compliance_findings_no_restricted_trade",
        pool=WAREHOUSE_POOL,
        description="No fill of the day is in a restricted symbol (RESTRICTED_TRADE must be 0).",
    )
    def compliance_findings_no_restricted_trade(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        day = day_or_newest(context, warehouse, COMPLIANCE_FINDINGS)
        if day is None:
            return dg.AssetCheckResult(passed=True, description="no compliance findings yet")
        rows = read_day(warehouse, COMPLIANCE_FINDINGS, day)
        bad = rows[rows["rule_id"] == "RESTRICTED_TRADE"]
        return dg.AssetCheckResult(
            passed=bad.empty,
            severity=dg.AssetCheckSeverity.ERROR,
            description="no restricted trade"
            if bad.empty
            else f"{len(bad)} restricted trades: "
            + ", ".join(f"{a}/{s}" for a, s in zip(bad["account"], bad["symbol"], strict=True)),
            metadata={
                "trading_day": day.key,
                "offending_rows": markdown_preview(bad, rows=20),
            },
        )

    return ReportDefinitions(
        assets=[daily_pnl, pnl_rollup, tax_lots_and_wash_sales, exposure, compliance_findings],
        checks=[daily_pnl_reconciles_with_service, compliance_findings_no_restricted_trade],
        daily_asset_names=[
            DAILY_PNL.name,
            TAX_LOTS.name,
            OPEN_TAX_LOTS.name,
            WASH_SALES.name,
            EXPOSURE.name,
            COMPLIANCE_FINDINGS.name,
        ],
        rollup_asset_names=[rollup.name],
    )


def roll_up(days: pd.DataFrame) -> pd.DataFrame:
    """daily_pnl rows of a period summed per account and symbol."""
    columns = [
        "account",
        "symbol",
        "days",
        "start_quantity",
        "end_quantity",
        "fill_count",
        "realized_pnl",
        "fees",
        "unrealized_change",
        "net_pnl",
        "end_unrealized",
    ]
    if days.empty:
        return pd.DataFrame(columns=columns)
    days = days.sort_values("trading_day").assign(
        unrealized_change=days["unrealized_pnl"] - days["unrealized_start"]
    )
    grouped = days.groupby(["account", "symbol"], sort=True)
    out = pd.DataFrame(
        {
            "days": grouped["trading_day"].nunique(),
            "start_quantity": grouped["start_quantity"].first(),
            "end_quantity": grouped["end_quantity"].last(),
            "fill_count": grouped["fill_count"].sum(),
            "realized_pnl": grouped["realized_pnl"].sum(),
            "fees": grouped["fees"].sum(),
            "unrealized_change": grouped["unrealized_change"].sum(),
            "net_pnl": grouped["net_pnl"].sum(),
            "end_unrealized": grouped["unrealized_pnl"].last(),
        }
    ).reset_index()
    return out[columns]


__all__ = ["GROUP", "ReportDefinitions", "build_report_definitions", "naive_utc", "roll_up"]
