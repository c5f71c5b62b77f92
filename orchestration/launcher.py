"""`make run`: the whole platform on one machine, stopped together.

Checks first that its ports are free, then starts the realtime service, and
`dagster dev` (webserver and daemon, so schedules and sensors run) as soon as the
service has accepted its settings and config files and holds its port: Dagster's
start, loading every asset module, is the longest part of the launch, so it runs
while the service opens its journal. Once what answers on the API port is that
child (`realtime.service_process`) the demo trading client starts. Each child has
its own process group. It says "up" only once every part answers: the service,
the demo client still running, the Dagster webserver with its code location loaded
and its daemons beating (`wait_for_dagster`). A child that exits during the launch
stops it, and the others, with that child's error (for the service, its own
one-line messages and exit status, which the launcher exits with too).

Once up, it serves a control endpoint on loopback (`realtime.service_control`; its
address in `DataLayout.launcher_control`) through which the resilience suite, in a
Dagster run process, has it restart the realtime service (`serve_control`): the one
child it restarts, and only when asked (a child that exits on its own still stops the
launch).

Ctrl-C or SIGTERM stops every process it started, in an order that leaves no
queued or running Dagster run behind (`stop_in_order`): each group gets SIGTERM,
and SIGKILL if it is still there after a grace period. Logs go to data/logs/,
rotated by size (`realtime.logs`). `dagster dev` is started
from here rather than with `&` from a shell because, backgrounded by a
non-interactive shell, it ignores SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

import httpx

from realtime.config_errors import ConfigError
from realtime.layout import PROJECT_ROOT, DataLayout, resolve
from realtime.logs import rotating_file_handler
from realtime.server import ExitStatus
from realtime.service_control import ControlServer, Request
from realtime.service_process import (
    NotOurInstance,
    ServiceExited,
    ServiceProcess,
    port_is_free,
    start_service,
)
from realtime.settings import EnvReader, whole_number

if TYPE_CHECKING:
    import dagster as dg

ROOT = PROJECT_ROOT
# dagster dev loads the code location (every asset module) before the webserver answers.
DAGSTER_START_S = 180.0
SERVICE_START_S = 60.0

_WRITTEN_BY_US = "# Written by the launcher"
DAGSTER_YAML = f"""\
{_WRITTEN_BY_US} for local runs: SQLite storage under this folder.
# Production uses deploy/dagster.yaml (Postgres storage, Docker run launcher).
telemetry:
  enabled: false
# No first-open newsletter modal over the UI.
nux:
  enabled: false
# One asset at a time writes the warehouse: the assets that write it share the
# duckdb_warehouse pool, and a DuckDB file has one writer. One run more than the free
# slots may start and wait for a slot in its step, so a shipping run asked for while an
# inbox run holds the pool starts its process (about 6 s) meanwhile, not after it.
concurrency:
  pools:
    default_limit: 1
    op_granularity_run_buffer: 1
# The run queue is read every second, not every five: a run the shipping sensor asks
# for starts that much sooner (the first data after start-up above all).
run_queue:
  dequeue_interval_seconds: 1
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
    # Our own file is brought up to date; one a person wrote is theirs.
    if not config.exists() or (
        config.read_text().startswith(_WRITTEN_BY_US) and config.read_text() != DAGSTER_YAML
    ):
        config.write_text(DAGSTER_YAML)
    return home


def start(name: str, argv: Sequence[str], env: dict[str, str], log: Path | None) -> Child:
    """Start a child in its own process group; its output goes to `log` if given (Dagster's
    run logs would bury the console), through a pipe into a file rotated by size."""
    process = subprocess.Popen(
        list(argv),
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if log is not None else None,
        stderr=subprocess.STDOUT if log is not None else None,
    )
    if log is not None:
        assert process.stdout is not None
        threading.Thread(
            target=copy_rotating, args=(process.stdout, log), name=f"{name}-log", daemon=True
        ).start()
    return Child(name, process)


def copy_rotating(stream: IO[bytes], path: Path, **rotation: int) -> None:
    """Copy a child's output into `path` line by line, rotating it by size (the same
    rule as the service's own log file: `realtime.logs`; `rotation`: its limits)."""
    handler = rotating_file_handler(path, **rotation)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            handler.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))
    finally:
        handler.close()


# What "Dagster is up" means: the webserver answers, the code location has loaded, and
# every daemon it needs (the sensor daemon above all: it starts the shipping) beats.
READINESS_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } }
}
"""


class LocationLoadError(Exception):
    pass


def dagster_not_ready(answer: dict[str, Any]) -> str | None:
    """What is still missing, from the readiness query's answer; None: ready.
    Raises LocationLoadError when the code location failed to load (no point waiting)."""
    data = answer.get("data") or {}
    workspace = data.get("workspaceOrError") or {}
    entries = workspace.get("locationEntries")
    if not entries:
        return "the code location is not listed yet"
    for entry in entries:
        location = entry.get("locationOrLoadError") or {}
        if location.get("__typename") == "PythonError":
            raise LocationLoadError(f"code location {entry['name']}: {location.get('message')}")
        if entry.get("loadStatus") != "LOADED" or location.get("__typename") is None:
            return f"code location {entry['name']} is loading"
    statuses = (data.get("instance") or {}).get("daemonHealth", {}).get("allDaemonStatuses", [])
    waiting = sorted(s["daemonType"] for s in statuses if s["required"] and not s["healthy"])
    if not statuses:
        return "no daemon has reported yet"
    if waiting:
        return f"daemons not running yet: {', '.join(waiting)}"
    return None


def wait_for_dagster(url: str, dagster: Child, others: list[Child], timeout_s: float) -> None:
    """Until the webserver answers, its code location is loaded and its daemons beat; the
    port was free before `dagster` started, so an answer while it is alive is its own.
    Raises ChildExited, LocationLoadError or TimeoutError."""
    deadline = time.monotonic() + timeout_s
    missing = "the webserver does not answer yet"
    while True:
        for child in [dagster, *others]:
            if (code := child.process.poll()) is not None:
                raise ChildExited(child, code)
        try:
            response = httpx.post(url, json={"query": READINESS_QUERY}, timeout=2.0)
            if response.status_code == 200:
                still = dagster_not_ready(response.json())
                if still is None:
                    return
                missing = still
        except (httpx.TransportError, ValueError):
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Dagster at {url} was not ready within {timeout_s} s: {missing}")
        time.sleep(0.25)


@dataclass
class Dagster:
    child: Child
    log: Path
    log_offset: int  # where this launch's output starts in the (appended) log


def start_dagster(python: str, port: int, env: dict[str, str], logs: Path) -> Dagster:
    """`dagster dev` (webserver and daemon), its output into logs/dagster.log."""
    log = logs / "dagster.log"
    offset = log.stat().st_size if log.exists() else 0
    argv = [
        str(Path(python).with_name("dagster")),
        "dev",
        "-w",
        str(ROOT / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "--log-level",
        "info",
    ]
    return Dagster(start("dagster", argv, env, log), log, offset)


def wait_for_service(wait: Callable[[float], None], logs: Path) -> int | None:
    """Run one of the service's waits; None when it passed, else the launcher's exit
    status, having said why (for an early exit, the service's own lines and status)."""
    try:
        wait(SERVICE_START_S)
    except ServiceExited as exc:
        say(str(exc))
        say(f"(log: {logs / 'realtime.out'}, {logs / 'realtime.log'})")
        return exc.status if exc.status > 0 else 1
    except (NotOurInstance, TimeoutError) as exc:
        say(str(exc))
        return 1
    return None


def serve_control(
    request: Request,
    service: ServiceProcess,
    children: list[Child],
    env: dict[str, str],
    logs: Path,
    port: int,
) -> ServiceProcess:
    """Answer one control request (`realtime.service_control`); the service now.

    A restart stops the service (SIGTERM: it drains its venue queue and flushes its
    journal), starts it again with the same environment, data and port, and answers
    once it is ready. A service that does not come back is answered 503 with its own
    error, and (having exited) stops the launch as any child's exit does."""
    if request.kind == "status":
        request.answer(200, {"instance": service.instance_id, "url": service.url})
        return service
    say("restarting the realtime service (asked through the control endpoint)")
    started = time.monotonic()
    service.stop()
    service = start_service(env, logs / "realtime.out", port=port, own_group=True)
    children[:] = [
        Child("realtime", service.process) if c.name == "realtime" else c for c in children
    ]
    try:
        service.wait_ready(request.timeout_s)
    except (ServiceExited, NotOurInstance, TimeoutError) as exc:
        say(f"the restarted realtime service did not come back: {exc}")
        request.answer(503, {"error": f"the restarted service did not come back: {exc}"})
        return service
    took = time.monotonic() - started
    say(f"realtime service restarted in {took:.1f} s (instance {service.instance_id})")
    request.answer(
        200, {"instance": service.instance_id, "url": service.url, "restart_s": round(took, 3)}
    )
    return service


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


# The order that leaves no run behind: the demo first (no new orders), then the service
# (the journal stops growing, so the sensor asks for nothing new), then Dagster once its
# runs are done, and last whatever else.
STOP_ORDER = ("demo", "realtime", "dagster")
RUNS_DRAIN_S = 30.0


def stop_in_order(children: list[Child], home: Path | None, *, drain: bool = True) -> None:
    """Stop the children in STOP_ORDER; before Dagster, let its active runs finish
    (up to RUNS_DRAIN_S; `drain=False` when Dagster never came up, whose instance may
    still be creating its storage), and after it, close whatever run it left
    (`close_leftover_runs`)."""
    rank = {name: i for i, name in enumerate(STOP_ORDER)}
    for child in sorted(children, key=lambda c: rank.get(c.name, len(rank))):
        if child.name == "dagster" and home is not None and drain and child.process.poll() is None:
            try:
                if not wait_for_runs_to_finish(home, RUNS_DRAIN_S):
                    say(f"runs still active after {RUNS_DRAIN_S:.0f} s; stopping Dagster anyway")
            except Exception as exc:  # stopping must go on
                say(f"could not wait for Dagster's runs: {exc}")
        stop_all([child])
        if child.name == "dagster" and home is not None:
            try:
                for line in close_leftover_runs(home):
                    say(line)
            except Exception as exc:  # stopping must go on; say what was left
                say(f"could not check Dagster's runs after stopping it: {exc}")


def _instance(home: Path) -> dg.DagsterInstance:
    import dagster as dg  # only when stopping: importing dagster takes seconds

    return dg.DagsterInstance.from_config(str(home))


def wait_for_runs_to_finish(home: Path, timeout_s: float) -> bool:
    from orchestration.sensors import ACTIVE_STATUSES

    with _instance(home) as instance:
        deadline = time.monotonic() + timeout_s
        while instance.get_runs_count(_runs_filter(ACTIVE_STATUSES)):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)
    return True


def _runs_filter(statuses: Sequence[Any]) -> Any:
    import dagster as dg

    return dg.RunsFilter(statuses=list(statuses))


def close_leftover_runs(home: Path) -> list[str]:
    """Runs Dagster left unfinished when it stopped: a queued run is canceled (it never
    started), a started one failed (its worker is gone). One line per run."""
    import dagster as dg

    from orchestration.sensors import ACTIVE_STATUSES

    lines = []
    with _instance(home) as instance:
        for run in instance.get_runs(_runs_filter(ACTIVE_STATUSES)):
            if run.status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED):
                instance.report_run_canceled(run, message="tradepipe stopped before it started")
                lines.append(f"canceled queued run {run.run_id} of {run.job_name}")
            else:
                instance.report_run_failed(run, message="tradepipe stopped while it ran")
                lines.append(f"marked run {run.run_id} of {run.job_name} failed (stopped)")
    return lines


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
        "TRADEPIPE_LOG_FILE": str(logs / "realtime.log"),
    }
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    children: list[Child] = []
    python = sys.executable
    dagster_up = False
    control: ControlServer | None = None
    try:
        # The service writes (and rotates) realtime.log itself; its stdout, where only
        # its start-up line and a crash's last words go, is realtime.out.
        service = start_service(env, logs / "realtime.out", port=args.api_port, own_group=True)
        children.append(Child("realtime", service.process))
        # Dagster's start (its code location loads every asset module) is the longest part
        # of the launch: it starts as soon as the service has accepted its settings and
        # config and holds its port, and loads while the service opens its journal.
        if (failed := wait_for_service(service.wait_announced, logs)) is not None:
            return failed
        dagster = None if args.no_dagster else start_dagster(python, args.dagster_port, env, logs)
        if dagster is not None:
            children.append(dagster.child)
        if (failed := wait_for_service(service.wait_ready, logs)) is not None:
            return failed
        if not args.no_demo:
            children.append(
                start("demo", [python, "-m", "realtime.demo_client", "--url", api], env, None)
            )
        if dagster is not None:
            try:
                wait_for_dagster(
                    f"http://127.0.0.1:{args.dagster_port}/graphql",
                    dagster.child,
                    [c for c in children if c is not dagster.child],
                    DAGSTER_START_S,
                )
                dagster_up = True
            except ChildExited as exc:
                say(f"{exc}; stopping")
                if exc.child is dagster.child:
                    say(f"the end of {dagster.log}:\n{tail(dagster.log, dagster.log_offset)}")
                return exc.code if exc.code > 0 else 1
            except (TimeoutError, LocationLoadError) as exc:
                say(f"{exc}; stopping (see {dagster.log})")
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
            f"    logs          {logs}/realtime.log, {logs}/dagster.log (rotated by size)\n"
            "  Ctrl-C stops everything.\n",
            flush=True,
        )
        # Only now: a restart asked for during the launch would race it.
        control = ControlServer(layout.launcher_control)
        control.start()
        while True:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    say(f"{child.name} exited with {code}; stopping")
                    return 1 if child.name != "demo" or code != 0 else 0
            try:
                request = control.requests.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                service = serve_control(request, service, children, env, logs, args.api_port)
            except BaseException as exc:
                # Ctrl-C, SIGTERM or an unexpected error mid-restart: the caller is told
                # now rather than left waiting for its deadline, and the launch stops.
                if not request.done.is_set():
                    request.answer(503, {"error": f"the launcher stopped mid-restart: {exc!r}"})
                raise
    except Stop:
        say("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if control is not None:
            control.close()
        home = None if args.no_dagster else Path(env["DAGSTER_HOME"])
        stop_in_order(children, home, drain=dagster_up)


if __name__ == "__main__":
    sys.exit(main())
