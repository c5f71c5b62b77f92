"""Trading days and periods of the reports: calendar days in the configured time zone."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pandas as pd

from assets.reports.config import ReportsConfig
from assets.timestamps import naive_utc


@dataclass(frozen=True)
class ReportDay:
    """[start, end) of a trading day (or a roll-up period), naive UTC, and its key."""

    key: str
    start: pd.Timestamp
    end: pd.Timestamp


def daily_partitions(config: ReportsConfig) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=config.start_date, timezone=config.timezone)


def rollup_partitions(
    config: ReportsConfig,
) -> dg.WeeklyPartitionsDefinition | dg.MonthlyPartitionsDefinition:
    if config.rollup == "monthly":
        return dg.MonthlyPartitionsDefinition(
            start_date=config.start_date, timezone=config.timezone
        )
    return dg.WeeklyPartitionsDefinition(start_date=config.start_date, timezone=config.timezone)


def day_of(partitions: dg.TimeWindowPartitionsDefinition, key: str) -> ReportDay:
    window = partitions.time_window_for_partition_key(key)
    return ReportDay(key, naive_utc(window.start), naive_utc(window.end))


def run_day(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
    partitions: dg.TimeWindowPartitionsDefinition,
) -> ReportDay | None:
    """The run's partition, or None when the run has none (a check run on its own)."""
    if not context.has_partition_key:
        return None
    return day_of(partitions, context.partition_key)
