"""The code location: it loads, follows the naming conventions, and Dagster validates it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import yaml

from assets.resources import DuckDBWarehouse, QuestDBWarehouse
from orchestration.definitions import build_definitions
from orchestration.launcher import DAGSTER_YAML
from orchestration.settings import PROJECT_ROOT, Settings

ASSETS = {"orders", "fills", "quotes", "trades", "risk_control_changes", "risk_rejections"} | {
    "feature_limit_changes",
    "replay_quotes",
    "replay_trades",
    "alt_signals",
    "quarantine",
    "processed_files",
    "ship_log",
}
TCA_ASSETS = {"tca_orders", "tca_fills", "tca_daily", "tca_report"}
REPORT_ASSETS = {"daily_pnl", "pnl_weekly", "tax_lots", "open_tax_lots", "wash_sales"} | {
    "exposure",
    "compliance_findings",
}
FEATURE_ASSETS = {"symbol_market", "symbol_alt", "account_activity"} | {
    "feast_registry",
    "online_features",
    "order_features",
}
# the validation programme (issue 15): one asset per suite, and the verdict
VALIDATION_ASSETS = {"service_health", "data_pipeline", "performance", "integration"} | {
    "resilience",
    "error_handling",
    "validation_verdict",
}
# the validation assets that write the warehouse file (the rest only read it or the API)
VALIDATION_WRITERS = {"data_pipeline", "resilience", "validation_verdict"}


def repository(tmp_path: Path, **overrides: object) -> dg.RepositoryDefinition:
    return build_definitions(Settings.for_data_dir(tmp_path, **overrides)).get_repository_def()


def test_definitions_when_built_then_groups_jobs_and_schedules_follow_the_conventions(
    tmp_path: Path,
) -> None:
    repo = repository(tmp_path)

    assert {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()} == (
        ASSETS | TCA_ASSETS | REPORT_ASSETS | FEATURE_ASSETS | VALIDATION_ASSETS
    )
    groups = {
        key.to_user_string(): repo.asset_graph.get(key).group_name
        for key in repo.asset_graph.get_all_asset_keys()
    }
    assert {a for a, g in groups.items() if g == "warehouse"} == {
        "orders",
        "fills",
        "quotes",
        "trades",
        "risk_control_changes",
        "risk_rejections",
        "feature_limit_changes",
        "ship_log",
    }
    assert {a for a, g in groups.items() if g == "inboxes"} == {
        "replay_quotes",
        "replay_trades",
        "alt_signals",
        "quarantine",
        "processed_files",
    }
    assert {a for a, g in groups.items() if g == "execution_quality"} == TCA_ASSETS
    assert {a for a, g in groups.items() if g == "reports"} == REPORT_ASSETS
    assert {a for a, g in groups.items() if g == "features"} == FEATURE_ASSETS
    assert {a for a, g in groups.items() if g == "validation"} == VALIDATION_ASSETS
    assert {j.name for j in repo.get_all_jobs() if not j.name.startswith("__")} == {
        "warehouse_job",
        "inboxes_job",
        "execution_quality_job",
        "reports_job",
        "reports_rollup_job",
        "features_job",
        "validation_health_job",
        "validation_job",
        "validation_alert_job",
    }
    schedules = {s.name for s in repo.schedule_defs}
    # Shipping runs on sensors (tests/orchestration/test_sensors.py), not on the clock.
    assert {
        "execution_quality_job_schedule",
        "reports_job_schedule",
        "reports_rollup_job_schedule",
        "features_job_schedule",
    } <= schedules
    assert not schedules & {"warehouse_job_schedule", "inboxes_job_schedule"}
    assert {"warehouse_job_sensor", "inboxes_job_sensor"} <= {s.name for s in repo.sensor_defs}


def test_definitions_when_built_then_every_check_is_named_after_its_asset(tmp_path: Path) -> None:
    repo = repository(tmp_path)

    checks = repo.asset_graph.asset_check_keys
    assert all(c.name.startswith(f"{c.asset_key.to_user_string()}_") for c in checks)
    names = {c.name for c in checks}
    shipped = ("orders", "fills", "quotes", "trades", "risk_control_changes", "risk_rejections")
    for table in (*shipped, "feature_limit_changes"):
        assert {f"{table}_unique_keys", f"{table}_no_seq_gaps"} <= names
    for table in ("quotes", "trades", "replay_quotes", "replay_trades"):
        assert {f"{table}_monotonic_ts", f"{table}_non_negative_prices_sizes"} <= names
    assert "alt_signals_unique_keys" in names


def test_definitions_when_warehouse_is_questdb_then_its_resource_is_chosen_without_connecting(
    tmp_path: Path,
) -> None:
    # Nothing listens on this port: loading must not try to connect.
    settings = Settings.for_data_dir(tmp_path, warehouse_url="questdb://127.0.0.1:9?pg_port=9")
    defs = build_definitions(settings)

    assert isinstance(defs.resources["warehouse"], QuestDBWarehouse)
    assert defs.get_repository_def().get_job("warehouse_job").executor_def is not (
        dg.in_process_executor
    )


def test_definitions_when_embedded_then_duckdb_and_single_process_jobs(tmp_path: Path) -> None:
    defs = build_definitions(Settings.for_data_dir(tmp_path))

    assert isinstance(defs.resources["warehouse"], DuckDBWarehouse)
    assert defs.get_repository_def().get_job("warehouse_job").executor_def is (
        dg.in_process_executor
    )


@pytest.mark.slow
def test_dagster_cli_when_validating_the_workspace_then_it_passes(tmp_path: Path) -> None:
    dagster = Path(sys.executable).parent / "dagster"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "TRADEPIPE_DATA_DIR": str(tmp_path / "data"),
    }
    (tmp_path / "dagster_home").mkdir()

    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_definitions_when_built_then_every_warehouse_writer_is_in_the_duckdb_pool(
    tmp_path: Path,
) -> None:
    repo = repository(tmp_path)

    pools = {
        key.to_user_string(): repo.asset_graph.get(key).pools
        for key in repo.asset_graph.get_all_asset_keys()
    }

    # the feature sources and order_features read the warehouse file; the registry and
    # the online store are Feast's own files
    readers = {"symbol_market", "symbol_alt", "account_activity", "order_features"}
    writers = ASSETS | TCA_ASSETS | REPORT_ASSETS | VALIDATION_WRITERS | readers
    assert pools == {
        **{key: {"duckdb_warehouse"} for key in writers},
        **{key: set() for key in VALIDATION_ASSETS - VALIDATION_WRITERS},
        "feast_registry": set(),
        "online_features": set(),
    }


def test_launcher_instance_when_loaded_then_pools_are_limited_to_one() -> None:
    with dg.instance_for_test(overrides=yaml.safe_load(DAGSTER_YAML)) as instance:
        config = instance.get_concurrency_config()
    assert config.pool_config.default_pool_limit == 1
    # A run waiting for the pool may start its process meanwhile (the first data sooner).
    assert config.pool_config.op_granularity_run_buffer == 1


# Each Dagster process (the code server, every run) imports the code location: these
# are imported where they are used, not with it (matplotlib alone is about a second).
IMPORTED_WHERE_USED = ("matplotlib", "great_expectations", "feast", "redis")


def test_code_location_when_imported_then_heavy_libraries_wait_until_used(tmp_path: Path) -> None:
    probe = (
        "import sys, orchestration.definitions as d; d.defs(); "
        f"print(sorted(m for m in {IMPORTED_WHERE_USED!r} if m in sys.modules))"
    )
    env = {**os.environ, "TRADEPIPE_DATA_DIR": str(tmp_path / "data")}

    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert result.stdout.strip() == "[]"


def test_jobs_when_built_then_each_runs_in_one_step_per_writing_asset(tmp_path: Path) -> None:
    # The checks run inside the step that wrote their table: no step of their own.
    repo = repository(tmp_path)

    steps = {
        name: sorted(node.name for node in repo.get_job(name).graph.node_defs)
        for name in ("warehouse_job", "inboxes_job")
    }

    assert steps == {
        "warehouse_job": ["ship_journal"],
        "inboxes_job": ["alt_signals", "processed_files", "quarantine", "sink_ticks"],
    }
    checks = repo.get_job("warehouse_job").asset_layer.asset_graph.asset_check_keys
    assert len(checks) == 21  # of 28 in all: the inboxes hold the other 7


@pytest.mark.slow
def test_dagster_cli_when_materialising_a_group_as_the_readme_says_then_it_succeeds(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "TRADEPIPE_DATA_DIR": str(tmp_path / "data"),
    }
    (tmp_path / "dagster_home").mkdir()

    # Every `dagster asset materialize` command the README shows, run as it is written.
    readme = (PROJECT_ROOT / "README.md").read_text()
    commands = [
        shlex.split(line)
        for line in readme.splitlines()
        if line.startswith(".venv/bin/dagster asset materialize")
    ]
    assert commands, "the README shows no `dagster asset materialize` command"
    for command in commands:
        assert_materialises(PROJECT_ROOT / command[0], command[1:], env)


def assert_materialises(dagster: Path, arguments: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(dagster), *arguments],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "RUN_SUCCESS" in output
