"""deploy/dagster.yaml and deploy/workspace.yaml: the production instance as Dagster loads it.

What needs a Docker engine (a run launched into a container) cannot run here; every
class the file names is still resolved and configured by Dagster's own loader.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
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

from assets.resources import DuckDBWarehouse, Inbox
from assets.sinks.assets import SINK_ASSETS
from orchestration.definitions import build_definitions
from orchestration.settings import PROJECT_ROOT, Settings
from realtime.layout import DataLayout
from realtime.service_process import free_port
from tests.assets.journals import write_engine_journal

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
    env_vars = config["run_launcher"]["config"]["env_vars"]
    assert "TRADEPIPE_WAREHOUSE" in env_vars
    # Every layout variable reaches a run worker, so a run sees the service's layout.
    assert set(DataLayout.under(Path("/data")).env()) <= set(env_vars)
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


# --- the production instance file, whole, on a real Postgres, across processes -----------

READER = """
import json, sys
import dagster as dg
from dagster._core.scheduler.instigation import InstigatorType

instance = dg.DagsterInstance.get()
assets = sys.argv[1].split(",")
print(json.dumps({
    "storage": type(instance.run_storage).__name__,
    "runs": [[r.run_id, r.job_name, r.status.value] for r in instance.get_runs()],
    "materialised_by": {
        a: instance.get_latest_materialization_event(dg.AssetKey(a)).run_id for a in assets
    },
    "schedules": {
        s.name: s.status.value
        for s in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE)
    },
}))
"""


def dagster_env(home: Path, data: Path, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEPIPE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        DAGSTER_PG_HOST="127.0.0.1",
        DAGSTER_PG_PORT="5432",
        DAGSTER_PG_USER="postgres",
        DAGSTER_PG_PASSWORD="",
        DAGSTER_PG_DB=database,
        DAGSTER_RUN_NETWORK="tradepipe",
        TRADEPIPE_DATA_DIR=str(data),
    )
    return env


DAGSTER = str(Path(sys.executable).parent / "dagster")
LOCATION = ("-m", "orchestration.definitions", "--location-name", "tradepipe")


@contextlib.contextmanager
def code_server(env: dict[str, str], log: Path) -> Iterator[int]:
    """`dagster code-server start`, as deploy/compose.yaml runs it, on a free port."""
    dagster = DAGSTER
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(dagster), "code-server", "start", "-h", "127.0.0.1", "-p", str(port), *LOCATION],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:  # the health check compose uses, until the code has loaded
            check = subprocess.run(
                [str(dagster), "api", "grpc-health-check", "-p", str(port)],
                env=env,
                capture_output=True,
                check=False,
            )
            if check.returncode == 0:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"code server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.postgres
@pytest.mark.slow
def test_deploy_instance_when_on_postgres_then_another_process_sees_the_shipping_run_and_schedules(
    scratch_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, data = tmp_path / "dagster_home", tmp_path / "data"
    home.mkdir()
    shutil.copy(DEPLOY_YAML, home / "dagster.yaml")  # the production file, unchanged
    data.mkdir()
    write_engine_journal(data / "journal.db")
    env = dagster_env(home, data, scratch_database)
    for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_DB"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")
    monkeypatch.setenv("DAGSTER_RUN_NETWORK", "tradepipe")

    # This process: a run of the shipping job (in-process: a container needs Docker).
    defs = build_definitions(Settings.for_data_dir(data))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_launcher, DockerRunLauncher)
        result = defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance)
    assert result.success

    # A second process, through the gRPC code server: turn a schedule off.
    with code_server(env, tmp_path / "code_server.log") as port:
        grpc = ("--grpc-host", "127.0.0.1", "--grpc-port", str(port))
        stopped = subprocess.run(
            [DAGSTER, "schedule", "stop", "execution_quality_job_schedule", *grpc],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    # A third process reads the instance back.
    shipped = ["orders", "fills", "quotes", "trades", "risk_control_changes"]
    read = subprocess.run(
        [sys.executable, "-c", READER, ",".join(shipped)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(read.stdout.strip().splitlines()[-1])

    assert seen["storage"] == "PostgresRunStorage"
    assert seen["runs"] == [[result.run_id, "warehouse_job", "SUCCESS"]]
    assert seen["materialised_by"] == dict.fromkeys(shipped, result.run_id)
    assert seen["schedules"]["execution_quality_job_schedule"] == "STOPPED"
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={scratch_database}") as con:
        (events,) = con.execute(  # type: ignore[misc]
            "SELECT count(*) FROM event_logs WHERE run_id = %s", (result.run_id,)
        ).fetchone()
        schedules = con.execute(
            "SELECT status FROM instigators WHERE instigator_type = 'SCHEDULE'"
            " AND instigator_body LIKE '%execution_quality_job_schedule%'"
        ).fetchall()
    assert events > 10
    assert schedules == [("STOPPED",)]
