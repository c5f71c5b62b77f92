"""A running platform for the validation tests: the realtime service (a child process on
a free loopback port), a Dagster daemon on an instance of the launcher's dagster.yaml
(so its heartbeats are real), and shipping, the real `ship()` of the warehouse group,
run on demand or by a background thread while a probe waits for it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from assets.resources import DuckDBWarehouse, JournalSource
from assets.validation.config import (
    DEFAULT_PATH,
    ValidationConfig,
    parse_validation_config,
)
from assets.validation.platform import Platform
from assets.warehouse.projections import PROJECTIONS
from assets.warehouse.shipping import ship
from orchestration.launcher import DAGSTER_YAML
from realtime.feast_config import FeastLocation, features_dir
from realtime.feature_schema import CREATED_TS, EVENT_TS, SYMBOL_RISK
from realtime.layout import PROJECT_ROOT
from realtime.service_process import ServiceProcess, start_service


@dataclass
class Running:
    base: Path
    env: dict[str, str]
    service: ServiceProcess
    home: Path
    instance: dg.DagsterInstance
    features_at_ns: int = 0  # the stamp of the online feature rows the conftest wrote

    @property
    def journal(self) -> JournalSource:
        return JournalSource(path=str(self.base / "data" / "journal.db"))

    @property
    def warehouse_path(self) -> Path:
        return self.base / "data" / "warehouse.duckdb"

    def warehouse(self, path: Path | None = None) -> DuckDBWarehouse:
        return DuckDBWarehouse(path=str(path or self.warehouse_path))

    @property
    def features(self) -> FeastLocation:
        return FeastLocation(features_dir(self.base / "data"))

    def platform(
        self,
        *,
        url: str | None = None,
        warehouse: Path | None = None,
        features: FeastLocation | None = None,
    ) -> Platform:
        return Platform(
            api_url=url or self.service.url,
            journal=self.journal,
            warehouse=self.warehouse(warehouse),
            features=features or self.features,
        )

    def ship(self) -> None:
        warehouse = self.warehouse()
        try:
            ship(PROJECTIONS, self.journal, warehouse, run_id="test-shipping")
        finally:
            warehouse.close()

    @contextlib.contextmanager
    def shipping(self, every_s: float = 0.5) -> Iterator[None]:
        """Shipping in the background, as the platform's sensor would."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                with contextlib.suppress(Exception):  # a lock wait, retried next round
                    self.ship()
                stop.wait(every_s)

        thread = threading.Thread(target=loop, name="shipping", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(30)


def _changed(changes: dict[str, Any]) -> dict[str, Any]:
    """The shipped config/validation.toml with `table__field=value` changes
    (e.g. `checks__service_health_feed_lag__threshold=0.0`)."""
    document = tomllib.loads(DEFAULT_PATH.read_text())
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = document
        for part in path:
            node = node[part]
        node[last] = value
    return document


def config(**changes: Any) -> ValidationConfig:
    return parse_validation_config(_changed(changes), str(DEFAULT_PATH))


def write_config(path: Path, **changes: Any) -> Path:
    path.write_text(_dump(_changed(changes)))
    return path


def _dump(document: dict[str, Any], prefix: str = "") -> str:
    scalars = {k: v for k, v in document.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in document.items() if isinstance(v, dict)}
    out = [f"[{prefix}]"] if prefix and scalars else []
    for key, value in scalars.items():
        shown = f'"{value}"' if isinstance(value, str) else repr(value)
        out.append(f"{key} = {shown}")
    for key, value in tables.items():
        out.append(_dump(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(out) + "\n"


def write_online_features(location: FeastLocation, symbols: list[str], at_ns: int) -> None:
    """The registry applied (the real `feast apply` of feature_repo/) and one
    risk_features_v1 row per symbol, stamped `at_ns`, written to the online store: what
    features_job's last materialisation leaves, without its minutes of input."""
    import pandas as pd

    from assets.features.registry import apply_if_changed

    apply_if_changed(location)
    at = pd.Timestamp(at_ns, unit="ns", tz="UTC")
    values = {f.name: 1 if f.dtype == "int64" else 0.2 for f in SYMBOL_RISK.features}
    frame = pd.DataFrame({"symbol": symbols, EVENT_TS: at, CREATED_TS: at, **values})
    location.store().write_to_online_store(SYMBOL_RISK.name, frame)


def wait_for_heartbeats(instance: dg.DagsterInstance, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    required = set(instance.get_required_daemon_types())
    while not required <= set(instance.get_daemon_heartbeats()):
        if time.monotonic() > deadline:
            raise TimeoutError("the Dagster daemon wrote no heartbeats")
        time.sleep(0.5)


@contextlib.contextmanager
def running_platform(base: Path, extra_env: dict[str, str] | None = None) -> Iterator[Running]:
    data = base / "data"
    home = base / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    env = {
        **os.environ,
        "TRADEPIPE_DATA_DIR": str(data),
        "DAGSTER_HOME": str(home),
        **(extra_env or {}),
    }
    # Create the instance's SQLite storages before the daemon starts: two processes
    # creating them at once race on their schema tables.
    instance = dg.DagsterInstance.from_config(str(home))
    instance.get_runs(limit=1)
    instance.get_daemon_heartbeats()
    instance.all_instigator_state()
    service = start_service(env, base / "service.log")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "dagster._daemon", "run", "--empty-workspace"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=(base / "daemon.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        service.wait_ready(60)
        wait_for_heartbeats(instance)
        running = Running(base, env, service, home, instance)
        running.ship()
        yield running
    finally:
        service.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(10)
