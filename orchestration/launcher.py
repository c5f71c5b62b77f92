"""`make run`: the whole platform on one machine, stopped together.

Checks first that its ports are free, then starts the realtime service (and
waits until what answers on the API port is that child: `realtime.service_process`),
the demo trading client and `dagster dev` (webserver and daemon, so schedules and
sensors run), each in its own process group, and says "up" once the Dagster UI
answers. A child that exits during the launch stops it with that child's error
(for the service, its own one-line messages and exit status, which the launcher
exits with too).

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

from realtime.config_errors import ConfigError
from realtime.layout import PROJECT_ROOT, DataLayout, resolve
from realtime.server import ExitStatus
from realtime.service_process import NotOurInstance, ServiceExited, port_is_free, start_service
from realtime.settings import EnvReader, whole_number

ROOT = PROJECT_ROOT
# dagster dev loads the code location (every asset module) before the webserver answers.
DAGSTER_START_S = 180.0

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


def dagster_home(layout: DataLayout) -> Path:
    """DAGSTER_HOME (default under the data directory), with a dagster.yaml so Dagster
    does not warn."""
    configured = os.environ.get("DAGSTER_HOME", "").strip()
    home = resolve(configured) if configured else layout.dagster_home
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


def wait_for_dagster(url: str, dagster: Child, others: list[Child], timeout_s: float) -> None:
    """Until the webserver answers; the port was free before `dagster` started, so an
    answer while it is alive is its own. Raises ChildExited or TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while True:
        for child in [dagster, *others]:
            if (code := child.process.poll()) is not None:
                raise ChildExited(child, code)
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the Dagster webserver did not answer {url} within {timeout_s} s")
        time.sleep(0.25)


class ChildExited(Exception):
    def __init__(self, child: Child, code: int) -> None:
        super().__init__(f"{child.name} exited with status {code}")
        self.child, self.code = child, code


def busy_ports(ports: dict[str, int]) -> list[str]:
    """What is wrong, one line per port something already listens on."""
    return [
        f"port {port} ({what}) is already in use: stop whatever listens there "
        f"(another tradepipe?) or choose another with --{what}-port"
        for what, port in ports.items()
        if not port_is_free("127.0.0.1", port)
    ]


def tail(path: Path, offset: int, lines: int = 15) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


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


def say(message: str) -> None:
    print(f"launcher: {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-port", type=int, help="default 8000, or TRADEPIPE_PORT")
    parser.add_argument("--dagster-port", type=int, default=3000)
    parser.add_argument("--no-demo", action="store_true", help="do not start the demo client")
    parser.add_argument("--no-dagster", action="store_true", help="only the realtime service")
    args = parser.parse_args(argv)

    layout = DataLayout.from_env()
    try:
        if args.api_port is None:
            reader = EnvReader(os.environ)
            args.api_port = reader.get("TRADEPIPE_PORT", 8000, whole_number(1, 65_535))
            reader.raise_if_bad()
        layout.create()
    except ConfigError as exc:
        for line in exc.lines():
            say(f"config error: {line}")
        return ExitStatus.BAD_CONFIG
    ports = (
        {"api": args.api_port}
        if args.no_dagster
        else {"api": args.api_port, "dagster": args.dagster_port}
    )
    # Checked before anything starts: a second launch must not half-start next to the first.
    if busy := busy_ports(ports):
        for line in busy:
            say(line)
        return ExitStatus.ADDRESS_UNAVAILABLE
    api = f"http://127.0.0.1:{args.api_port}"
    logs = layout.logs_dir
    logs.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **layout.env(),  # absolute paths: every child sees exactly this layout
        "TRADEPIPE_PORT": str(args.api_port),
        "DAGSTER_HOME": str(dagster_home(layout)),
    }
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    children: list[Child] = []
    python = sys.executable
    try:
        service = start_service(env, logs / "realtime.log", port=args.api_port, own_group=True)
        children.append(Child("realtime", service.process))
        try:
            service.wait_ready(60)
        except ServiceExited as exc:
            say(str(exc))
            say(f"(log: {logs / 'realtime.log'})")
            return exc.status if exc.status > 0 else 1
        except (NotOurInstance, TimeoutError) as exc:
            say(str(exc))
            return 1
        if not args.no_demo:
            children.append(
                start("demo", [python, "-m", "realtime.demo_client", "--url", api], env, None)
            )
        if not args.no_dagster:
            dagster_log = logs / "dagster.log"
            dagster_offset = dagster_log.stat().st_size if dagster_log.exists() else 0
            dagster = start(
                "dagster",
                [
                    str(Path(python).with_name("dagster")),
                    "dev",
                    "-w",
                    str(ROOT / "workspace.yaml"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(args.dagster_port),
                ],
                env,
                dagster_log,
            )
            children.append(dagster)
            try:
                wait_for_dagster(
                    f"http://127.0.0.1:{args.dagster_port}/server_info",
                    dagster,
                    [c for c in children if c is not dagster],
                    DAGSTER_START_S,
                )
            except ChildExited as exc:
                say(f"{exc}; stopping")
                if exc.child is dagster:
                    say(f"the end of {dagster_log}:\n{tail(dagster_log, dagster_offset)}")
                return exc.code if exc.code > 0 else 1
            except TimeoutError as exc:
                say(f"{exc}; stopping (see {dagster_log})")
                return 1
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
            + f"    data          {layout.data_dir}\n"
            f"    logs          {logs}/realtime.log, {logs}/dagster.log\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while True:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    say(f"{child.name} exited with {code}; stopping")
                    return 1 if child.name != "demo" or code != 0 else 0
            time.sleep(0.5)
    except Stop:
        say("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(children)


if __name__ == "__main__":
    sys.exit(main())
