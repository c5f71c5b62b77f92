"""Schedules: `<job>_schedule`, every minute by default (TRADEPIPE_SHIP_SCHEDULE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg
from dagster import ScheduleEvaluationContext

# A run still in one of these states owns the cursor; a second one would only
# race it for the same batches.
_ACTIVE: tuple[dg.DagsterRunStatus, ...] = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)

if TYPE_CHECKING:
    # Not exported by dagster; only the type checker needs the name.
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )


def _job_schedule(job: UnresolvedAssetJobDefinition, cron: str) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs {job.name} on '{cron}', skipping a tick while a run is active.",
    )
    def _schedule(context: ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        active = context.instance.get_runs(
            filters=dg.RunsFilter(job_name=job.name, statuses=list(_ACTIVE)), limit=1
        )
        if active:
            return dg.SkipReason(f"{job.name} run {active[0].run_id} is still active")
        return dg.RunRequest()

    return _schedule


def build_schedules(
    jobs: Sequence[UnresolvedAssetJobDefinition], cron: str
) -> list[dg.ScheduleDefinition]:
    return [_job_schedule(job, cron) for job in jobs]
