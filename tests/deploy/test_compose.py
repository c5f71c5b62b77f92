"""deploy/: the compose file, the Dockerfile and dagster.yaml agree with each other and
with the code, checked by reading them (no Docker engine here: nothing is built or run).

What this cannot show: that the images pull and build, that the health checks pass in
their containers, that the daemon reaches the Docker socket and a run container joins
the network and mounts the data volume. Those need `docker compose up`.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from assets.validation.load_target import load_target
from orchestration.settings import PROJECT_ROOT, Settings
from orchestration.validation_settings import ValidationSettings
from realtime.settings import ServiceSettings

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
INSTANCE = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
WORKSPACE = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
SERVICES: dict[str, Any] = COMPOSE["services"]
# The services that load deploy/dagster.yaml (the run containers do too, see below).
DAGSTER_SERVICES = ("code-server", "webserver", "daemon")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")
SETTING_NAME = re.compile(r"\"(TRADEPIPE_[A-Z0-9_]+)\"")


def interpolate(text: str) -> str:
    """Compose's ${VAR:-default} / ${VAR:?message} with nothing exported: the default,
    or a stand-in for a variable the operator must set."""

    def value(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        return rest if kind == "-" else f"required-{name.lower()}"

    return INTERPOLATION.sub(value, text.replace("$$", "$"))


def environment(service: str) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in SERVICES[service].get("environment", {}).items()}


def declared_settings() -> set[str]:
    """Every TRADEPIPE_* name the code reads (a string literal in the packages)."""
    names: set[str] = set()
    for package in ("realtime", "orchestration", "assets", "feature_repo"):
        for source in (PROJECT_ROOT / package).rglob("*.py"):
            names.update(SETTING_NAME.findall(source.read_text()))
    return names


def instance_env_names(node: object) -> Iterator[str]:
    if isinstance(node, Mapping):
        if set(node) == {"env"}:
            yield node["env"]
        for value in node.values():
            yield from instance_env_names(value)
    elif isinstance(node, list):
        for value in node:
            yield from instance_env_names(value)


def configurable_classes(node: object) -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        if "module" in node and "class" in node:
            yield node["module"], node["class"]
        for value in node.values():
            yield from configurable_classes(value)


def named_volume(mount: str) -> str | None:
    source = mount.split(":", 1)[0]
    return None if source.startswith(("/", ".", "~")) else source


def test_compose_when_read_then_every_component_of_the_production_path_is_a_service() -> None:
    assert set(SERVICES) == {
        "postgres",
        "questdb",
        "redis",
        "realtime",
        "code-server",
        "webserver",
        "daemon",
    }


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_service_when_read_then_it_restarts_and_has_a_health_check(service: str) -> None:
    spec = SERVICES[service]

    assert spec["restart"] == "unless-stopped"
    assert spec["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}
    assert spec["networks"] == ["tradepipe"]


def test_compose_when_read_then_every_dependency_is_a_service_and_waits_on_a_health_check() -> None:
    for name, spec in SERVICES.items():
        for target, condition in spec.get("depends_on", {}).items():
            assert target in SERVICES, f"{name} depends on unknown {target}"
            assert condition["condition"] == "service_healthy"
            assert "healthcheck" in SERVICES[target]
    # Trading starts whatever else is down.
    assert "depends_on" not in SERVICES["realtime"]


def test_compose_when_read_then_every_named_volume_and_network_is_declared() -> None:
    declared = set(COMPOSE["volumes"])
    used = {
        volume
        for spec in SERVICES.values()
        for mount in spec.get("volumes", [])
        if (volume := named_volume(mount)) is not None
    }

    assert used <= declared
    assert declared - used == set(), "declared but unused volumes"
    assert {n for spec in SERVICES.values() for n in spec["networks"]} == set(COMPOSE["networks"])


def test_compose_and_dagster_yaml_when_read_then_run_containers_join_the_network_and_volume() -> (
    None
):
    launcher = INSTANCE["run_launcher"]["config"]
    network_name = COMPOSE["networks"]["tradepipe"]["name"]
    (mount,) = launcher["container_kwargs"]["volumes"]
    volume, target = mount.split(":")

    assert launcher["network"] == {"env": "DAGSTER_RUN_NETWORK"}
    assert environment("daemon")["DAGSTER_RUN_NETWORK"] == network_name
    assert COMPOSE["volumes"][volume]["name"] == volume  # not prefixed by the project name
    assert target == environment("daemon")["TRADEPIPE_DATA_DIR"]
    assert f"tradepipe-data:{target}" in SERVICES["realtime"]["volumes"]  # the journal


def test_dagster_yaml_when_read_then_every_variable_it_reads_is_set_wherever_it_is_loaded() -> None:
    needed = set(instance_env_names(INSTANCE))
    forwarded = set(INSTANCE["run_launcher"]["config"]["env_vars"])

    for service in DAGSTER_SERVICES:
        missing = needed - set(environment(service))
        assert not missing, f"{service} lacks {missing}"
    # A run worker loads the instance too, with what the daemon forwards...
    assert needed <= forwarded
    # ...and the daemon must have each forwarded variable (dagster-docker refuses a
    # missing one when it launches the run).
    assert forwarded <= set(environment("daemon"))


def test_dagster_yaml_when_read_then_every_class_it_names_imports() -> None:
    classes = list(configurable_classes(INSTANCE))

    assert {c for _, c in classes} >= {
        "QueuedRunCoordinator",
        "DagsterDaemonScheduler",
        "DockerRunLauncher",
    }
    for module, name in classes:
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_service_when_read_then_every_tradepipe_variable_is_a_declared_setting(
    service: str,
) -> None:
    names = {n for n in environment(service) if n.startswith("TRADEPIPE_")}

    assert names <= declared_settings(), names - declared_settings()


def test_compose_when_values_are_parsed_by_the_code_then_every_setting_is_valid() -> None:
    realtime = ServiceSettings.from_env(environment("realtime"))
    assert (realtime.host, realtime.port) == ("0.0.0.0", 8000)
    assert realtime.hot_cache_url == "redis://redis:6379/0"
    assert realtime.journal_path == Path("/opt/tradepipe/data/journal.db")
    for service in DAGSTER_SERVICES:
        batch = Settings.from_env(environment(service))
        assert batch.warehouse_url.startswith("questdb://questdb:9000?")
        assert batch.journal_path == realtime.journal_path  # the runs read its journal
        # the validation load may go to the service compose names, and only to it
        validation = ValidationSettings.from_env(environment(service))
        assert validation.load_hosts == frozenset({"realtime"})
        assert load_target(validation.api_url, validation.load_hosts) == ("realtime", 8000)


def test_workspace_when_read_then_it_points_at_the_code_server_as_compose_starts_it() -> None:
    (entry,) = WORKSPACE["load_from"]
    command = SERVICES["code-server"]["command"]

    assert entry["grpc_server"]["host"] == "code-server"
    assert str(entry["grpc_server"]["port"]) == command[command.index("-p") + 1]
    assert command[command.index("--location-name") + 1] == entry["grpc_server"]["location_name"]
    for service in ("webserver", "daemon"):
        cmd = SERVICES[service]["command"]
        assert (PROJECT_ROOT / cmd[cmd.index("-w") + 1]).resolve() == DEPLOY / "workspace.yaml"


@pytest.mark.parametrize("service", ["realtime", "code-server"])
def test_compose_command_when_it_names_a_module_then_the_module_exists(service: str) -> None:
    command = SERVICES[service]["command"]

    module = command[command.index("-m") + 1]
    assert importlib.util.find_spec(module) is not None, module


def test_dockerfile_when_read_then_it_builds_from_the_lock_and_exposes_every_service_port() -> None:
    copies = re.findall(r"^COPY (.+) \S+$", DOCKERFILE, flags=re.MULTILINE)
    sources = {s for line in copies for s in line.split()} - {"."}
    exposed = set(re.search(r"^EXPOSE (.+)$", DOCKERFILE, flags=re.MULTILINE)[1].split())  # type: ignore[index]
    published = {
        port.rsplit(":", 1)[1]
        for name in ("realtime", "webserver")
        for port in SERVICES[name].get("ports", [])
    }
    code_server = SERVICES["code-server"]["command"]

    assert all((PROJECT_ROOT / s).is_file() for s in sources), sources
    assert "uv sync --frozen --no-dev" in DOCKERFILE
    assert "cp deploy/dagster.yaml" in DOCKERFILE
    assert published | {code_server[code_server.index("-p") + 1]} <= exposed
    assert re.search(r'^CMD \["python", "-m", "realtime.server"\]$', DOCKERFILE, re.MULTILINE)
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "data", ".git"} <= set(ignored)
    for name in ("realtime", "code-server", "webserver", "daemon"):
        assert SERVICES[name]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
