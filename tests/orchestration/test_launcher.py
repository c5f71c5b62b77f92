"""`make run`'s launcher brings the realtime service and the Dagster webserver up, and
stops every process it started."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import dagster as dg
import httpx
import pytest

from orchestration.launcher import (
    DAGSTER_YAML,
    READINESS_QUERY,
    LocationLoadError,
    close_leftover_runs,
    copy_rotating,
    dagster_home,
    dagster_not_ready,
)
from orchestration.launcher_process import (
    first_data_run,
    launcher_argv,
    launcher_env,
    start_launcher,
)
from orchestration.sensors import ACTIVE_STATUSES
from realtime.layout import DataLayout
from realtime.server import ExitStatus
from realtime.service_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children of children too), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until_answers(url: str, launcher: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert launcher.poll() is None, "the launcher exited early"
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def wait_for_line(
    path: Path, text: str, launcher: subprocess.Popen[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        assert launcher.poll() is None, f"the launcher exited early:\n{path.read_text()}"
        time.sleep(0.25)
    raise AssertionError(f"{text!r} not printed within {timeout_s} s:\n{path.read_text()}")


def first_shipping_run(home: Path, launcher: subprocess.Popen[bytes], timeout_s: float) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            record = first_data_run(instance)
            if record is not None and record.dagster_run.status == dg.DagsterRunStatus.SUCCESS:
                return
            assert launcher.poll() is None, "the launcher exited early"
            time.sleep(0.5)
    raise AssertionError(f"no warehouse_job run succeeded within {timeout_s} s")


@pytest.mark.slow
def test_launcher_when_started_then_up_means_every_part_answers_and_sigterm_leaves_no_run(
    tmp_path: Path,
) -> None:
    api_port, dagster_port = free_port(), free_port()
    home = tmp_path / "data" / "dagster_home"
    console = tmp_path / "console.txt"
    launcher = start_launcher(
        tmp_path / "data", console, api_port=api_port, dagster_port=dagster_port
    )
    started: set[int] = set()
    try:
        launched = time.monotonic()
        wait_for_line(console, "tradepipe is up", launcher, 240)
        up_after = time.monotonic() - launched
        # "up" means every part answers, at that moment, not soon after.
        assert httpx.get(f"http://127.0.0.1:{api_port}/ready", timeout=5).status_code == 200
        answer = httpx.post(
            f"http://127.0.0.1:{dagster_port}/graphql",
            json={"query": READINESS_QUERY},
            timeout=10,
        ).json()
        assert dagster_not_ready(answer) is None
        assert "enabled: false" in (home / "dagster.yaml").read_text().split("nux:")[1]
        # Every inbox the README names exists from the start, before any file arrives.
        inbox = tmp_path / "data" / "inbox"
        assert (inbox / "ticks").is_dir() and (inbox / "alt").is_dir()
        # The sensor ships the demo's first events without waiting for a schedule.
        first_shipping_run(home, launcher, 60)
        first_data_after = time.monotonic() - launched
        print(f"up after {up_after:.1f} s, first shipped data after {first_data_after:.1f} s")
        started = descendants(launcher.pid)
        assert len(started) >= 3  # service, dagster dev (and its children), demo client
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=90) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in started if alive(pid)], "a child outlived the launcher"
        with dg.DagsterInstance.from_config(str(home)) as instance:
            left = instance.get_runs(dg.RunsFilter(statuses=list(ACTIVE_STATUSES)))
        assert [(r.run_id, r.status) for r in left] == []
        logs = tmp_path / "data" / "logs"
        assert (logs / "realtime.log").read_text().startswith("{")  # the service's JSON lines
        # Dagster's console at INFO: its daemons and the run's events, no DEBUG step lines.
        dagster_log = (logs / "dagster.log").read_text()
        assert " - INFO - " in dagster_log
        assert " - DEBUG - " not in dagster_log
    finally:
        for pid in started | {launcher.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        launcher.wait(timeout=10)


def test_dagster_readiness_when_location_loading_or_daemon_missing_then_not_ready() -> None:
    loaded = {"name": "tradepipe", "loadStatus": "LOADED"}
    location = {"locationOrLoadError": {"__typename": "RepositoryLocation"}}
    daemons = [{"daemonType": "SENSOR", "required": True, "healthy": True}]

    def answer(entries: list[dict[str, object]], statuses: list[dict[str, object]]) -> dict:
        return {
            "data": {
                "workspaceOrError": {"__typename": "Workspace", "locationEntries": entries},
                "instance": {"daemonHealth": {"allDaemonStatuses": statuses}},
            }
        }

    loading = {"name": "tradepipe", "loadStatus": "LOADING", "locationOrLoadError": None}
    assert dagster_not_ready(answer([loading], daemons)) == "code location tradepipe is loading"
    unhealthy = [{"daemonType": "SENSOR", "required": True, "healthy": False}]
    assert dagster_not_ready(answer([{**loaded, **location}], unhealthy)) == (
        "daemons not running yet: SENSOR"
    )
    assert dagster_not_ready(answer([{**loaded, **location}], daemons)) is None
    broken = {**loaded, "locationOrLoadError": {"__typename": "PythonError", "message": "boom"}}
    with pytest.raises(LocationLoadError, match="boom"):
        dagster_not_ready(answer([broken], daemons))


def test_close_leftover_runs_when_dagster_stopped_then_queued_canceled_and_started_failed(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for status in (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTED):
            instance.add_run(
                dg.DagsterRun(job_name="warehouse_job", run_id=str(uuid.uuid4()), status=status)
            )

    lines = close_leftover_runs(home)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        statuses = sorted(r.status.value for r in instance.get_runs())
    assert statuses == ["CANCELED", "FAILURE"]
    assert len(lines) == 2


def test_dagster_home_when_ours_then_brought_up_to_date_and_a_persons_file_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    layout = DataLayout.under(tmp_path / "data")
    layout.dagster_home.mkdir(parents=True)
    config = layout.dagster_home / "dagster.yaml"
    config.write_text("# Written by the launcher, an older version\ntelemetry:\n  enabled: false\n")

    dagster_home(layout)
    assert config.read_text() == DAGSTER_YAML

    config.write_text("# mine\nnux:\n  enabled: true\n")
    dagster_home(layout)
    assert config.read_text() == "# mine\nnux:\n  enabled: true\n"


def run_launcher(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        launcher_argv(*args),
        cwd=ROOT,
        env=launcher_env(tmp_path / "data", **env),
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )


@pytest.mark.slow
def test_launcher_when_the_dagster_port_is_taken_then_it_starts_nothing_and_exits_69(
    tmp_path: Path,
) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        result = run_launcher(
            tmp_path, "--api-port", str(free_port()), "--dagster-port", str(taken)
        )

    assert result.returncode == ExitStatus.ADDRESS_UNAVAILABLE
    assert f"launcher: port {taken} (dagster) is already in use" in result.stdout
    assert not (tmp_path / "data" / "logs").exists()  # no child was started
    assert not (tmp_path / "data" / "journal.db").exists()


@pytest.mark.slow
def test_launcher_when_the_service_refuses_its_config_then_the_launch_stops_with_its_error(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    with (config / "limits.toml").open("a") as limits:
        limits.write("\n[accounts.carol]\nmax_position = 5\n")

    result = run_launcher(
        tmp_path,
        "--api-port",
        str(free_port()),
        "--dagster-port",
        str(free_port()),
        TRADEPIPE_CONFIG_DIR=str(config),
    )

    assert result.returncode == ExitStatus.BAD_CONFIG
    assert "launcher: the realtime service exited with status 78 (BAD_CONFIG)" in result.stdout
    assert (
        f"tradepipe-realtime: config error: {config / 'limits.toml'}: [accounts.carol]: "
        "unknown account 'carol'"
    ) in result.stdout
    assert "tradepipe is up" not in result.stdout
    assert not (tmp_path / "data" / "logs" / "dagster.log").exists()  # Dagster never started


def processes_using(data_dir: Path) -> list[int]:
    """Live processes started with this data directory (the launcher gives every child
    TRADEPIPE_DATA_DIR, absolute), from /proc: children that outlived their launcher."""
    marker = f"TRADEPIPE_DATA_DIR={data_dir}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                if marker in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_launcher_when_the_journal_is_refused_after_dagster_started_then_exit_70_and_all_stop(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "journal.db").write_bytes(b"not a journal, a truncated copy of one " * 100)

    result = run_launcher(
        tmp_path, "--api-port", str(free_port()), "--dagster-port", str(free_port())
    )

    assert result.returncode == ExitStatus.START_FAILED
    assert "launcher: the realtime service exited with status 70 (START_FAILED)" in result.stdout
    assert "tradepipe-realtime: start-up failed: " in result.stdout
    assert str(data / "journal.db") in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "tradepipe is up" not in result.stdout
    # Dagster was started once the service had accepted its config (it loads while the
    # journal opens), and was stopped with the rest.
    assert (data / "logs" / "dagster.log").exists()
    assert processes_using(data) == []


def test_copy_rotating_when_a_child_writes_past_the_size_then_its_log_rolls_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "logs" / "dagster.log"
    path.parent.mkdir()
    output = b"".join(f"line {i} of Dagster's output, padded\n".encode() for i in range(300))

    copy_rotating(io.BytesIO(output), path, max_bytes=2_000, backups=2)

    assert sorted(p.name for p in path.parent.iterdir()) == [
        "dagster.log",
        "dagster.log.1",
        "dagster.log.2",
    ]
    assert all(p.stat().st_size <= 2_000 for p in path.parent.iterdir())
    assert path.read_text().splitlines()[-1] == "line 299 of Dagster's output, padded"
