"""Integration: one probe order end to end. Submitted through the API, filled by the
(simulated) venue, in the journal, shipped to the warehouse's orders and fills, in the
probe account's positions and P&L, and, for days whose TCA is materialised, in
tca_orders; with its order id (and fill ids) matching at every step."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd

from assets.execution_quality.tables import TCA_ORDERS
from assets.validation import queries
from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform, ProbeError, release, wait_for
from assets.validation.results import CheckResult, outcome
from assets.validation.suites.errors import _flat_side, _wait_filled
from assets.warehouse.tables import FILLS, ORDERS

# The TCA check looks at the newest days tca_orders holds, so a run stays bounded
# while the table grows (each day is among them while it is new).
TCA_DAYS = 7
TCA_DAY = "trading_day"
NAMES = (
    "integration_order_filled",
    "integration_order_journaled",
    "integration_order_shipped",
    "integration_order_in_positions",
    "integration_order_in_tca",
)


def integration(platform: Platform, config: ValidationConfig) -> list[CheckResult]:
    key, timeout = config.probe.api_key, config.integration.timeout_s
    results: list[CheckResult] = []

    def fail_rest(reason: str) -> list[CheckResult]:
        done = {r.name for r in results}
        return results + [outcome(config[n], False, reason) for n in NAMES if n not in done]

    try:
        before = _position(platform, key)
        _, end = _fills(platform, key, 0)  # the account's fills so far: read past them
        side = _flat_side(platform, key)
        order_id = platform.market_order(key, side)["order_id"]
        order = _wait_filled(platform, key, order_id, timeout)
        fills = [f for f in _fills(platform, key, end)[0] if f.get("order_id") == order_id]
    except (httpx.HTTPError, ProbeError) as exc:
        return fail_rest(f"the probe order did not fill: {exc}")
    fill_ids = sorted(str(f["fill_id"]) for f in fills)
    results.append(
        outcome(
            config["integration_order_filled"],
            bool(fill_ids),
            f"order {order_id} {order['status']}, fills {fill_ids}",
            extra={"order_id": order_id, "fill_ids": fill_ids},
        )
    )
    try:
        journaled = _journaled(platform, order_id)
    except ProbeError as exc:
        return fail_rest(str(exc))
    ok = {"OrderAccepted", "OrderFilled"} <= set(journaled["types"]) and sorted(
        journaled["fill_ids"]
    ) == fill_ids
    results.append(
        outcome(
            config["integration_order_journaled"],
            ok,
            f"journal events {journaled['types']}, fill ids {sorted(journaled['fill_ids'])}",
            extra={"order_id": order_id},
        )
    )
    after = _position(platform, key)
    moved = after - before
    expected = order["filled_quantity"] if side == "BUY" else -order["filled_quantity"]
    pnl_ok = _pnl_answers(platform, key)
    results.append(
        outcome(
            config["integration_order_in_positions"],
            moved == expected and pnl_ok,
            f"AAPL position {before} -> {after} (expected {expected:+d}); "
            f"/pnl {'answers' if pnl_ok else 'does not answer'}",
        )
    )
    try:
        shipped = wait_for(
            f"order {order_id} and its fills in the warehouse",
            lambda: _shipped(platform, order_id, len(fill_ids)),
            timeout,
            interval_s=1.0,
        )
    except ProbeError as exc:
        reason = f"{exc} (is the shipping sensor running?)"
        results.append(outcome(config["integration_order_shipped"], False, reason))
        return [*results, _in_tca(platform, config)]
    results.append(
        outcome(
            config["integration_order_shipped"],
            sorted(shipped) == fill_ids,
            f"warehouse fills of {order_id}: {sorted(shipped)}",
        )
    )
    return [*results, _in_tca(platform, config)]


def _position(platform: Platform, key: str) -> int:
    data = platform.get_json("/positions", key)
    rows = data.get("positions", []) if isinstance(data, dict) else data
    return int(sum(p.get("quantity") or 0 for p in rows if p.get("symbol") == "AAPL"))


def _fills(platform: Platform, key: str, cursor: int) -> tuple[list[dict[str, Any]], int]:
    """The account's fills from `cursor` on, and the cursor past the last one."""
    fills: list[dict[str, Any]] = []
    while True:
        page = platform.get_json(f"/fills?limit=1000&cursor={cursor}", key)
        fills += page["fills"]
        if page.get("next_cursor") is None:
            return fills, cursor + len(page["fills"])
        cursor = int(page["next_cursor"])


def _pnl_answers(platform: Platform, key: str) -> bool:
    try:
        platform.get_json("/pnl", key)
    except httpx.HTTPError:
        return False
    return True


def _journaled(platform: Platform, order_id: str) -> dict[str, list[str]]:
    """The probe order's events, read back from the journal (its newest events)."""
    head = platform.journal.head_seq()
    types = {"OrderAccepted", "OrderAcknowledged", "OrderFilled"}
    found: dict[str, list[str]] = {"types": [], "fill_ids": []}
    for batch in platform.journal.batches(types, after_seq=max(0, head - 50_000), upto_seq=head):
        for name, frame in batch.by_type.items():
            column = "order_id" if "order_id" in frame.columns else None
            if column is None:
                continue
            mine = frame[frame[column] == order_id]
            if len(mine):
                found["types"].append(name)
                if "fill_id" in mine.columns:
                    found["fill_ids"] += [str(v) for v in mine["fill_id"]]
    if not found["types"]:
        raise ProbeError(f"order {order_id} is not among the journal's newest 50,000 events")
    return found


def _shipped(platform: Platform, order_id: str, fills: int) -> list[str] | None:
    warehouse = platform.warehouse
    try:
        rows = warehouse.query(queries.rows_of_order(ORDERS, order_id, "count(*) AS n"))
        shipped = warehouse.query(queries.rows_of_order(FILLS, order_id, "fill_id"))
    except Exception:  # a table not created yet: not shipped yet
        return None
    finally:
        release(warehouse)  # shipping needs the file between two looks
    if not int(rows["n"].iloc[0]) or len(shipped) < fills:
        return None
    return [str(v) for v in shipped["fill_id"]]


def _in_tca(platform: Platform, config: ValidationConfig) -> CheckResult:
    """Probe orders accepted on the newest TCA_DAYS days that tca_orders holds are in
    it. The day arithmetic is pandas' (see queries.py: no portable SQL for it)."""
    check = config["integration_order_in_tca"]
    account = config.probe.account
    warehouse = platform.warehouse
    try:
        days = warehouse.query(queries.latest_days(TCA_ORDERS, TCA_DAY, TCA_DAYS))
        if days.empty:
            return outcome(check, True, "no TCA day materialised yet: nothing to compare")
        day_starts = set(pd.to_datetime(days["day"]).dt.floor("D"))
        start, end = min(day_starts), max(day_starts) + pd.Timedelta(days=1)
        accepted = warehouse.query(queries.accepted_orders(ORDERS, account, start, end))
        in_tca = warehouse.query(queries.orders_of_days(TCA_ORDERS, account, TCA_DAY, start, end))
    except Exception as exc:
        return outcome(check, True, f"TCA not materialised yet ({type(exc).__name__})")
    finally:
        release(warehouse)
    on_days = accepted[pd.to_datetime(accepted["ts"]).dt.floor("D").isin(day_starts)]
    ids = sorted(set(map(str, on_days["order_id"])) - set(map(str, in_tca["order_id"])))
    return outcome(
        check,
        not ids,
        f"probe orders accepted on TCA days but missing from tca_orders: {ids[:10]}"
        if ids
        else f"every probe order accepted on the newest {len(day_starts)} TCA days "
        f"({len(on_days)} orders) is in tca_orders",
    )
