"""Start-up of the real server process: a failure exits non-zero with one line saying why,
a taken port is refused before the journal is touched, and a started server says who it is."""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from realtime.layout import PROJECT_ROOT
from realtime.server import ExitStatus
from realtime.service_process import (
    NotOurInstance,
    ServiceExited,
    ServiceProcess,
    clean_env,
    free_port,
    running_service,
    start_service,
)

pytestmark = pytest.mark.slow


def service_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = clean_env()
    return {**env, "TRADEPIPE_DATA_DIR": str(data_dir), "TRADEPIPE_ACCESS_LOG": "0", **extra}


def test_start_when_journal_is_not_a_journal_then_exit_70_with_one_line_and_file_untouched(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    damaged = b"not a journal, a truncated copy of one " * 100
    (data / "journal.db").write_bytes(damaged)

    service = start_service(service_env(data), tmp_path / "server.log")
    with pytest.raises(ServiceExited) as excinfo:
        service.wait_ready(30)

    assert excinfo.value.status == ExitStatus.START_FAILED == 70
    [line] = excinfo.value.errors
    assert line.startswith("tradepipe-realtime: start-up failed: JournalCorruptError: ")
    assert str(data / "journal.db") in line
    assert "Traceback" not in service.output()
    assert (data / "journal.db").read_bytes() == damaged


def foreign_database(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE users(name TEXT)")
        db.commit()


@pytest.mark.parametrize(
    ("make", "error", "says"),
    [
        (Path.touch, "JournalCorruptError", "is empty (0 bytes)"),
        (foreign_database, "JournalSchemaError", "not a tradepipe journal"),
    ],
    ids=["zero-byte", "another-sqlite-database"],
)
def test_start_when_journal_is_empty_or_foreign_then_exit_70_with_one_line_and_file_untouched(
    tmp_path: Path, make: Callable[[Path], None], error: str, says: str
) -> None:
    """A zero-byte journal.db was started on as a new journal: 0 orders, no warning."""
    data = tmp_path / "data"
    data.mkdir()
    make(data / "journal.db")
    before = (data / "journal.db").read_bytes()

    service = start_service(service_env(data), tmp_path / "server.log")
    try:
        with pytest.raises(ServiceExited) as excinfo:
            service.wait_ready(30)
    finally:
        service.stop()  # a no-op once it has exited; stops it if it (wrongly) started

    assert excinfo.value.status == ExitStatus.START_FAILED == 70
    [line] = excinfo.value.errors
    assert line.startswith(f"tradepipe-realtime: start-up failed: {error}: ")
    assert says in line and str(data / "journal.db") in line
    assert "Traceback" not in service.output()
    assert (data / "journal.db").read_bytes() == before


def test_start_when_port_taken_then_exit_69_before_the_journal_is_created(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        service = start_service(service_env(tmp_path / "data"), tmp_path / "server.log", port=port)
        with pytest.raises(ServiceExited) as excinfo:
            service.wait_ready(30)

    assert excinfo.value.status == ExitStatus.ADDRESS_UNAVAILABLE == 69
    [line] = excinfo.value.errors
    assert line.startswith(f"tradepipe-realtime: cannot listen on 127.0.0.1:{port}: ")
    assert "in use" in line
    assert not (tmp_path / "data" / "journal.db").exists()


def test_start_when_ready_then_health_answers_the_announced_instance_and_inboxes_exist(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with running_service(service_env(data), tmp_path / "server.log") as service:
        health = httpx.get(f"{service.url}/health").json()
        announced = service.output().splitlines()[0]

    assert health == {"status": "ok", "instance": service.instance_id}
    assert announced.startswith(
        f"tradepipe-realtime: instance {service.instance_id} listening on {service.url} "
    )
    assert (data / "inbox" / "ticks").is_dir() and (data / "inbox" / "alt").is_dir()
    assert service.process.returncode == 0  # SIGTERM: a clean stop


def test_wait_ready_when_another_instance_answers_on_the_childs_port_then_not_our_instance(
    tmp_path: Path,
) -> None:
    """The launcher's old failure: its child could not bind, and another tradepipe answered
    the readiness probe. Here the 'child' is a process that says it listens on a port a
    real service of another instance holds."""
    with running_service(service_env(tmp_path / "other"), tmp_path / "other.log") as other:
        log = tmp_path / "child.log"
        log.write_text(f"tradepipe-realtime: instance mine listening on {other.url} (pid 1)\n")
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        impostor = ServiceProcess(child, "mine", log, 0, own_group=False)
        try:
            with pytest.raises(NotOurInstance, match=f"instance '{other.instance_id}'"):
                impostor.wait_ready(10)
        finally:
            impostor.stop()


def test_start_when_sigterm_during_start_up_then_exits_cleanly(tmp_path: Path) -> None:
    """A stop requested before the app is up is still a clean, zero exit."""
    env = service_env(tmp_path / "data")
    process = subprocess.Popen(
        [sys.executable, "-m", "realtime.server", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None
    process.stdout.readline()  # the announcement: the socket is bound, the app is starting
    process.terminate()
    assert process.wait(30) == 0
