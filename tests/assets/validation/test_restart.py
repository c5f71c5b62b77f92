"""The restart check against a platform the launcher started: the launcher restarts the
realtime service through its control endpoint and the check finds everything recovered;
with the journal taken away from under the service, the restarted service has lost the
probe's order and the check fails naming it. Without a launcher: a WARN-level skip."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from assets.resources import DuckDBWarehouse, JournalSource
from assets.validation.catalogue import Suite
from assets.validation.platform import Platform
from assets.validation.report import SuiteRun, render_html, render_markdown
from assets.validation.results import Verdict, verdict
from assets.validation.suites.restart import restart_recovers
from orchestration.launcher_process import launcher_argv, launcher_env
from realtime.layout import PROJECT_ROOT, DataLayout
from realtime.service_control import ControlError, ControlServer, LauncherControl
from realtime.service_process import free_port
from tests.assets.validation.support import config


@dataclass
class Launched:
    process: subprocess.Popen[bytes]
    layout: DataLayout
    api_url: str
    console: Path

    def platform(self, tmp: Path) -> Platform:
        return Platform(
            api_url=self.api_url,
            journal=JournalSource(path=str(self.layout.journal_path)),
            warehouse=DuckDBWarehouse(path=str(tmp / "unused.duckdb")),
            launcher_control=self.layout.launcher_control,
        )

    def instance(self) -> str:
        return str(httpx.get(f"{self.api_url}/health", timeout=5).json()["instance"])


def _wait_up(launched: Launched, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not (
        "tradepipe is up" in launched.console.read_text(errors="replace")
        and launched.layout.launcher_control.exists()
    ):
        assert launched.process.poll() is None, launched.console.read_text()
        assert time.monotonic() < deadline, launched.console.read_text()
        time.sleep(0.1)


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[Launched]:
    """`python -m orchestration.launcher` with the realtime service only (no Dagster, no
    demo): what owns the service process in `make run`."""
    port = free_port()
    console = tmp_path / "console.txt"
    with console.open("wb") as out:
        process = subprocess.Popen(
            launcher_argv("--no-dagster", "--no-demo", "--api-port", str(port)),
            cwd=PROJECT_ROOT, env=launcher_env(tmp_path / "data"), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    running = Launched(
        process, DataLayout.under(tmp_path / "data"), f"http://127.0.0.1:{port}", console
    )
    try:
        _wait_up(running, 90)
        yield running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.mark.slow
def test_restart_when_launcher_started_the_platform_then_it_restarts_and_nothing_is_lost(
    launched: Launched, tmp_path: Path
) -> None:
    first = launched.instance()
    platform = launched.platform(tmp_path)
    try:
        found = restart_recovers(platform, config())
    finally:
        platform.close()

    assert found.passed and found.exercised, found.detail
    assert found.detail.startswith("restarted by the launcher: all ")
    assert found.extra["orders"] >= 1
    assert found.extra["journal_head_after"] >= found.extra["journal_head_before"] > 0
    # it really was restarted, by the launcher, which is still up with the new service
    assert launched.instance() != first
    assert launched.process.poll() is None
    assert "realtime service restarted in" in launched.console.read_text()
    assert LauncherControl.find(launched.layout.launcher_control) is not None


@pytest.mark.slow
def test_validate_command_when_launcher_started_then_its_resilience_run_restarts_the_service(
    launched: Launched,
) -> None:
    """The way the schedules run it: the resilience suite in another process (here
    `python -m orchestration.validate`, a Dagster run in its own process), which finds
    the launcher from the data directory alone."""
    first = launched.instance()
    env = launcher_env(launched.layout.data_dir, TRADEPIPE_VALIDATION_API_URL=launched.api_url)
    answer = subprocess.run(
        [sys.executable, "-m", "orchestration.validate", "--suites", "resilience"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert answer.returncode in (0, 1, 3), answer.stdout + answer.stderr[-3000:]
    stored = json.loads(
        (launched.layout.data_dir / "validation" / "results" / "resilience.json").read_text()
    )
    (restart,) = [r for r in stored["results"] if r["name"] == "resilience_restart_recovers"]
    assert restart["passed"] and restart["exercised"], restart["detail"]
    assert launched.instance() != first
    assert launched.process.poll() is None


@pytest.mark.slow
def test_restart_when_the_restarted_service_lost_its_journal_then_fails_naming_the_order(
    launched: Launched, tmp_path: Path
) -> None:
    # The fault: the journal moved aside while the service runs (it keeps writing the
    # files it has open), so the service the launcher starts again opens a fresh one.
    aside = tmp_path / "aside"
    aside.mkdir()
    journal = launched.layout.journal_path
    for path in journal.parent.glob(journal.name + "*"):
        path.rename(aside / path.name)
    platform = launched.platform(tmp_path)
    try:
        found = restart_recovers(platform, config())
    finally:
        platform.close()

    assert not found.passed and found.exercised and found.severity == "ERROR"
    assert f"order {found.extra['probe_order']} (FILLED) is gone" in found.detail
    assert "journal committed seq was" in found.detail
    assert verdict([found]) is Verdict.FAIL


def test_restart_when_not_started_by_the_launcher_then_a_warn_skip_shown_in_the_report(
    tmp_path: Path,
) -> None:
    platform = Platform(
        api_url=f"http://127.0.0.1:{free_port()}",
        journal=JournalSource(path=str(tmp_path / "journal.db")),
        warehouse=DuckDBWarehouse(path=str(tmp_path / "unused.duckdb")),
        launcher_control=DataLayout.under(tmp_path).launcher_control,  # no file there
    )
    strict = config()
    assert strict["resilience_restart_recovers"].severity == "ERROR"

    found = restart_recovers(platform, strict)

    assert found.detail == "not applicable: not started by the launcher"
    assert not found.exercised and found.severity == "WARN"
    assert verdict([found]) is Verdict.PASS  # a skip is counted by no verdict ...
    run = SuiteRun(Suite.RESILIENCE, "run-1", "2026-12-04T00:00:00+00:00", [found])
    when = pd.Timestamp("2026-12-04", tz="UTC")
    markdown = render_markdown("run-1", when, Verdict.PASS, [run], tmp_path)
    # ... and never shown as a pass: listed above the table, SKIP in it
    assert (
        "- SKIP (WARN) resilience_restart_recovers: not applicable: not started by the "
        "launcher" in markdown
    )
    assert "| resilience_restart_recovers | WARN | SKIP |" in markdown
    assert "<tr class='skip'>" in render_html("run-1", when, Verdict.PASS, [run], tmp_path)


def test_control_when_token_wrong_or_launcher_gone_then_refused_or_not_found(
    tmp_path: Path,
) -> None:
    path = tmp_path / "launcher.json"
    server = ControlServer(path)
    server.start()
    try:
        assert path.stat().st_mode & 0o777 == 0o600  # the token is the launcher's user's
        found = LauncherControl.find(path)
        assert found is not None and found.url.startswith("http://127.0.0.1:")
        wrong = LauncherControl(found.url, "not-the-token", found.pid)
        with pytest.raises(ControlError, match="answered 401: missing or wrong token"):
            wrong.status()
        for body, says in [
            ({"timeout_s": 0}, "timeout_s must be"),
            ({"timeout_s": True}, "timeout_s must be"),  # JSON true is not seconds
            ([1, 2], "must be a JSON object"),
            ("30", "must be a JSON object"),
        ]:
            bad = httpx.post(
                f"{found.url}/service/restart",
                headers={"Authorization": f"Bearer {found.token}"},
                json=body,
            )
            assert bad.status_code == 400 and says in bad.json()["error"], body
        huge = httpx.post(
            f"{found.url}/service/restart",
            headers={"Authorization": f"Bearer {found.token}"},
            content=b"[" * 5000 + b"]" * 5000,  # nested past the JSON parser's depth, too
        )
        assert huge.status_code == 413 and "bytes" in huge.json()["error"]
        assert server.requests.empty()  # none of them reached the launcher
    finally:
        server.close()
    assert not path.exists()  # removed when the launcher stops
    # a file left by a launcher that was killed: its pid is gone, so no launcher
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path.write_text(json.dumps({"url": "http://127.0.0.1:1", "token": "t", "pid": dead.pid}))
    assert LauncherControl.find(path) is None
    # a live pid (this one) but nothing listening: the file is stale all the same
    path.write_text(json.dumps({"url": f"http://127.0.0.1:{free_port()}", "token": "t",
                                "pid": os.getpid()}))  # fmt: skip
    platform = Platform(
        api_url=f"http://127.0.0.1:{free_port()}",
        journal=JournalSource(path=str(tmp_path / "journal.db")),
        warehouse=DuckDBWarehouse(path=str(tmp_path / "unused.duckdb")),
        launcher_control=path,
    )
    found = restart_recovers(platform, config())
    assert not found.exercised and found.severity == "WARN"
    assert found.detail.startswith("not applicable: not started by the launcher (stale ")
    path.write_text("{not json")
    with pytest.raises(ControlError, match="not a launcher control file"):
        LauncherControl.find(path)
