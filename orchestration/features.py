"""The `features` group's wiring: its resource, job and schedule.

features_job materialises the sources, the registry (applied only when changed), the
online store and the training frame, then the checks. Its source steps are in the
warehouse pool like the shipping steps, so with an embedded DuckDB file they run one at
a time with the shipping runs (the instance's `concurrency: pools: default_limit: 1`),
and the job carries the run tag deploy/dagster.yaml limits to one run per job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from assets.features.assets import FEATURE_ASSETS, FEATURE_CHECKS, GROUP
from assets.features.store import FeatureStoreResource
from orchestration.jobs import RUN_CONFIG, RUN_TAG
from orchestration.settings import Settings
from realtime.feast_config import features_dir

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

JOB = f"{GROUP}_job"


@dataclass(frozen=True)
class FeatureDefinitions:
    assets: list
    checks: list
    job: UnresolvedAssetJobDefinition
    schedule: dg.ScheduleDefinition
    resources: dict[str, object]


def build_feature_definitions(
    settings: Settings, *, single_writer_warehouse: bool
) -> FeatureDefinitions:
    job = dg.define_asset_job(
        JOB,
        selection=dg.AssetSelection.groups(GROUP),
        description=(
            "Refresh the feature sources from the warehouse, apply feature_repo/ if it "
            "changed, materialise the online store and rebuild the order-features frame."
        ),
        executor_def=dg.in_process_executor if single_writer_warehouse else None,
        config=RUN_CONFIG,
        run_tags={RUN_TAG: JOB},
    )
    schedule = dg.ScheduleDefinition(
        name=f"{JOB}_schedule",
        job=job,
        cron_schedule=settings.features_schedule,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Keeps the online features fresh (TRADEPIPE_FEATURES_SCHEDULE).",
    )
    store = FeatureStoreResource(
        features_dir=str(features_dir(settings.data_dir)), online_url=settings.feast_online_url
    )
    return FeatureDefinitions(
        assets=FEATURE_ASSETS,
        checks=FEATURE_CHECKS,
        job=job,
        schedule=schedule,
        resources={"feature_store": store},
    )
