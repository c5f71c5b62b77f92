"""Start-up of `make run`: `python -m bench.startup [--repeat 3]`.

Runs the launcher (`orchestration.launcher`, what `make run` runs) on free ports and
a fresh data directory, and times, from the moment it is started: the service
answering `/health`, the Dagster webserver answering with its code location loaded
and daemons beating, the launcher printing "up", and the first `warehouse_job` run
(asked for by the journal sensor) being created, started and finished, which is
when the first data is in the warehouse. Then it stops the launcher with SIGTERM,
as Ctrl-C would, and waits for it. Each figure is the median of `--repeat`
launches, with the spread (max - min).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._stats import emit
from orchestration.launcher import READINESS_QUERY, LocationLoadError, dagster_not_ready
from orchestration.launcher_process import first_data_run, start_launcher
from realtime.service_process import free_port

MILESTONES = (
    "service_ready",
    "dagster_ready",
    "up_printed",
    "first_run_created",
    "first_run_launched",
    "first_run_started",
    "first_step_started",
    "first_data",
)
# From the first run's event log: when the run queue handed it to the run launcher
# (the code server then starts a fresh Python process for it), and when its first
# step began.
RUN_EVENTS = {"RUN_STARTING": "first_run_launched", "STEP_START": "first_step_started"}
# (by DagsterEventType name: some of their values are the older PIPELINE_* spellings)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def _dagster_ready(url: str) -> bool:
    try:
        response = httpx.post(url, json={"query": READINESS_QUERY}, timeout=1.0)
        return response.status_code == 200 and dagster_not_ready(response.json()) is None
    except (httpx.TransportError, ValueError, LocationLoadError):
        return False


def launch_once(timeout_s: float) -> dict[str, float]:
    """One launch; seconds from the launcher's start to each milestone."""
    import dagster as dg  # imported before the clock starts: the bench's own cost

    api_port, dagster_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="tradepipe-startup-") as folder:
        data = Path(folder) / "data"
        home = data / "dagster_home"
        console = Path(folder) / "console.txt"
        seen: dict[str, float] = {}
        instance = None
        started, wall_start = time.monotonic(), time.time()
        launcher = start_launcher(data, console, api_port=api_port, dagster_port=dagster_port)
        try:
            deadline = started + timeout_s
            while "first_data" not in seen:
                now = time.monotonic()
                if now >= deadline:
                    raise TimeoutError(f"not done in {timeout_s} s: {seen}\n{console.read_text()}")
                if launcher.poll() is not None:
                    raise RuntimeError(f"the launcher exited early:\n{console.read_text()}")
                if "service_ready" not in seen and _answers(f"http://127.0.0.1:{api_port}/health"):
                    seen["service_ready"] = now - started
                if "dagster_ready" not in seen and _dagster_ready(
                    f"http://127.0.0.1:{dagster_port}/graphql"
                ):
                    seen["dagster_ready"] = now - started
                if "up_printed" not in seen and "tradepipe is up" in console.read_text():
                    seen["up_printed"] = now - started
                if instance is None and "dagster_ready" in seen:  # its storage exists
                    instance = dg.DagsterInstance.from_config(str(home))
                record = first_data_run(instance) if instance is not None else None
                if record is not None:
                    # The instance's own timestamps (wall clock), so polling adds no error.
                    seen.setdefault("first_run_created", record.create_timestamp.timestamp())
                    run = record.dagster_run
                    if record.start_time is not None:
                        seen["first_run_started"] = record.start_time
                    if run.status == dg.DagsterRunStatus.SUCCESS and record.end_time is not None:
                        seen["first_data"] = record.end_time
                    elif run.is_finished:
                        raise RuntimeError(f"the first warehouse_job run ended {run.status}")
                time.sleep(0.2)
            assert instance is not None and record is not None
            for entry in instance.all_logs(record.dagster_run.run_id):
                event = entry.dagster_event
                if event is not None and event.event_type.name in RUN_EVENTS:
                    seen.setdefault(RUN_EVENTS[event.event_type.name], entry.timestamp)
            for key in ("first_run_created", *RUN_EVENTS.values(), "first_run_started"):
                seen[key] = seen[key] - wall_start
            seen["first_data"] -= wall_start
        finally:
            if instance is not None:
                instance.dispose()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(launcher.pid, signal.SIGTERM)
            try:
                launcher.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args()
    launches = []
    for i in range(args.repeat):
        seen = launch_once(args.timeout)
        launches.append(seen)
        print(f"launch {i + 1}: " + ", ".join(f"{k} {seen[k]:.1f} s" for k in MILESTONES))
    result: dict[str, Any] = {"bench": "startup", "repeat": args.repeat}
    for key in MILESTONES:
        values = [seen[key] for seen in launches]
        result[f"{key}_median_s"] = round(statistics.median(values), 1)
        result[f"{key}_spread_s"] = round(max(values) - min(values), 1)
        print(
            f"{key:>18}: median {statistics.median(values):5.1f} s, spread "
            f"{max(values) - min(values):4.1f} s"
        )
    emit(result)


if __name__ == "__main__":
    main()
