"""Resilience: the realtime service restarted recovers from its journal with nothing
lost: every order the probe accounts had, in its status and filled quantity (terminal
ones exactly), their positions, and the journal's committed sequence.

Only where the validation run owns the service process (`Platform.control`, e.g. a
service the run or a test started with `realtime.service_process`). The launcher stops
the whole platform when its realtime child exits and has no restart hook, so against a
launched platform (the scheduled runs) the check is "not exercised", never faked.
"""

from __future__ import annotations

from typing import Any

import httpx

from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform, ProbeError
from assets.validation.results import CheckResult, not_exercised, outcome
from assets.validation.suites.errors import _flat_side, _positions, _wait_filled
from realtime.domain import TERMINAL_STATUSES

NAME = "resilience_restart_recovers"
COMMITTED = "tradepipe_journal_committed_seq"


def _state(platform: Platform, keys: list[str]) -> dict[str, Any]:
    return {
        "orders": {
            o["order_id"]: (o["status"], o.get("filled_quantity"))
            for key in keys
            for o in platform.all_orders(key)
        },
        "positions": [_positions(platform, key) for key in keys],
        "committed_seq": platform.metrics().get(COMMITTED, 0.0),
    }


def restart_recovers(platform: Platform, config: ValidationConfig) -> CheckResult:
    check = config[NAME]
    control = platform.control
    if control is None:
        return not_exercised(
            check,
            "this run does not own the realtime service process (the launcher offers no "
            "restart hook)",
        )
    probe = config.probe
    keys = [probe.api_key, probe.peer_api_key]
    try:
        # one filled probe order first, so there is something of ours to recover
        order_id = platform.market_order(probe.api_key, _flat_side(platform, probe.api_key))[
            "order_id"
        ]
        _wait_filled(platform, probe.api_key, order_id, config.integration.timeout_s)
        before = _state(platform, keys)
        platform.reconnect(control.restart())
        after = _state(platform, keys)
    except (httpx.HTTPError, ProbeError, RuntimeError, TimeoutError) as exc:
        return outcome(check, False, f"the restart probe broke off: {type(exc).__name__}: {exc}")
    lost = []
    for oid, (status, filled) in before["orders"].items():
        now = after["orders"].get(oid)
        if now is None:
            lost.append(f"order {oid} ({status}) is gone")
        elif status in TERMINAL_STATUSES and now != (status, filled):
            lost.append(f"order {oid} was {status} {filled}, is {now[0]} {now[1]}")
    if after["positions"] != before["positions"]:
        lost.append(f"positions were {before['positions']}, are {after['positions']}")
    if after["committed_seq"] < before["committed_seq"]:
        lost.append(
            f"journal committed seq was {before['committed_seq']:g}, is {after['committed_seq']:g}"
        )
    figures = {
        "orders": len(before["orders"]),
        "committed_seq_before": before["committed_seq"],
        "committed_seq_after": after["committed_seq"],
        "probe_order": order_id,
    }
    return outcome(
        check,
        not lost,
        "; ".join(lost)
        or f"restarted: all {len(before['orders'])} probe orders, their positions and the "
        f"journal (committed seq {before['committed_seq']:g}) recovered",
        extra=figures,
    )
