"""Jobs: one per asset group, named `<group>_job`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from assets.execution_quality.assets import GROUP as EXECUTION_QUALITY
from assets.sinks.assets import GROUP as INBOXES
from assets.warehouse.assets import GROUP as WAREHOUSE

# deploy/dagster.yaml limits runs to one per value of this tag: a run owns its tables'
# cursors (or inbox files) until it ends.
RUN_TAG = "tradepipe/job"
# Run logs at INFO: at DEBUG (Dagster's default) every step event is a line, and
# dagster.log was mostly those.
RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}

if TYPE_CHECKING:
    # Not exported by dagster; only the type checker needs the name.
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def build_jobs(*, single_writer_warehouse: bool) -> list[UnresolvedAssetJobDefinition]:
    """The jobs. An embedded warehouse file has one writer at a time, so its jobs
    run their steps one after another in one process instead of in parallel
    processes that would only queue on the file lock (and each pay Python's
    start-up)."""
    executor = dg.in_process_executor if single_writer_warehouse else None
    return [
        dg.define_asset_job(
            f"{WAREHOUSE}_job",
            selection=dg.AssetSelection.groups(WAREHOUSE),
            description="Ship new journal events into the warehouse tables, then check them.",
            executor_def=executor,
            config=RUN_CONFIG,
            run_tags={RUN_TAG: f"{WAREHOUSE}_job"},
        ),
        dg.define_asset_job(
            f"{INBOXES}_job",
            selection=dg.AssetSelection.groups(INBOXES),
            description="Load files waiting in the tick and alt-data inboxes, then check them.",
            executor_def=executor,
            config=RUN_CONFIG,
            run_tags={RUN_TAG: f"{INBOXES}_job"},
        ),
    ]


def build_daily_jobs(*, single_writer_warehouse: bool) -> list[UnresolvedAssetJobDefinition]:
    """Jobs partitioned by trading day (their assets' partitions), scheduled once a day."""
    return [
        dg.define_asset_job(
            f"{EXECUTION_QUALITY}_job",
            selection=dg.AssetSelection.groups(EXECUTION_QUALITY),
            description="TCA of one trading day: per-order and per-fill metrics, summaries, "
            "the report, and their checks.",
            executor_def=dg.in_process_executor if single_writer_warehouse else None,
            config=RUN_CONFIG,
        )
    ]


def build_report_jobs(
    daily_assets: list[str], rollup_assets: list[str], *, single_writer_warehouse: bool
) -> list[UnresolvedAssetJobDefinition]:
    """The reports group's two jobs: the daily assets (one trading day) and the
    coarser P&L roll-up, whose partitions are weeks or months."""
    executor = dg.in_process_executor if single_writer_warehouse else None
    return [
        dg.define_asset_job(
            "reports_job",
            selection=dg.AssetSelection.assets(*daily_assets),
            description="One trading day's P&L, tax lots, exposure and compliance findings, "
            "their checks and the rendered report.",
            executor_def=executor,
        ),
        dg.define_asset_job(
            "reports_rollup_job",
            selection=dg.AssetSelection.assets(*rollup_assets),
            description="The weekly (or monthly) roll-up of daily_pnl.",
            executor_def=executor,
        ),
    ]
