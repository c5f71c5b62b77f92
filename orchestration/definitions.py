"""The code location: the only `Definitions`, loaded by workspace.yaml.

`defs` is lazy (`@dg.definitions`): settings are read from the environment
and resources chosen when Dagster loads the code location, not when this
module is imported.
"""

from __future__ import annotations

import dagster as dg

from assets.sinks.assets import SINK_ASSETS
from assets.warehouse.assets import WAREHOUSE_ASSETS
from orchestration.jobs import build_jobs
from orchestration.resources import DuckDBWarehouse, build_resources
from orchestration.schedules import build_schedules
from orchestration.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    resources = build_resources(settings)
    jobs = build_jobs(single_writer_warehouse=isinstance(resources["warehouse"], DuckDBWarehouse))
    return dg.Definitions(
        assets=[*WAREHOUSE_ASSETS, *SINK_ASSETS],
        jobs=jobs,
        schedules=build_schedules(jobs, settings.ship_schedule),
        resources=resources,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
