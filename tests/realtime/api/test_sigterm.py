"""Graceful shutdown: SIGTERM under HTTP load exits promptly, and nothing acknowledged is lost."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.realtime.api.load import LoadGenerator, LoadResult, check_acknowledged_orders_survived
from tests.realtime.api.support import (
    HTTP_TIMEOUT,
    Server,
    copy_config,
    running_server,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.slow

TERM_AFTER_ACKS = 60
EXIT_WITHIN_S = 5.0


@dataclass
class Shutdown:
    returncode: int | None  # None: it did not exit within EXIT_WITHIN_S
    seconds: float
    load: LoadResult
    log: str
    restarted: Server


@pytest.fixture(scope="module")
def shutdown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shutdown]:
    """Run the scenario once: load, SIGTERM mid-stream, wait for the exit, restart."""
    base = tmp_path_factory.mktemp("sigterm")
    config_dir = copy_config(base / "config")
    server = start_server(base / "data", config_dir, base / "first.log")
    try:
        with httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT) as client:
            load = LoadGenerator(server.base_url, client)
        with load:
            deadline = time.monotonic() + 20
            while load.result.count < TERM_AFTER_ACKS and time.monotonic() < deadline:
                time.sleep(0.01)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            try:
                returncode: int | None = server.process.wait(EXIT_WITHIN_S)
            except subprocess.TimeoutExpired:
                returncode = None
            seconds = time.monotonic() - started
    finally:
        stop_server(server)
    with running_server(base / "data", config_dir, base / "second.log") as restarted:
        yield Shutdown(returncode, seconds, load.result, server.log_text(), restarted)


def test_sigterm_under_load_then_exits_within_seconds_after_a_clean_shutdown(
    shutdown: Shutdown,
) -> None:
    assert shutdown.returncode is not None, f"still running {EXIT_WITHIN_S} s after SIGTERM"
    assert shutdown.seconds < EXIT_WITHIN_S
    assert "Application shutdown complete" in shutdown.log
    assert '"msg":"engine stopped"' in shutdown.log
    assert shutdown.load.count >= TERM_AFTER_ACKS
    assert not shutdown.load.server_errors, shutdown.load.server_errors[:5]
    assert not shutdown.load.violations, shutdown.load.violations[:5]


def test_sigterm_under_load_then_restart_keeps_every_acknowledged_order_once(
    shutdown: Shutdown,
) -> None:
    with httpx.Client(base_url=shutdown.restarted.base_url, timeout=HTTP_TIMEOUT) as client:
        check_acknowledged_orders_survived(client, shutdown.load)


def test_sigterm_then_exit_code_zero(shutdown: Shutdown) -> None:
    assert shutdown.returncode == 0
