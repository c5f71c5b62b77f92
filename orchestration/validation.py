"""The validation programme's Dagster wiring: its resource, jobs, schedules and the
alert sensor.

* `validation_health_job` (service health, data pipeline, verdict) on
  TRADEPIPE_VALIDATION_HEALTH_CRON (every 5 minutes), `validation_job` (every suite,
  verdict) on TRADEPIPE_VALIDATION_FULL_CRON (hourly).
* `validation_verdict_alert_sensor` raises an alert when the verdict goes from PASS to
  FAIL: a run of `validation_alert_job` that fails with the reason (and logs it at
  ERROR), once; not again until a PASS re-arms it.
"""

import json
from dataclasses import dataclass
from typing import Any, Final

import dagster as dg
from dagster import OpExecutionContext

from assets.validation.assets import GROUP, VALIDATION_ASSETS, VERDICT
from assets.validation.catalogue import Suite
from assets.validation.resource import ValidationTarget
from orchestration.jobs import RUN_CONFIG, RUN_TAG
from orchestration.settings import Settings
from orchestration.validation_settings import ValidationSettings

HEALTH_JOB: Final = f"{GROUP}_health_job"
FULL_JOB: Final = f"{GROUP}_job"
ALERT_JOB: Final = f"{GROUP}_alert_job"
ALERT_SENSOR: Final = "validation_verdict_alert_sensor"
SENSOR_INTERVAL_S: Final = 30


def next_alert_state(armed: bool, verdict: str) -> tuple[bool, bool]:
    """(armed after this verdict, whether to alert now). A PASS arms the alert; a FAIL
    while armed alerts and disarms it, so a run of FAILs alerts once; CONDITIONAL
    leaves it as it was (PASS -> CONDITIONAL -> FAIL still alerts)."""
    if verdict == "PASS":
        return True, False
    if verdict == "FAIL" and armed:
        return False, True
    return armed, False


@dg.op(config_schema={"verdict": str, "reason": str, "verdict_run_id": str})
def validation_alert(context: OpExecutionContext) -> None:
    """Fails, so the alert is a failed run in the UI (and any run-failure hook fires)."""
    config = context.op_config
    message = (
        f"validation verdict went from PASS to {config['verdict']} in run "
        f"{config['verdict_run_id']}:\n{config['reason']}"
    )
    context.log.error(message)
    raise dg.Failure(description=message)


@dg.job(name=ALERT_JOB, description="Raised by validation_verdict_alert_sensor: PASS -> FAIL.")
def validation_alert_job() -> None:
    validation_alert()


@dataclass(frozen=True)
class _Cursor:
    storage_id: int = 0
    armed: bool = False

    @classmethod
    def parse(cls, text: str | None) -> "_Cursor":
        return cls(**json.loads(text)) if text else cls()

    def dump(self) -> str:
        return json.dumps({"storage_id": self.storage_id, "armed": self.armed})


@dg.sensor(
    name=ALERT_SENSOR,
    job=validation_alert_job,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (a failed run with the reason) when the verdict goes PASS -> FAIL.",
)
def validation_verdict_alert_sensor(
    context: dg.SensorEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    cursor = _Cursor.parse(context.cursor)
    records = context.instance.fetch_materializations(dg.AssetKey(VERDICT), limit=1).records
    event = records[0] if records else None
    if event is None or event.storage_id <= cursor.storage_id:
        return dg.SkipReason("no new verdict")
    materialization = event.asset_materialization
    metadata: dict[str, Any] = dict(materialization.metadata) if materialization else {}
    verdict = _text(metadata.get("verdict"))
    armed, alert = next_alert_state(cursor.armed, verdict)
    context.update_cursor(_Cursor(event.storage_id, armed).dump())
    if not alert:
        return dg.SkipReason(f"verdict {verdict}: no alert (armed: {armed})")
    reason = _text(metadata.get("failed_checks"))
    context.log.error(f"validation verdict PASS -> FAIL (run {event.run_id}): {reason}")
    return dg.RunRequest(
        run_key=f"alert-{event.storage_id}",
        run_config={
            "ops": {
                "validation_alert": {
                    "config": {"verdict": verdict, "reason": reason, "verdict_run_id": event.run_id}
                }
            }
        },
    )


def _text(value: object) -> str:
    return str(getattr(value, "value", value) or "")


def validation_resource(settings: Settings, validation: ValidationSettings) -> ValidationTarget:
    return ValidationTarget(
        api_url=validation.api_url,
        config_path=str(validation.config_path),
        data_dir=str(settings.data_dir),
        feast_online_url=settings.feast_online_url,
        load_hosts=sorted(validation.load_hosts),
    )


def build_validation_jobs(*, single_writer_warehouse: bool) -> list[Any]:
    executor = dg.in_process_executor if single_writer_warehouse else None
    verdict = dg.AssetSelection.assets(VERDICT)
    return [
        dg.define_asset_job(
            HEALTH_JOB,
            selection=dg.AssetSelection.assets(str(Suite.SERVICE_HEALTH), str(Suite.DATA_PIPELINE))
            | verdict,
            description="Service health and data pipeline suites, then the verdict.",
            executor_def=executor,
            config=RUN_CONFIG,
            run_tags={RUN_TAG: HEALTH_JOB},
        ),
        dg.define_asset_job(
            FULL_JOB,
            selection=dg.AssetSelection.groups(GROUP),
            description="Every validation suite, then the verdict.",
            executor_def=executor,
            config=RUN_CONFIG,
            run_tags={RUN_TAG: FULL_JOB},
        ),
    ]


def build_validation_schedules(
    jobs: list[Any], validation: ValidationSettings
) -> list[dg.ScheduleDefinition]:
    status = (
        dg.DefaultScheduleStatus.RUNNING
        if validation.schedules_on
        else (dg.DefaultScheduleStatus.STOPPED)
    )
    by_name = {job.name: job for job in jobs}
    return [
        dg.ScheduleDefinition(
            name=f"{name}_schedule",
            job=by_name[name],
            cron_schedule=cron,
            execution_timezone="UTC",
            default_status=status,
        )
        for name, cron in ((HEALTH_JOB, validation.health_cron), (FULL_JOB, validation.full_cron))
    ]


__all__ = [
    "ALERT_JOB",
    "FULL_JOB",
    "HEALTH_JOB",
    "VALIDATION_ASSETS",
    "build_validation_jobs",
    "build_validation_schedules",
    "next_alert_state",
    "validation_alert_job",
    "validation_resource",
    "validation_verdict_alert_sensor",
]
