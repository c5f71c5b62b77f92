"""Start the realtime service for a benchmark: a free loopback port, a fresh data
directory, limits that valid benchmark orders never hit; stopped on exit."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

BENCH_LIMITS = """
restricted_symbols = []

[default]
max_order_quantity = 10_000
max_order_notional = 100_000_000.0
max_position = 1_000_000_000
max_gross_exposure = 1e15
starting_cash = 1e15
max_leverage = 4.0
max_orders_per_second = 1e9
order_burst = 1_000_000_000
price_collar_pct = 10.0
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise TimeoutError(f"service at {url} not ready after {timeout_s} s")


@contextmanager
def running_service(
    server: str = "uvicorn", extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """Yield the base URL of a fresh service; stop it (SIGTERM, then SIGKILL) on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="tradepipe-bench-"))
    config = workdir / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "limits.toml").write_text(BENCH_LIMITS)
    port = free_port()
    env = {
        **os.environ,
        "TRADEPIPE_DATA_DIR": str(workdir / "data"),
        "TRADEPIPE_CONFIG_DIR": str(config),
        "TRADEPIPE_PORT": str(port),
        "TRADEPIPE_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "realtime.server", "--server", server, "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "server.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
