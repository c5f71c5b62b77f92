"""deploy/dagster.yaml and deploy/workspace.yaml: the production instance as Dagster loads it.

What needs a Docker engine (a run launched into a container) cannot run here; every
class the file names is still resolved and configured by Dagster's own loader.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.scheduler import DagsterDaemonScheduler
from dagster_docker import DockerRunLauncher

from assets.sinks.assets import SINK_ASSETS
from orchestration.resources import DuckDBWarehouse, Inbox
from orchestration.settings import PROJECT_ROOT

DEPLOY_YAML = PROJECT_ROOT / "deploy" / "dagster.yaml"
DEPLOY_WORKSPACE = PROJECT_ROOT / "deploy" / "workspace.yaml"
# Everything but storage: Dagster's instance_for_test gives its own SQLite storage.
NON_STORAGE_SECTIONS = ("run_coordinator", "scheduler", "run_launcher", "run_monitoring")


def test_deploy_yaml_when_read_then_postgres_storage_docker_launcher_and_one_run_per_job() -> None:
    config = yaml.safe_load(DEPLOY_YAML.read_text())

    postgres_db = dict(config["storage"]["postgres"]["postgres_db"])
    assert postgres_db.pop("scheme") == "postgresql+psycopg2"
    assert set(postgres_db) == {"hostname", "port", "username", "password", "db_name"}
    assert all("env" in v for v in postgres_db.values())  # credentials from the environment
    assert (config["run_launcher"]["module"], config["run_launcher"]["class"]) == (
        "dagster_docker",
        "DockerRunLauncher",
    )
    assert "TRADEPIPE_WAREHOUSE" in config["run_launcher"]["config"]["env_vars"]
    (limit,) = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert (limit["key"], limit["limit"]) == ("tradepipe/job", 1)
    assert config["concurrency"]["pools"]["default_limit"] == 1


def test_deploy_yaml_when_loaded_as_an_instance_then_runs_and_pools_are_limited() -> None:
    config = yaml.safe_load(DEPLOY_YAML.read_text())
    # Storage and launcher need Postgres and Docker; the concurrency section is checked
    # by Dagster's own instance validation.
    with dg.instance_for_test(overrides={"concurrency": config["concurrency"]}) as instance:
        concurrency = instance.get_concurrency_config()

    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.run_queue_config is not None
    assert concurrency.run_queue_config.max_concurrent_runs == 4


def test_deploy_yaml_when_loaded_then_queued_coordinator_daemon_scheduler_and_docker_launcher(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAGSTER_RUN_NETWORK", "tradepipe")
    config = yaml.safe_load(DEPLOY_YAML.read_text())
    overrides = {key: config[key] for key in (*NON_STORAGE_SECTIONS, "concurrency")}

    with dg.instance_for_test(overrides=overrides) as instance:
        launcher = instance.run_launcher
        coordinator = instance.run_coordinator
        scheduler = instance.scheduler
        monitoring = instance.run_monitoring_enabled

    assert isinstance(launcher, DockerRunLauncher)
    assert launcher.networks == ["tradepipe"]
    assert launcher.container_kwargs["volumes"] == ["tradepipe-data:/opt/tradepipe/data"]
    assert isinstance(coordinator, QueuedRunCoordinator)
    assert isinstance(scheduler, DagsterDaemonScheduler)
    assert monitoring


def test_deploy_workspace_when_read_then_one_grpc_code_server_location() -> None:
    workspace = yaml.safe_load(DEPLOY_WORKSPACE.read_text())

    (entry,) = workspace["load_from"]
    assert entry == {
        "grpc_server": {"host": "code-server", "port": 4000, "location_name": "tradepipe"}
    }


@pytest.fixture
def scratch_database() -> Iterator[str]:
    name = f"tradepipe_test_{uuid.uuid4().hex[:12]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


@pytest.mark.postgres
def test_deploy_storage_when_pointed_at_postgres_then_runs_are_recorded_there(
    scratch_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": scratch_database,
    }.items():
        monkeypatch.setenv(key, value)
    storage = yaml.safe_load(DEPLOY_YAML.read_text())["storage"]
    inbox = Inbox(ticks_dir=str(tmp_path / "ticks"), alt_dir=str(tmp_path / "alt"))

    with dg.instance_for_test(overrides={"storage": storage}) as instance:
        result = dg.materialize(
            SINK_ASSETS,
            resources={
                "warehouse": DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
                "inbox": inbox,
            },
            instance=instance,
        )
        runs = instance.get_runs()

    assert result.success
    assert [r.run_id for r in runs] == [result.run_id]
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={scratch_database}") as con:
        (stored,) = con.execute("SELECT count(*) FROM runs").fetchone()  # type: ignore[misc]
    assert stored == 1
