"""Every check of the validation programme, by suite: its name, what it checks and the
unit of its threshold (None: pass/fail, no threshold). config/validation.toml gives each
its severity and threshold; this is the list that file is checked against."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Suite(StrEnum):
    SERVICE_HEALTH = "service_health"
    DATA_PIPELINE = "data_pipeline"
    PERFORMANCE = "performance"
    INTEGRATION = "integration"
    RESILIENCE = "resilience"
    ERROR_HANDLING = "error_handling"


@dataclass(frozen=True, slots=True)
class CheckDef:
    name: str
    suite: Suite
    description: str
    unit: str | None = None  # of the threshold; None: the check has none


def _c(suite: Suite, name: str, description: str, unit: str | None = None) -> CheckDef:
    return CheckDef(f"{suite}_{name}", suite, description, unit)


H, D, P, I, R, E = Suite  # noqa: E741 (I: integration)
CHECKS: Final[tuple[CheckDef, ...]] = (
    _c(H, "endpoints", "GET /health, /ready and /metrics answer 200 (and /ready says ready)"),
    _c(H, "feed_lag", "seconds since the service's last market data message", "s"),
    _c(H, "venue_queue_depth", "requests waiting in the venue's outbound queue", "requests"),
    _c(
        H,
        "journal_commit_latency",
        "P99 of the service's risk-to-journal-commit time (the bucket bound of "
        "tradepipe_submit_latency_seconds that holds it)",
        "s",
    ),
    _c(H, "dagster_daemon", "age of the oldest Dagster daemon heartbeat", "s"),
    _c(H, "schedules_running", "every schedule and sensor that should run is running"),
    _c(
        D,
        "expectations",
        "the Great Expectations suite of each warehouse table: schema, non-null keys, "
        "value ranges, uniqueness (one check per table)",
    ),
    _c(D, "freshness", "age of the newest quote in the warehouse", "s"),
    _c(D, "row_counts", "each table's rows equal its journal events up to its shipping cursor"),
    _c(
        D,
        "feature_freshness",
        "age of the newest risk_features_v1 row in the online store (Feast), as the "
        "service reads it",
        "s",
    ),
    _c(D, "shipping_lag", "how long journal events have waited unshipped", "s"),
    _c(P, "submit_ack_p50", "P50 of POST /orders, sent to acknowledged, under open-loop load", "s"),
    _c(P, "submit_ack_p99", "P99 of POST /orders, sent to acknowledged, under open-loop load", "s"),
    _c(P, "tickers_p50", "P50 of GET /tickers under open-loop load", "s"),
    _c(P, "tickers_p99", "P99 of GET /tickers under open-loop load", "s"),
    _c(P, "errors", "requests of the load not answered 2xx", "requests"),
    _c(I, "order_filled", "a probe order sent through the API is filled by the venue"),
    _c(I, "order_journaled", "its acceptance and fill are in the journal, ids matching"),
    _c(I, "order_shipped", "its rows reach the warehouse's orders and fills, ids matching"),
    _c(I, "order_in_positions", "positions and P&L of the probe account show the fill"),
    _c(I, "order_in_tca", "probe orders of days whose TCA is materialised appear in tca_orders"),
    _c(R, "reship_adds_no_rows", "re-shipping the journal's newest events adds no rows"),
    _c(
        R,
        "queue_full_429",
        "a bounded burst of probe orders fills the venue queue: 429 VENUE_QUEUE_FULL with "
        "Retry-After, then an order is accepted again",
    ),
    _c(
        R,
        "restart_recovers",
        "the service, restarted by the launcher, recovers from its journal with nothing lost "
        "(not applicable where the launcher did not start the platform: a WARN skip)",
    ),
    _c(E, "catalogue", "every bad request of the catalogue gets its documented status and code"),
    _c(E, "no_state_change", "the bad requests leave positions, orders and the journal unchanged"),
)
BY_NAME: Final = {c.name: c for c in CHECKS}


def checks_of(suite: Suite) -> tuple[CheckDef, ...]:
    return tuple(c for c in CHECKS if c.suite is suite)
