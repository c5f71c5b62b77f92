"""Service health: the endpoints answer, the service's gauges are under their
thresholds, and Dagster's daemons beat and its schedules and sensors run."""

from __future__ import annotations

import time
from collections.abc import Sequence

import dagster as dg
import httpx

from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform, histogram_quantile, parse_metrics
from assets.validation.results import CheckResult, judged, outcome

# Statuses in which an instigator that should run is running; an instigator with no
# stored state runs on its default status (RUNNING for every one we list).
_RUNNING = ("RUNNING", "DECLARED_IN_CODE", "AUTOMATICALLY_RUNNING")


def service_health(
    platform: Platform,
    config: ValidationConfig,
    instance: dg.DagsterInstance | None,
    should_run: Sequence[str],
) -> list[CheckResult]:
    results = [*_service(platform, config)]
    results += _dagster(config, instance, should_run)
    return results


def _service(platform: Platform, config: ValidationConfig) -> list[CheckResult]:
    gauges = [
        "service_health_feed_lag",
        "service_health_venue_queue_depth",
        "service_health_journal_commit_latency",
    ]
    try:
        answers = {path: platform.http.get(path) for path in ("/health", "/ready", "/metrics")}
    except httpx.HTTPError as exc:
        reason = f"the service at {platform.api_url} does not answer: {exc!r}"
        return [
            outcome(config[name], False, reason) for name in ("service_health_endpoints", *gauges)
        ]
    bad = [
        f"{path} answered {r.status_code}" for path, r in answers.items() if r.status_code != 200
    ]
    ok = not bad
    results = [
        outcome(
            config["service_health_endpoints"],
            ok,
            "/health, /ready and /metrics answered 200" if ok else "; ".join(bad),
            extra={"ready_checks": _ready_checks(answers["/ready"])},
        )
    ]
    if answers["/metrics"].status_code != 200:
        return results + [
            outcome(config[name], False, "no /metrics to read it from") for name in gauges
        ]

    metrics = parse_metrics(answers["/metrics"].text)
    lag = metrics.get("tradepipe_feed_lag_seconds")
    depth = metrics.get("tradepipe_venue_queue_depth")
    commit = histogram_quantile(metrics, "tradepipe_submit_latency_seconds", 0.99)
    for name, value, what in (
        ("service_health_feed_lag", lag, "feed lag (tradepipe_feed_lag_seconds)"),
        ("service_health_venue_queue_depth", depth, "venue queue depth"),
        ("service_health_journal_commit_latency", commit, "risk-to-commit P99"),
    ):
        if value is None:
            results.append(
                outcome(config[name], name.endswith("commit_latency"), f"{what}: not measured yet")
            )
        else:
            results.append(judged(config[name], value, what))
    return results


def _ready_checks(response: httpx.Response) -> dict[str, object]:
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        return {}
    return dict(checks) if isinstance(checks, dict) else {}


def _dagster(
    config: ValidationConfig, instance: dg.DagsterInstance | None, should_run: Sequence[str]
) -> list[CheckResult]:
    daemon, schedules = (
        config["service_health_dagster_daemon"],
        config["service_health_schedules_running"],
    )
    if instance is None:
        reason = "no Dagster instance to read (DAGSTER_HOME unset)"
        return [outcome(daemon, False, reason), outcome(schedules, False, reason)]
    beats = instance.get_daemon_heartbeats()
    required = list(instance.get_required_daemon_types())
    now = time.time()
    ages = {name: now - beats[name].timestamp for name in required if name in beats}
    missing = [name for name in required if name not in beats]
    if missing:
        result = outcome(
            daemon, False, f"no heartbeat ever from the daemons {missing}: is the daemon running?"
        )
    else:
        oldest = max(ages, key=lambda n: ages[n]) if ages else "none"
        result = judged(
            daemon,
            max(ages.values(), default=0.0),
            f"oldest daemon heartbeat ({oldest})",
            extra={"heartbeat_age_s": {k: round(v, 1) for k, v in ages.items()}},
        )
    states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
    stopped = [n for n in should_run if states.get(n, "RUNNING") not in _RUNNING]
    return [
        result,
        outcome(
            schedules,
            not stopped,
            f"stopped: {stopped}" if stopped else f"all {len(should_run)} running",
            extra={"instigators": {n: states.get(n, "RUNNING (default)") for n in should_run}},
        ),
    ]
