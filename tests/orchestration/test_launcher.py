"""`make run`'s launcher brings the realtime service and the Dagster webserver up, and
stops every process it started."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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


@pytest.mark.slow
def test_launcher_when_started_then_api_and_dagster_answer_and_sigterm_stops_everything(
    tmp_path: Path,
) -> None:
    api_port, dagster_port = free_port(), free_port()
    env = {**os.environ, "TRADEPIPE_DATA_DIR": str(tmp_path / "data")}
    env.pop("DAGSTER_HOME", None)
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestration.launcher",
            "--api-port",
            str(api_port),
            "--dagster-port",
            str(dagster_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        wait_until_answers(f"http://127.0.0.1:{api_port}/ready", launcher, 60)
        wait_until_answers(f"http://127.0.0.1:{dagster_port}/server_info", launcher, 150)
        started = descendants(launcher.pid)
        assert len(started) >= 3  # service, dagster dev (and its children), demo client
        assert (tmp_path / "data" / "dagster_home" / "dagster.yaml").exists()
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in started if alive(pid)], "a child outlived the launcher"
    finally:
        for pid in started | {launcher.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        launcher.wait(timeout=10)


def run_launcher(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TRADEPIPE_")}
    environment.pop("DAGSTER_HOME", None)
    environment.update(TRADEPIPE_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "orchestration.launcher", *args],
        cwd=ROOT,
        env=environment,
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
