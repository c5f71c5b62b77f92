"""Schedules: `<job>_schedule`, for the jobs that run on the clock.

Shipping does not run on the clock: `orchestration.sensors` runs it when the
journal or an inbox has something new. What is scheduled is work over a whole
trading day, once the day is over.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    # Not exported by dagster; only the type checker needs the name.
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition,
    )
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def build_daily_schedules(
    daily_jobs: Sequence[UnresolvedAssetJobDefinition],
) -> list[dg.ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition]:
    """Each day's partition, 30 minutes after the day ends (UTC): by then the
    sensors have shipped its last events."""
    return [
        dg.build_schedule_from_partitioned_job(
            job,
            name=f"{job.name}_schedule",
            hour_of_day=0,
            minute_of_hour=30,
            default_status=dg.DefaultScheduleStatus.RUNNING,
        )
        for job in daily_jobs
    ]
