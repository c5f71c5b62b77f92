"""SIGKILL under HTTP load, restart on the same data dir: every acknowledged order survives."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.realtime.api.load import LoadGenerator, check_acknowledged_orders_survived
from tests.realtime.api.support import (
    HTTP_TIMEOUT,
    copy_config,
    kill_server,
    running_server,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.slow

KILL_AFTER_ACKS = 150


def test_sigkill_mid_stream_then_restart_keeps_every_acknowledged_order_once(
    tmp_path: Path,
) -> None:
    config_dir = copy_config(tmp_path / "config")
    data_dir = tmp_path / "data"
    server = start_server(data_dir, config_dir, tmp_path / "first.log")
    try:
        with httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT) as client:
            load = LoadGenerator(server.base_url, client)
        with load:
            deadline = time.monotonic() + 20
            while load.result.count < KILL_AFTER_ACKS and time.monotonic() < deadline:
                time.sleep(0.01)
            # The workers are still sending: the kill lands mid-stream.
            assert kill_server(server) == -signal.SIGKILL
    finally:
        stop_server(server)

    result = load.result
    assert result.count >= KILL_AFTER_ACKS, f"only {result.count} orders acknowledged"
    assert not result.server_errors, result.server_errors[:5]
    assert not result.violations, result.violations[:5]
    assert result.statuses[202] > 0  # cancels were part of the stream

    with (
        running_server(data_dir, config_dir, tmp_path / "second.log") as restarted,
        httpx.Client(base_url=restarted.base_url, timeout=HTTP_TIMEOUT) as client,
    ):
        check_acknowledged_orders_survived(client, result)
