"""What a check found, and the verdict over a run's checks (pure: no I/O).

PASS: every check passed. CONDITIONAL: only WARN checks failed. FAIL: an ERROR check failed.

A check that cannot be exercised against this platform is skipped (`exercised=False`):
either a probe that needs something the platform does not offer (e.g. a venue queue
small enough for a bounded burst to fill: "not exercised", at the check's severity), or
a check that does not apply to how the platform was started (the restart check where
the launcher did not start it: "not applicable", always at WARN). A skip neither passes
nor fails the verdict: the verdict is over what was measured, and counting a skip as a
WARN failure would hold every deployment without a launcher (docker compose) at
CONDITIONAL for good, so it could never be PASS and the PASS -> FAIL alert would never
arm there. It is not silent either: every view of it (report: SKIP, the verdict's
`skipped` metadata, the Dagster check, the command's output) says it was skipped and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from assets.validation.catalogue import Suite
from assets.validation.config import CheckConfig, Severity


class Verdict(StrEnum):
    PASS = "PASS"
    CONDITIONAL = "CONDITIONAL"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class CheckResult:
    suite: Suite
    name: str  # the asset check's name: the catalogue's, or `<catalogue name>_<table>`
    severity: Severity
    passed: bool
    detail: str  # what was seen, in words: the reason when it failed
    measured: float | None = None
    threshold: float | None = None
    unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # figures for the UI and the report
    exercised: bool = True  # False: not run against this platform (the detail says why)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            **{
                **data,
                "suite": Suite(data["suite"]),
                "severity": Severity(data["severity"]),
            }
        )


def judged(
    config: CheckConfig,
    measured: float,
    detail: str,
    *,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    """A measurement against the check's threshold (passes when measured <= threshold)."""
    threshold = config.threshold
    assert threshold is not None
    passed = measured <= threshold
    unit = config.check.unit
    verdict = "within" if passed else "over"
    return CheckResult(
        config.check.suite,
        name or config.check.name,
        config.severity,
        passed,
        f"{detail}: {measured:.6g} {unit}, {verdict} the threshold {threshold:g} {unit}",
        measured,
        threshold,
        unit,
        extra or {},
    )


def outcome(
    config: CheckConfig,
    passed: bool,
    detail: str,
    *,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    """A pass/fail check (no threshold)."""
    return CheckResult(
        config.check.suite,
        name or config.check.name,
        config.severity,
        passed,
        detail,
        extra=extra or {},
    )


def not_exercised(
    config: CheckConfig, reason: str, *, extra: dict[str, Any] | None = None
) -> CheckResult:
    """A check this platform cannot exercise: counted by no verdict, shown as such."""
    return CheckResult(
        config.check.suite,
        config.check.name,
        config.severity,
        True,  # not a failure of the platform; `exercised` keeps it from reading as a pass
        f"not exercised: {reason}",
        extra=extra or {},
        exercised=False,
    )


def not_applicable(
    config: CheckConfig, reason: str, *, extra: dict[str, Any] | None = None
) -> CheckResult:
    """A check that does not apply to this platform: a WARN-level skip, whatever the
    check's configured severity (it says nothing about the platform being wrong)."""
    return CheckResult(
        config.check.suite,
        config.check.name,
        Severity.WARN,
        True,  # as not_exercised: `exercised` keeps it from reading as a pass
        f"not applicable: {reason}",
        extra=extra or {},
        exercised=False,
    )


def skipped_summary(results: Iterable[CheckResult]) -> str:
    """The skipped checks, one line each (their detail says why)."""
    skips = [r for r in results if not r.exercised]
    return "\n".join(f"SKIP ({r.severity}) {r.name}: {r.detail}" for r in skips)


def verdict(results: Iterable[CheckResult]) -> Verdict:
    failed = [r for r in results if not r.passed]
    if any(r.severity is Severity.ERROR for r in failed):
        return Verdict.FAIL
    return Verdict.CONDITIONAL if failed else Verdict.PASS


def failure_summary(results: Iterable[CheckResult]) -> str:
    """The failed checks in one line each, ERROR first: the reason an alert gives."""
    failed = sorted((r for r in results if not r.passed), key=lambda r: r.severity != "ERROR")
    return "\n".join(f"{r.severity} {r.name}: {r.detail}" for r in failed) or "no check failed"
