"""The code location: the only `Definitions`, loaded by workspace.yaml.

`defs` is lazy (`@dg.definitions`): settings are read from the environment
and resources chosen when Dagster loads the code location, not when this
module is imported.
"""

from __future__ import annotations

import dagster as dg

from assets.execution_quality.assets import build_execution_quality_assets
from assets.execution_quality.checks import build_execution_quality_checks
from assets.execution_quality.report_folder import ReportFolder
from assets.instruments import load_multipliers
from assets.reports.assets import build_report_definitions
from assets.reports.config import load_reports_config
from assets.resources import DuckDBWarehouse
from assets.sinks.assets import SINK_ASSETS
from assets.warehouse.assets import WAREHOUSE_ASSETS
from orchestration.features import build_feature_definitions
from orchestration.jobs import build_daily_jobs, build_jobs, build_report_jobs
from orchestration.resources import build_resources
from orchestration.schedules import build_daily_schedules
from orchestration.sensors import build_sensors
from orchestration.settings import Settings
from orchestration.validation import (
    VALIDATION_ASSETS,
    build_validation_jobs,
    build_validation_schedules,
    validation_alert_job,
    validation_resource,
    validation_verdict_alert_sensor,
)
from orchestration.validation_settings import ValidationSettings
from realtime.layout import DataLayout


def build_definitions(
    settings: Settings, validation: ValidationSettings | None = None
) -> dg.Definitions:
    validation = validation or ValidationSettings()
    resources = build_resources(settings)
    reports_dir = DataLayout.under(settings.data_dir).reports_dir
    resources["tca_reports"] = ReportFolder(path=str(reports_dir / "tca"))
    single_writer = isinstance(resources["warehouse"], DuckDBWarehouse)
    jobs = build_jobs(single_writer_warehouse=single_writer)
    daily_jobs = build_daily_jobs(single_writer_warehouse=single_writer)
    # reports (issue 11): partitions follow config/reports.toml's time zone
    resources["report_folder"] = ReportFolder(path=str(reports_dir))
    # contract multipliers (issue 12): the service's instruments file, so the reports'
    # and the TCA's money (ESZ6 at 50x) is the service's
    multipliers = load_multipliers(settings.instruments_path)
    reports = build_report_definitions(load_reports_config(settings.reports_config), multipliers)
    daily_jobs += build_report_jobs(
        reports.daily_asset_names,
        reports.rollup_asset_names,
        single_writer_warehouse=single_writer,
    )
    # features (issue 9): sources, Feast registry and online store, on a schedule
    features = build_feature_definitions(settings, single_writer_warehouse=single_writer)
    resources.update(features.resources)
    # the validation programme (issue 15)
    validation_jobs = build_validation_jobs(single_writer_warehouse=single_writer)
    schedules = [
        *build_daily_schedules(daily_jobs),
        features.schedule,
        *build_validation_schedules(validation_jobs, validation),
    ]
    sensors = [*build_sensors(jobs), validation_verdict_alert_sensor]
    running = [
        *(s.name for s in schedules if s.default_status == dg.DefaultScheduleStatus.RUNNING),
        *(s.name for s in sensors if s.default_status == dg.DefaultSensorStatus.RUNNING),
    ]
    resources["validation"] = validation_resource(settings, validation).model_copy(
        update={"should_run": running}
    )
    return dg.Definitions(
        assets=[
            *WAREHOUSE_ASSETS,
            *SINK_ASSETS,
            *build_execution_quality_assets(multipliers),
            *reports.assets,
            *features.assets,
            *VALIDATION_ASSETS,
        ],
        asset_checks=[
            *build_execution_quality_checks(multipliers),
            *reports.checks,
            *features.checks,
        ],
        jobs=[*jobs, *daily_jobs, features.job, *validation_jobs, validation_alert_job],
        schedules=schedules,
        sensors=sensors,
        resources=resources,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env(), ValidationSettings.from_env())
