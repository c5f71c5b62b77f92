"""`make run`: the whole platform on one machine, stopped together.

Starts the realtime service, `dagster dev` (webserver and daemon, so schedules
and sensors run) and the demo trading client, each in its own process group.
Ctrl-C or SIGTERM stops every process it started: each group gets SIGTERM,
and SIGKILL if it is still there after a grace period. `dagster dev` is started
from here rather than with `&` from a shell because, backgrounded by a
non-interactive shell, it ignores SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

ROOT = Path(__file__).resolve().parents[1]

DAGSTER_YAML = """\
# Written by the launcher for local runs: SQLite storage under this folder.
# Production uses deploy/dagster.yaml (Postgres storage, Docker run launcher).
telemetry:
  enabled: false
# One asset at a time writes the warehouse: the assets that write it share the
# duckdb_warehouse pool, and a DuckDB file has one writer.
concurrency:
  pools:
    default_limit: 1
"""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def dagster_home(data_dir: Path) -> Path:
    """DAGSTER_HOME under the data directory, with a dagster.yaml so Dagster does not warn."""
    home = Path(os.environ.get("DAGSTER_HOME", data_dir / "dagster_home")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home


def start(name: str, argv: Sequence[str], env: dict[str, str], log: Path | None) -> Child:
    """Start a child in its own process group; its output goes to `log` if given (the
    service's JSON access log and Dagster's run logs would bury the console)."""
    output = log.open("ab") if log is not None else None
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
        )
    finally:
        if output is not None:
            output.close()  # the child holds its own copy of the descriptor
    return Child(name, process)


def wait_for(url: str, children: list[Child], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(c.process.poll() is not None for c in children):
            return False
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    return False


def stop_all(children: list[Child], grace_s: float = 15.0) -> None:
    for child in reversed(children):
        if child.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for child in reversed(children):
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            print(f"launcher: {child.name} did not stop in time; killing it", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


class Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("TRADEPIPE_PORT", 8000)))
    parser.add_argument("--dagster-port", type=int, default=3000)
    parser.add_argument("--no-demo", action="store_true", help="do not start the demo client")
    parser.add_argument("--no-dagster", action="store_true", help="only the realtime service")
    args = parser.parse_args(argv)

    data_dir = Path(os.environ.get("TRADEPIPE_DATA_DIR", ROOT / "data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    api = f"http://127.0.0.1:{args.api_port}"
    env = {
        **os.environ,
        "TRADEPIPE_DATA_DIR": str(data_dir),
        "TRADEPIPE_PORT": str(args.api_port),
        "DAGSTER_HOME": str(dagster_home(data_dir)),
    }
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    children: list[Child] = []
    python = sys.executable
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    try:
        children.append(
            start("realtime", [python, "-m", "realtime.server"], env, logs / "realtime.log")
        )
        if not wait_for(f"{api}/ready", children, 60):
            print("launcher: the realtime service did not become ready", flush=True)
            return 1
        if not args.no_dagster:
            dagster = str(Path(python).with_name("dagster"))
            children.append(
                start(
                    "dagster",
                    [
                        dagster,
                        "dev",
                        "-w",
                        str(ROOT / "workspace.yaml"),
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(args.dagster_port),
                    ],
                    env,
                    logs / "dagster.log",
                )
            )
        if not args.no_demo:
            children.append(
                start("demo", [python, "-m", "realtime.demo_client", "--url", api], env, None)
            )
        print(
            "\n  tradepipe is up\n"
            f"    trading API   {api}/docs\n"
            "                  (demo keys: alice-demo-key, bob-demo-key; admin: ops-demo-key)\n"
            f"    tickers       {api}/tickers\n"
            f"    metrics       {api}/metrics\n"
            + (
                f"    Dagster UI    http://127.0.0.1:{args.dagster_port}\n"
                if not args.no_dagster
                else ""
            )
            + f"    data          {data_dir}\n"
            f"    logs          {logs}/realtime.log, {logs}/dagster.log\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while True:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    print(f"launcher: {child.name} exited with {code}; stopping", flush=True)
                    return 1 if child.name != "demo" or code != 0 else 0
            time.sleep(0.5)
    except Stop:
        print("launcher: stopping", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)


if __name__ == "__main__":
    sys.exit(main())
