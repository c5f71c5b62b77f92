"""The verdict, the alert's state machine and the command's exit codes, on hand-made
results; the configuration's load errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from assets.validation.catalogue import CHECKS, Suite
from assets.validation.config import (
    DEFAULT_PATH,
    Severity,
    ValidationConfigError,
    load_validation_config,
    parse_validation_config,
)
from assets.validation.report import SuiteRun, ValidationFolder
from assets.validation.results import CheckResult, Verdict, failure_summary, verdict
from orchestration.validate import BY_VERDICT, ValidateExit
from orchestration.validation import next_alert_state


def result(name: str, severity: Severity, passed: bool) -> CheckResult:
    return CheckResult(Suite.SERVICE_HEALTH, name, severity, passed, "seen")


ALL_PASS = [result("a", Severity.ERROR, True), result("b", Severity.WARN, True)]
WARN_ONLY = [result("a", Severity.ERROR, True), result("b", Severity.WARN, False)]
ONE_ERROR = [result("a", Severity.ERROR, False), result("b", Severity.WARN, False)]


def test_verdict_when_every_check_passes_then_pass() -> None:
    assert verdict(ALL_PASS) is Verdict.PASS


def test_verdict_when_only_warn_checks_fail_then_conditional() -> None:
    assert verdict(WARN_ONLY) is Verdict.CONDITIONAL


def test_verdict_when_an_error_check_fails_then_fail() -> None:
    assert verdict(ONE_ERROR) is Verdict.FAIL
    assert failure_summary(ONE_ERROR).splitlines()[0] == "ERROR a: seen"


def test_verdict_when_no_checks_then_pass_and_exit_codes_distinct() -> None:
    assert verdict([]) is Verdict.PASS
    assert BY_VERDICT == {
        "PASS": ValidateExit.PASS,
        "CONDITIONAL": ValidateExit.CONDITIONAL,
        "FAIL": ValidateExit.FAIL,
    }
    assert len({int(v) for v in ValidateExit}) == len(ValidateExit)
    assert ValidateExit.PASS == 0 and ValidateExit.FAIL != 0


def test_alert_when_pass_then_fail_alerts_once_until_recovery() -> None:
    armed, seen = False, []
    for found in [
        "FAIL",
        "PASS",
        "FAIL",
        "FAIL",
        "CONDITIONAL",
        "FAIL",
        "PASS",
        "CONDITIONAL",
        "FAIL",
    ]:
        armed, alert = next_alert_state(armed, found)
        seen.append(alert)
    # the first FAIL has no PASS before it; the PASS -> FAIL alerts once, and again only
    # after the next PASS (through a CONDITIONAL)
    assert seen == [False, False, True, False, False, False, False, False, True]


def test_report_when_written_then_markdown_html_and_latest(tmp_path: Path) -> None:
    folder = ValidationFolder(tmp_path)
    run = SuiteRun(Suite.SERVICE_HEALTH, "run-1", "2026-12-03T00:00:00+00:00", WARN_ONLY)
    folder.save_suite(run)
    runs = folder.latest_suites()
    assert runs == [run]
    when = pd.Timestamp("2026-12-03T10:00:00Z")
    page = folder.write_report("run-1", when, Verdict.CONDITIONAL, runs)
    assert page.read_text().count("<tr class='fail'>") == 1
    markdown = (page.parent / "report.md").read_text()
    assert "# Validation report: CONDITIONAL" in markdown and "| b | WARN | FAIL |" in markdown
    assert (tmp_path / "validation" / "reports" / "latest.html").read_text() == page.read_text()


def test_config_shipped_file_loads_every_check() -> None:
    config = load_validation_config()
    assert set(config.checks) == {c.name for c in CHECKS}
    assert all(config[c.name].threshold is not None for c in CHECKS if c.unit)


def test_config_when_bad_then_every_problem_named() -> None:
    document = tomllib.loads(DEFAULT_PATH.read_text())
    document["checks"]["service_health_feed_lag"]["severity"] = "LOUD"
    document["checks"]["service_health_endpoints"]["threshold"] = 1.0
    del document["checks"]["performance_errors"]["threshold"]
    del document["checks"]["integration_order_in_tca"]
    document["checks"]["made_up_check"] = {"severity": "WARN"}
    document["performance"]["seconds"] = 600
    with pytest.raises(ValidationConfigError) as caught:
        parse_validation_config(document, "config/validation.toml")
    lines = caught.value.lines()
    assert lines == [
        "config/validation.toml: [performance] seconds: expected `float` <= 30.0, got 600",
        "config/validation.toml: [checks.made_up_check]: unknown check",
        "config/validation.toml: [checks.service_health_endpoints] threshold: "
        "this check takes no threshold",
        "config/validation.toml: [checks.service_health_feed_lag] severity: "
        "invalid enum value 'LOUD', got 'LOUD'",
        "config/validation.toml: [checks.performance_errors] threshold: missing (in requests)",
        "config/validation.toml: [checks.integration_order_in_tca]: "
        "missing: every check needs a severity",
    ]
    assert caught.value.code == "INVALID_VALIDATION_CONFIG"


def test_config_when_file_missing_then_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationConfigError, match="file not found"):
        load_validation_config(tmp_path / "nope.toml")
