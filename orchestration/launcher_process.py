"""`make run`'s launcher as a child process, for what watches it from outside.

The start-up benchmark (`bench/startup.py`) and the launcher's tests
(`tests/orchestration/test_launcher.py`) start it the same way: this interpreter,
`python -m orchestration.launcher` from the project root, in a session of its own (so
its whole process group can be signalled), with an environment that holds no
`TRADEPIPE_*` setting or `DAGSTER_HOME` of the caller's but the given data folder; and
they both wait for the first `warehouse_job` run, the first data in the warehouse.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from realtime.layout import PROJECT_ROOT
from realtime.service_process import clean_env

if TYPE_CHECKING:
    import dagster as dg

FIRST_DATA_JOB: Final = "warehouse_job"  # what the journal sensor asks for first


def launcher_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The caller's environment without its tradepipe or Dagster settings, with the
    data folder (and `settings`) of this launch."""
    env = clean_env()
    env.pop("DAGSTER_HOME", None)
    env["TRADEPIPE_DATA_DIR"] = str(data_dir)
    env.update(settings)
    return env


def launcher_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "orchestration.launcher", *args]


def start_launcher(
    data_dir: Path, console: Path, *, api_port: int, dagster_port: int
) -> subprocess.Popen[bytes]:
    """The launcher on these ports, its output (and its children's) into `console`."""
    with console.open("wb") as output:
        return subprocess.Popen(
            launcher_argv("--api-port", str(api_port), "--dagster-port", str(dagster_port)),
            cwd=PROJECT_ROOT,
            env=launcher_env(data_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def first_data_run(instance: dg.DagsterInstance) -> dg.RunRecord | None:
    """The first `warehouse_job` run's record (None: not asked for yet)."""
    import dagster as dg

    records = instance.get_run_records(
        dg.RunsFilter(job_name=FIRST_DATA_JOB), limit=1, ascending=True
    )
    return records[0] if records else None
