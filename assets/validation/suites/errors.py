"""Error handling: a catalogue of bad requests, each answered with its documented
status and problem code (README "Errors"), and none of them changes state: the probe
accounts' orders and positions and the journal's length are the same afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform, ProbeError, client_order_id
from assets.validation.results import CheckResult, outcome
from assets.warehouse.projections import PROJECTIONS
from realtime.events import MARKET_DATA_TYPES
from realtime.settings import DEFAULT_MAX_BODY_BYTES

# The journal's order, fill and risk events (every shipped type but market data).
STATE_EVENTS = frozenset().union(*(p.event_types for p in PROJECTIONS)) - MARKET_DATA_TYPES


@dataclass(frozen=True, slots=True)
class BadRequest:
    name: str
    method: str
    path: str
    status: int
    code: str
    body: bytes | None = None
    key: str | None = None  # "probe", "peer", "wrong", None: no key
    content_type: str = "application/json"


def _order(**overrides: object) -> bytes:
    body = {
        "client_order_id": client_order_id("bad"),
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 1,
        "order_type": "MARKET",
        **overrides,
    }
    return json.dumps(body).encode()


def catalogue(filled_order_id: str) -> list[BadRequest]:
    """`filled_order_id`: a filled order of the probe account (cancelling it is illegal,
    and to the peer account it does not exist)."""
    order, big = "/orders", _order().ljust(DEFAULT_MAX_BODY_BYTES + 1)
    mine = f"/orders/{filled_order_id}"
    halt = b'{"state": "HALTED", "reason": "validation"}'
    return [
        BadRequest("malformed", "POST", order, 400, "MALFORMED_JSON", b'{"sym', "probe"),
        BadRequest("wrong_type", "POST", order, 422, "INVALID_FIELD", _order(side=1), "probe"),
        BadRequest("negative_qty", "POST", order, 422, "INVALID_FIELD", _order(quantity=-5),
                   "probe"),
        BadRequest("unknown_field", "POST", order, 422, "UNKNOWN_FIELD", _order(stop=1.0), "probe"),
        BadRequest("unknown_symbol", "GET", "/tickers?symbols=ZZZZ", 404, "UNKNOWN_SYMBOL"),
        BadRequest("missing_key", "POST", order, 401, "UNAUTHENTICATED", _order()),
        BadRequest("wrong_key", "POST", order, 401, "UNAUTHENTICATED", _order(), "wrong"),
        BadRequest("not_admin", "PUT", "/admin/trading-state", 403,
                    "ADMIN_REQUIRED", halt, "probe"),
        BadRequest("others_order", "DELETE", mine, 404, "ORDER_NOT_FOUND", None, "peer"),
        BadRequest("oversize", "POST", order, 413, "BODY_TOO_LARGE", big, "probe"),
        BadRequest("text_plain", "POST", order, 415, "UNSUPPORTED_MEDIA_TYPE", _order(), "probe",
                   "text/plain"),
        BadRequest("illegal_transition", "DELETE", mine, 409,
                    "ILLEGAL_TRANSITION", None, "probe"),
    ]  # fmt: skip


def error_handling(platform: Platform, config: ValidationConfig) -> list[CheckResult]:
    listed, unchanged = config["error_handling_catalogue"], config["error_handling_no_state_change"]
    probe, peer = config.probe.api_key, config.probe.peer_api_key
    try:
        filled = platform.market_order(probe, _flat_side(platform, probe))
        order_id = filled["order_id"]
        _wait_filled(platform, probe, order_id)
        before = _state(platform, probe, peer)
    except (httpx.HTTPError, ProbeError) as exc:
        reason = f"could not set up the catalogue: {exc}"
        return [outcome(listed, False, reason), outcome(unchanged, False, reason)]
    keys = {"probe": probe, "peer": peer, "wrong": "not-a-key-of-anyone"}
    wrong: list[str] = []
    seen: dict[str, str] = {}
    for bad in catalogue(order_id):
        head = {"Content-Type": bad.content_type}
        if bad.key:
            head["X-API-Key"] = keys[bad.key]
        try:
            response = platform.http.request(bad.method, bad.path, headers=head, content=bad.body)
        except httpx.HTTPError as exc:
            wrong.append(f"{bad.name}: {exc!r}")
            continue
        code = _code(response)
        seen[bad.name] = f"{response.status_code} {code}"
        if (response.status_code, code) != (bad.status, bad.code):
            wrong.append(
                f"{bad.name}: {response.status_code} {code}, documented {bad.status} {bad.code}"
            )
    try:
        after = _state(platform, probe, peer)
    except httpx.HTTPError as exc:
        return [
            outcome(listed, not wrong, "; ".join(wrong) or "all answered as documented"),
            outcome(unchanged, False, f"could not read the state afterwards: {exc!r}"),
        ]
    changed = [what for what in before if before[what] != after[what]]
    return [
        outcome(
            listed,
            not wrong,
            "; ".join(wrong) or f"all {len(seen)} bad requests answered as documented",
            extra={"answers": seen},
        ),
        outcome(
            unchanged,
            not changed,
            f"changed: {changed}"
            if changed
            else "orders, positions and the journal's order and risk events unchanged",
            extra={"journal_events": [before["journal_events"], after["journal_events"]]},
        ),
    ]


def _code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "(no JSON body)"
    return str(body.get("code")) if isinstance(body, dict) else "(not a problem)"


def _state(platform: Platform, probe: str, peer: str) -> dict[str, object]:
    return {
        "probe_orders": platform.all_orders(probe),
        "peer_orders": platform.all_orders(peer),
        "probe_positions": _positions(platform, probe),
        # market data is journaled all the time: count what a request could have added
        "journal_events": platform.journal.count(
            STATE_EVENTS, upto_seq=platform.journal.head_seq()
        ),
    }


def _positions(platform: Platform, key: str) -> object:
    # Quantities only: marks move with the market between the two reads.
    data = platform.get_json("/positions", key)
    rows = data.get("positions", data) if isinstance(data, dict) else data
    return (
        sorted((p.get("symbol"), p.get("quantity")) for p in rows)
        if isinstance(rows, list)
        else rows
    )


def _flat_side(platform: Platform, key: str) -> str:
    """Sell when the probe account is long, so its position stays near flat."""
    rows = _positions(platform, key)
    held = sum(q or 0 for s, q in rows if s == "AAPL") if isinstance(rows, list) else 0
    return "SELL" if held > 0 else "BUY"


def _wait_filled(platform: Platform, key: str, order_id: str, timeout_s: float = 10.0) -> dict:
    from assets.validation.platform import wait_for

    def filled() -> dict | None:
        order = platform.get_json(f"/orders/{order_id}", key)
        if order["status"] in {"REJECTED", "CANCELED", "EXPIRED"}:
            raise ProbeError(f"probe order {order_id} ended {order['status']}")
        return order if order["status"] == "FILLED" else None

    return wait_for(f"order {order_id} to fill", filled, timeout_s)
