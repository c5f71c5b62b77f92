"""Sensors: shipping runs when there is something to ship, not on the clock.

* `warehouse_job_sensor` keeps the journal's head seq as its cursor and asks for a
  `warehouse_job` run when the head has moved past it: nothing new, no run.
* `inboxes_job_sensor` asks for an `inboxes_job` run when files wait in an inbox,
  selecting only the assets of the inboxes that have files.

Both are evaluated every `SENSOR_INTERVAL_S`, so new events or files reach the
warehouse within about that plus one run's length, and both skip a tick while a
run of their job is still active (it owns the cursors or the files; a second run
would only race it). When both ask at once, the shipping run is launched first
(`SHIPPING_PRIORITY`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import dagster as dg

from assets.resources import Inbox, JournalSource, Sink
from assets.sinks.assets import GROUP as INBOXES
from assets.sinks.tables import (
    ALT_SIGNALS,
    PROCESSED_FILES,
    QUARANTINE,
    REPLAY_QUOTES,
    REPLAY_TRADES,
)
from assets.warehouse.assets import GROUP as WAREHOUSE

if TYPE_CHECKING:
    # Not exported by dagster; only the type checker needs the name.
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

# A tick is one SQLite read (the journal's head) or one directory listing per inbox.
SENSOR_INTERVAL_S: Final = 5
# The run queue launches higher priorities first (default 0): the journal's events are
# what a person looks for first, and inbox files asked for at the same tick can wait
# for one shipping run.
PRIORITY_TAG: Final = "dagster/priority"
SHIPPING_PRIORITY: Final = 1

# A run still in one of these states owns its job's cursors or files.
ACTIVE_STATUSES: Final[tuple[dg.DagsterRunStatus, ...]] = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def active_run(instance: dg.DagsterInstance, job_name: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=job_name, statuses=list(ACTIVE_STATUSES)), limit=1
    )
    return runs[0] if runs else None


def journal_sensor(job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{job.name}_sensor",
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Runs {job.name} when the realtime journal has events past the last run's "
            "head (the cursor), skipping while a run is active."
        ),
    )
    def _sensor(
        context: dg.SensorEvaluationContext, journal: JournalSource
    ) -> dg.RunRequest | dg.SkipReason:
        head = journal.head_seq()
        requested = int(context.cursor) if context.cursor else 0
        # A head behind the cursor is a replaced journal: let the run see it (and refuse
        # it with its own error in the UI) rather than wait for the old head again.
        if head == requested or head == 0:
            return dg.SkipReason(f"nothing new: the journal ends at seq {head}")
        if run := active_run(context.instance, job.name):
            return dg.SkipReason(f"{job.name} run {run.run_id} is still active")
        context.update_cursor(str(head))
        return dg.RunRequest(
            tags={"tradepipe/journal_head_seq": str(head), PRIORITY_TAG: str(SHIPPING_PRIORITY)}
        )

    return _sensor


def inbox_files_key(files_by_sink: dict[Sink, list[tuple[str, int, int]]]) -> str:
    """One key per set of waiting files (name, size, mtime): the same files waiting
    after a failed run are not asked for again until something changes."""
    digest = hashlib.sha256(repr(sorted(files_by_sink.items())).encode()).hexdigest()
    return f"inbox-{digest[:16]}"


def inbox_sensor(
    job: UnresolvedAssetJobDefinition,
    assets_by_sink: dict[Sink, Sequence[str]],
    always: Sequence[str] = (),
) -> dg.SensorDefinition:
    """`assets_by_sink`: the assets that load each inbox; `always`: assets that run
    whenever any inbox is loaded (its bookkeeping)."""

    @dg.sensor(
        name=f"{job.name}_sensor",
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Runs {job.name} for the inboxes that have files waiting, skipping while a "
            "run is active."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, inbox: Inbox) -> dg.RunRequest | dg.SkipReason:
        waiting: dict[Sink, list[tuple[str, int, int]]] = {}
        for sink in assets_by_sink:
            files = []
            for path in inbox.pending(sink):
                try:
                    stat = path.stat()
                except FileNotFoundError:  # moved to done/ since the listing
                    continue
                files.append((path.name, stat.st_size, stat.st_mtime_ns))
            if files:
                waiting[sink] = files
        if not waiting:
            return dg.SkipReason("no files waiting in the inboxes")
        if run := active_run(context.instance, job.name):
            return dg.SkipReason(f"{job.name} run {run.run_id} is still active")
        selection = [name for sink in waiting for name in assets_by_sink[sink]]
        return dg.RunRequest(
            run_key=inbox_files_key(waiting),
            asset_selection=[dg.AssetKey(name) for name in [*selection, *always]],
            tags={"tradepipe/inboxes": ",".join(sorted(waiting))},
        )

    return _sensor


def build_sensors(jobs: Sequence[UnresolvedAssetJobDefinition]) -> list[dg.SensorDefinition]:
    """The shipping sensors, for the jobs `orchestration.jobs.build_jobs` returns."""
    by_name = {job.name: job for job in jobs}
    return [
        journal_sensor(by_name[f"{WAREHOUSE}_job"]),
        inbox_sensor(
            by_name[f"{INBOXES}_job"],
            {
                "ticks": [REPLAY_QUOTES.name, REPLAY_TRADES.name],
                "alt": [ALT_SIGNALS.name],
            },
            always=[QUARANTINE.name, PROCESSED_FILES.name],
        ),
    ]
