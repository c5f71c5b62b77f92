"""`python -m orchestration.validate` against the started platform: its exit status for
PASS, CONDITIONAL and FAIL (thresholds moved around the measurements), the verdict
history in the warehouse, the report files, and the PASS -> FAIL alert."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from assets.validation.report import VERDICT_HISTORY
from orchestration.validate import ValidateExit
from orchestration.validation import validation_alert_job, validation_verdict_alert_sensor
from realtime.layout import PROJECT_ROOT
from tests.assets.validation.support import Running, write_config

pytestmark = pytest.mark.slow


def validate(platform: Running, config: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **platform.env,
        "TRADEPIPE_VALIDATION_API_URL": platform.service.url,
        "TRADEPIPE_VALIDATION_CONFIG": str(config),
    }
    return subprocess.run(
        [sys.executable, "-m", "orchestration.validate", "--suites", "service_health"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )


def sensor_tick(platform: Running, cursor: str | None) -> tuple[object, str | None]:
    context = dg.build_sensor_context(instance=platform.instance, cursor=cursor)
    answer = validation_verdict_alert_sensor(context)
    return answer, context.cursor


def test_validate_exit_codes_history_and_alert(platform: Running, tmp_path: Path) -> None:
    passing = validate(platform, write_config(tmp_path / "pass.toml"))
    assert passing.returncode == ValidateExit.PASS, passing.stdout + passing.stderr[-3000:]
    assert "validation verdict: PASS" in passing.stdout
    _, cursor = sensor_tick(platform, None)  # sees the PASS: armed

    # feed lag is never exactly 0 (WARN): CONDITIONAL
    conditional = validate(
        platform,
        write_config(tmp_path / "warn.toml", checks__service_health_feed_lag__threshold=0.0),
    )
    assert conditional.returncode == ValidateExit.CONDITIONAL, conditional.stdout
    assert "WARN service_health_feed_lag" in conditional.stdout

    # a daemon heartbeat is never 0 s old (ERROR): FAIL
    failing = validate(
        platform,
        write_config(tmp_path / "error.toml", checks__service_health_dagster_daemon__threshold=0.0),
    )
    assert failing.returncode == ValidateExit.FAIL, failing.stdout
    assert "ERROR service_health_dagster_daemon" in failing.stdout
    report = Path(failing.stdout.split("report: ", 1)[1].split()[0])
    assert report.is_file() and "FAIL" in report.read_text()

    warehouse = platform.warehouse()
    try:
        history = warehouse.query(f"SELECT verdict FROM {VERDICT_HISTORY.name} ORDER BY ts")
    finally:
        warehouse.close()
    assert list(history["verdict"])[-3:] == ["PASS", "CONDITIONAL", "FAIL"]

    # PASS -> (CONDITIONAL ->) FAIL: one alert, with the reason; nothing new: no second one
    alert, cursor = sensor_tick(platform, cursor)
    assert isinstance(alert, dg.RunRequest)
    reason = alert.run_config["ops"]["validation_alert"]["config"]["reason"]
    assert "ERROR service_health_dagster_daemon" in reason
    again, _ = sensor_tick(platform, cursor)
    assert isinstance(again, dg.SkipReason)

    run = validation_alert_job.execute_in_process(
        run_config=alert.run_config, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not run.success
    failure = run.get_step_failure_events()[0]
    assert "went from PASS to FAIL" in str(failure.event_specific_data.error.message)


def test_validate_when_config_invalid_then_exit_78(platform: Running, tmp_path: Path) -> None:
    bad = write_config(tmp_path / "bad.toml", checks__service_health_feed_lag__severity="LOUD")
    answer = validate(platform, bad)
    assert answer.returncode == ValidateExit.BAD_CONFIG
    assert "[checks.service_health_feed_lag] severity" in answer.stderr
