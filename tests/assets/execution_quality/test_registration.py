"""The execution_quality group in the code location: partitioned job, daily schedule, pool."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from assets.catalogue import WAREHOUSE_POOL as POOL
from assets.execution_quality.assets import build_execution_quality_assets
from assets.execution_quality.checks import build_execution_quality_checks
from assets.instruments import NO_MULTIPLIERS
from orchestration.definitions import build_definitions
from orchestration.settings import Settings


def test_job_when_built_then_partitioned_by_trading_day_and_scheduled_after_the_day(
    tmp_path: Path,
) -> None:
    repo = build_definitions(Settings.for_data_dir(tmp_path)).get_repository_def()
    job = repo.get_job("execution_quality_job")
    schedule = repo.get_schedule_def("execution_quality_job_schedule")

    assert job.partitions_def is not None
    assert job.partitions_def.get_partition_keys_between_indexes(0, 1) == ["2025-01-01"]
    assert schedule.cron_schedule == "30 0 * * *"
    with dg.instance_for_test() as instance:
        tick = schedule.evaluate_tick(
            dg.build_schedule_context(
                instance=instance,
                scheduled_execution_time=datetime(2026, 11, 27, 0, 30, tzinfo=UTC),
            )
        )
    assert [r.partition_key for r in tick.run_requests or []] == ["2026-11-26"]


def test_assets_and_checks_when_defined_then_all_in_the_warehouse_pool() -> None:
    EXECUTION_QUALITY_ASSETS = build_execution_quality_assets(NO_MULTIPLIERS)
    EXECUTION_QUALITY_CHECKS = build_execution_quality_checks(NO_MULTIPLIERS)
    pools = {a.op.name: a.op.pool for a in EXECUTION_QUALITY_ASSETS}
    pools |= {c.node_def.name: c.node_def.pool for c in EXECUTION_QUALITY_CHECKS}

    assert set(pools.values()) == {POOL} and POOL == "duckdb_warehouse"
    assert len(pools) == len(EXECUTION_QUALITY_ASSETS) + len(EXECUTION_QUALITY_CHECKS)


def test_report_folder_when_built_then_under_the_data_folder(tmp_path: Path) -> None:
    defs = build_definitions(Settings.for_data_dir(tmp_path))

    assert defs.resources["tca_reports"].path == str(tmp_path / "reports" / "tca")  # type: ignore[attr-defined]
