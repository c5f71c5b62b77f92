"""Resilience: the realtime service restarted recovers from its journal with nothing
lost: every order the probe accounts had (terminal ones in exactly their status and
filled quantity), their positions, and the journal's head (the committed seq the
service reports, and the head of the journal file) no lower than before.

Only the launcher owns the service's process, so only a platform it started can be
restarted: the check asks it through its control endpoint (`realtime.service_control`,
found through `Platform.launcher_control`), then waits, with a deadline, for /ready.
Elsewhere (docker compose, a service started by hand) the check is "not applicable:
not started by the launcher", a WARN-level skip (see `results.not_applicable`), never
a pass.
"""

from __future__ import annotations

from typing import Any

import httpx

from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform, ProbeError, wait_for
from assets.validation.results import CheckResult, not_applicable, outcome
from assets.validation.suites.errors import _flat_side, _positions, _wait_filled
from realtime.domain import TERMINAL_STATUSES
from realtime.service_control import ControlError, LauncherControl

NAME = "resilience_restart_recovers"
COMMITTED = "tradepipe_journal_committed_seq"
NOT_LAUNCHED = "not started by the launcher"


def _state(platform: Platform, keys: list[str]) -> dict[str, Any]:
    return {
        "orders": {
            o["order_id"]: (o["status"], o.get("filled_quantity"))
            for key in keys
            for o in platform.all_orders(key)
        },
        "positions": [_positions(platform, key) for key in keys],
        "committed_seq": platform.metrics().get(COMMITTED, 0.0),
        "journal_head": platform.journal.head_seq(),
    }


def _ready(platform: Platform) -> bool | None:
    try:
        return True if platform.http.get("/ready").status_code == 200 else None
    except httpx.TransportError:
        return None


def _launcher(platform: Platform) -> LauncherControl | None:
    if platform.launcher_control is None:
        return None
    return LauncherControl.find(platform.launcher_control)


def restart_recovers(platform: Platform, config: ValidationConfig) -> CheckResult:
    check = config[NAME]
    timeout_s = config.resilience.restart_timeout_s
    try:
        control = _launcher(platform)
    except ControlError as exc:
        return outcome(check, False, f"the launcher's control file is unreadable: {exc}")
    if control is None:
        return not_applicable(check, NOT_LAUNCHED)
    probe = config.probe
    keys = [probe.api_key, probe.peer_api_key]
    try:
        theirs = control.status().get("instance")
    except ControlError as exc:
        if isinstance(exc.__cause__, httpx.ConnectError):
            # nothing listens there: a file left by a launcher that is gone (its pid
            # taken by another process since, or another pid namespace: a container)
            return not_applicable(
                check, f"{NOT_LAUNCHED} (stale {platform.launcher_control}: {exc})"
            )
        return outcome(check, False, f"could not ask the launcher: {exc}")
    try:
        # The service validated must be the launcher's: restarting another says nothing.
        ours = platform.get_json("/health", probe.api_key).get("instance")
        if theirs != ours:
            return not_applicable(
                check,
                f"{NOT_LAUNCHED} (the launcher, pid {control.pid}, runs instance {theirs}; "
                f"{platform.api_url} is instance {ours})",
            )
        # one filled probe order first, so there is something of ours to recover
        order_id = platform.market_order(probe.api_key, _flat_side(platform, probe.api_key))[
            "order_id"
        ]
        _wait_filled(platform, probe.api_key, order_id, config.integration.timeout_s)
        before = _state(platform, keys)
    except (httpx.HTTPError, ProbeError, ControlError) as exc:
        return outcome(check, False, f"could not set up the restart: {type(exc).__name__}: {exc}")
    try:
        platform.reconnect(control.restart(timeout_s))
        wait_for("the restarted service's /ready", lambda: _ready(platform), timeout_s)
        after = _state(platform, keys)
    except (httpx.HTTPError, ProbeError, ControlError) as exc:
        return outcome(
            check,
            False,
            f"the restarted service did not come back: {type(exc).__name__}: {exc}",
            extra={"probe_order": order_id},
        )
    lost = _lost(before, after)
    figures = {
        "orders": len(before["orders"]),
        "committed_seq_before": before["committed_seq"],
        "committed_seq_after": after["committed_seq"],
        "journal_head_before": before["journal_head"],
        "journal_head_after": after["journal_head"],
        "probe_order": order_id,
    }
    return outcome(
        check,
        not lost,
        "; ".join(lost)
        or f"restarted by the launcher: all {len(before['orders'])} probe orders, their "
        f"positions and the journal (head {before['journal_head']}) recovered",
        extra=figures,
    )


def _lost(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lost = []
    for oid, (status, filled) in before["orders"].items():
        now = after["orders"].get(oid)
        if now is None:
            lost.append(f"order {oid} ({status}) is gone")
        elif status in TERMINAL_STATUSES and now != (status, filled):
            lost.append(f"order {oid} was {status} {filled}, is {now[0]} {now[1]}")
    if after["positions"] != before["positions"]:
        lost.append(f"positions were {before['positions']}, are {after['positions']}")
    # other accounts trade on meanwhile, so the head may only have grown
    for key, what in (("committed_seq", "committed seq"), ("journal_head", "file's head seq")):
        if after[key] < before[key]:
            lost.append(f"journal {what} was {before[key]:g}, is {after[key]:g}")
    return lost
