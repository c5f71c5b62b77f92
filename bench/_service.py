"""Start the realtime service for a benchmark: any free loopback port, a fresh data
directory, limits that valid benchmark orders never hit; stopped on exit.

Starting, waiting and stopping are `realtime.service_process`, shared with the
launcher and the API tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from realtime.layout import PROJECT_ROOT
from realtime.service_process import free_port
from realtime.service_process import running_service as _running_service

__all__ = ["BENCH_LIMITS", "free_port", "running_service"]

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


@contextmanager
def running_service(
    server: str = "uvicorn", extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """Yield the base URL of a fresh service; stop it (SIGTERM, then SIGKILL) on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="tradepipe-bench-"))
    config = workdir / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    (config / "limits.toml").write_text(BENCH_LIMITS)
    env = {
        **os.environ,  # a developer's TRADEPIPE_DURABILITY=FSYNC, say, applies to the run
        "TRADEPIPE_DATA_DIR": str(workdir / "data"),
        "TRADEPIPE_CONFIG_DIR": str(config),
        "TRADEPIPE_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    try:
        with _running_service(env, workdir / "server.log", server=server) as service:
            yield service.url
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
