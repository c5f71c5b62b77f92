"""Resilience: a full venue queue answers 429 VENUE_QUEUE_FULL (with Retry-After) and
recovers, i.e. accepts an order again once the queue has drained.

Safe against a running platform: only the probe account, loopback only (or a host in
TRADEPIPE_VALIDATION_LOAD_HOSTS, `load_target`), and a burst of
at most `[resilience] queue_burst` one-share market orders of alternating sides, closed
by one order that flattens what the burst bought and sold. The service's queue capacity
is read from /metrics first: one that holds more than the burst is not filled (nothing
is sent) and the check is "not exercised" (the default service holds 10,000). The tests
exercise it on a service they start with a small queue and a slow venue.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from assets.validation.config import ValidationConfig
from assets.validation.load_target import LoadRefused, load_target
from assets.validation.platform import Platform, client_order_id, headers
from assets.validation.results import CheckResult, not_exercised, outcome

NAME = "resilience_queue_full_429"
FULL = "VENUE_QUEUE_FULL"


@dataclass(frozen=True, slots=True)
class Answer:
    side: str
    status: int
    code: str | None
    retry_after: str | None


def _body(side: str, quantity: int = 1) -> dict[str, object]:
    return {
        "client_order_id": client_order_id("q429"),
        "symbol": "AAPL",
        "side": side,
        "quantity": quantity,
        "order_type": "MARKET",
    }


def _answer(side: str, response: httpx.Response) -> Answer:
    code = None
    if response.status_code >= 400:
        try:
            code = response.json().get("code")
        except ValueError:
            code = None
    return Answer(side, response.status_code, code, response.headers.get("Retry-After"))


async def _burst(url: str, key: str, n: int) -> list[Answer]:
    # every order in flight at once: the queue fills only if requests outrun the venue
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=10.0, limits=limits) as client:

        async def one(i: int) -> Answer:
            side = "BUY" if i % 2 == 0 else "SELL"
            response = await client.post("/orders", headers=headers(key), json=_body(side))
            return _answer(side, response)

        return list(await asyncio.gather(*(one(i) for i in range(n))))


def queue_full(platform: Platform, config: ValidationConfig) -> CheckResult:
    check, bounds = config[NAME], config.resilience
    key, burst = config.probe.api_key, bounds.queue_burst
    try:
        load_target(platform.api_url, platform.load_hosts)
    except LoadRefused as exc:  # a burst is load too: the same hosts as performance's
        return outcome(check, False, str(exc))
    try:
        capacity = platform.metrics().get("tradepipe_venue_queue_capacity")
    except httpx.HTTPError as exc:
        return outcome(check, False, f"the service at {platform.api_url} does not answer: {exc!r}")
    if capacity is None:
        return not_exercised(check, "the service does not report its venue queue capacity")
    if capacity >= burst:
        return not_exercised(
            check,
            f"the venue queue holds {capacity:g} requests, more than the bounded burst of "
            f"{burst} ([resilience] queue_burst): nothing sent",
            extra={"capacity": capacity, "burst": burst},
        )
    try:
        answers = asyncio.run(_burst(platform.api_url, key, burst))
    except httpx.HTTPError as exc:
        return outcome(check, False, f"the burst broke off: {exc!r}")
    full_at = time.monotonic()
    accepted = [a for a in answers if a.status == 201]
    full = [a for a in answers if a.status == 429]
    other = sorted({f"{a.status} {a.code}" for a in answers if a.status not in (201, 429)})
    figures: dict[str, float | None] = {
        "capacity": capacity,
        "burst": burst,
        "accepted": len(accepted),
        "answered_429": len(full),
    }
    imbalance = sum(1 if a.side == "BUY" else -1 for a in accepted)
    recovered, waited = _recover(platform, key, imbalance, bounds.recover_timeout_s, full)
    figures["recovered_after_s"] = round(time.monotonic() - full_at, 3) if recovered else None
    problems = []
    if not full:
        problems.append(f"no 429 in a burst of {burst} (queue capacity {capacity:g})")
    bad = [a for a in full if a.code != FULL or not a.retry_after]
    if bad:
        problems.append(
            f"{len(bad)} 429 answers without code {FULL} and a Retry-After header, "
            f"e.g. {bad[0].code} / Retry-After {bad[0].retry_after}"
        )
    if other:
        problems.append(f"the burst was also answered {other}")
    if not recovered:
        problems.append(f"no order accepted again within {waited}")
    detail = "; ".join(problems) or (
        f"{len(full)} of {burst} orders answered 429 {FULL} with Retry-After "
        f"{full[0].retry_after} s; accepted again after {figures['recovered_after_s']} s"
    )
    return outcome(check, not problems, detail, extra=figures)


def _recover(
    platform: Platform, key: str, imbalance: int, timeout_s: float, full: list[Answer]
) -> tuple[bool, str]:
    """Submit the order that flattens the burst until it is accepted (honouring
    Retry-After), or the timeout passes: (accepted, how long it tried)."""
    side = "SELL" if imbalance > 0 else "BUY"
    body = _body(side, max(1, abs(imbalance)))  # one client order id: a retry is idempotent
    wait = max((float(a.retry_after) for a in full if a.retry_after), default=0.0)
    deadline = time.monotonic() + timeout_s
    time.sleep(min(wait, timeout_s))
    while True:
        try:
            response = platform.http.post("/orders", headers=headers(key), json=body)
        except httpx.HTTPError as exc:
            return False, f"{timeout_s:g} s ({exc!r})"
        if response.status_code in (200, 201):
            return True, ""
        if response.status_code != 429 or time.monotonic() >= deadline:
            return False, f"{timeout_s:g} s (last answer {response.status_code})"
        time.sleep(min(float(response.headers.get("Retry-After") or 1), 1.0))
