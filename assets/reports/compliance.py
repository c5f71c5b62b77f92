"""Compliance findings of a trading day, as pure functions of its orders, fills and quotes.

Every finding has a rule id, a severity, the account and symbol, the time of
its first event and the orders involved. The rules (thresholds in
config/reports.toml [compliance]):

RESTRICTED_TRADE   ERROR    a fill in a symbol restricted for its account (the global
                            list or the account's); must never happen
RISK_REJECTIONS    INFO     the day's pre-trade risk rejections, per account and reason
ORDER_TO_TRADE     WARNING  per account and symbol, orders submitted / fills above
                            `order_to_trade_max` (no fill counts as one)
PRICE_COLLAR       WARNING  a limit order (submitted or replaced) whose limit is further
                            than `price_collar_pct` from the reference price risk used
SELF_TRADE         WARNING  one account buying and selling a symbol at the same price
                            within `wash_trade_window_s`
WASH_TRADE         WARNING  two accounts on opposite sides of a symbol at the same price
                            within `wash_trade_window_s`
CANCEL_BURST       WARNING  at least `cancel_burst_orders` orders of an account and symbol,
                            placed at or through the top of book (a buy limit at or above
                            the bid, a sell at or below the ask) and cancelled within
                            `cancel_within_s` of placement, all placed within
                            `cancel_burst_window_s`: a layering / spoofing pattern
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from assets.reports.config import ComplianceRules

ERROR: Final = "ERROR"
WARNING: Final = "WARNING"
INFO: Final = "INFO"
FINDING_COLUMNS: Final = (
    "finding_id",
    "rule_id",
    "severity",
    "account",
    "symbol",
    "first_time",
    "order_ids",
    "order_count",
    "detail",
)
SUBMITTED: Final = ("OrderAccepted", "OrderRejected")


def findings(
    events: pd.DataFrame, fills: pd.DataFrame, quotes: pd.DataFrame, rules: ComplianceRules
) -> pd.DataFrame:
    """All findings of the day: `events` the warehouse `orders` rows of the day (one per
    order event), `fills` the day's canonical fills, `quotes` the day's quotes."""
    found: list[tuple[object, ...]] = []
    found += restricted_trades(fills, rules)
    found += risk_rejections(events)
    found += order_to_trade(events, fills, rules)
    found += price_collar(events, rules)
    found += crossing_trades(fills, rules)
    found += cancel_bursts(events, quotes, rules)
    frame = pd.DataFrame(found, columns=list(FINDING_COLUMNS))
    frame["first_time"] = frame["first_time"].astype("datetime64[ns]")
    frame["order_count"] = frame["order_count"].astype(np.int64)
    return frame.sort_values(["rule_id", "first_time", "finding_id"], kind="stable").reset_index(
        drop=True
    )


def _finding(
    rule: str,
    severity: str,
    account: object,
    symbol: object,
    first: object,
    orders: list[str],
    detail: str,
    suffix: str = "",
) -> tuple[object, ...]:
    ids = sorted(set(orders))
    key = suffix or (ids[0] if ids else "")
    return (
        f"{rule}:{account}:{symbol}:{key}",
        rule,
        severity,
        account,
        symbol,
        first,
        ",".join(ids),
        len(ids),
        detail,
    )


def restricted_trades(fills: pd.DataFrame, rules: ComplianceRules) -> list[tuple[object, ...]]:
    if fills.empty:
        return []
    restricted = [
        symbol in rules.restricted_for(account)
        for account, symbol in zip(fills["account"], fills["symbol"], strict=True)
    ]
    bad = fills[np.asarray(restricted, dtype=bool)]
    out = []
    for (account, symbol), group in bad.groupby(["account", "symbol"], sort=True):
        out.append(
            _finding(
                "RESTRICTED_TRADE",
                ERROR,
                account,
                symbol,
                group["ts"].min(),
                list(group["order_id"]),
                f"{len(group)} fills, {int(group['quantity'].sum())} shares of a restricted symbol",
            )
        )
    return out


def risk_rejections(events: pd.DataFrame) -> list[tuple[object, ...]]:
    rejected = events[events["event_type"] == "OrderRejected"] if len(events) else events
    out: list[tuple[object, ...]] = []
    if rejected.empty:
        return out
    rejected = rejected.assign(reason=rejected["reason"].fillna("UNKNOWN"))
    for (account, reason), group in rejected.groupby(["account", "reason"], sort=True):
        out.append(
            _finding(
                "RISK_REJECTIONS",
                INFO,
                account,
                None,
                group["ts"].min(),
                list(group["order_id"]),
                f"{len(group)} orders rejected by pre-trade risk: {reason}",
                suffix=str(reason),
            )
        )
    return out


def order_to_trade(
    events: pd.DataFrame, fills: pd.DataFrame, rules: ComplianceRules
) -> list[tuple[object, ...]]:
    if events.empty:
        return []
    submitted = events[events["event_type"].isin(SUBMITTED)].drop_duplicates("order_id")
    fill_counts = fills.groupby(["account", "symbol"]).size() if len(fills) else pd.Series()
    out = []
    for (account, symbol), group in submitted.groupby(["account", "symbol"], sort=True):
        trades = int(fill_counts.get((account, symbol), 0))
        ratio = len(group) / max(trades, 1)
        if ratio > rules.order_to_trade_max:
            out.append(
                _finding(
                    "ORDER_TO_TRADE",
                    WARNING,
                    account,
                    symbol,
                    group["ts"].min(),
                    list(group["order_id"]),
                    f"{len(group)} orders for {trades} fills: ratio {ratio:.1f} > "
                    f"{rules.order_to_trade_max:g}",
                    suffix="day",
                )
            )
    return out


def price_collar(events: pd.DataFrame, rules: ComplianceRules) -> list[tuple[object, ...]]:
    if events.empty:
        return []
    kinds = (*SUBMITTED, "OrderReplaced")
    priced = events[
        events["event_type"].isin(kinds)
        & events["limit_price"].notna()
        & events["reference_price"].notna()
        & (events["reference_price"] > 0)
    ]
    accounts = _accounts(events)
    distance = (priced["limit_price"] - priced["reference_price"]).abs() / priced["reference_price"]
    outside = priced[distance * 100.0 > rules.price_collar_pct]
    out = []
    rows: list[Any] = list(outside.itertuples())
    for row, pct in zip(rows, (distance[outside.index] * 100).tolist(), strict=True):
        out.append(
            _finding(
                "PRICE_COLLAR",
                WARNING,
                accounts.get(row.order_id, row.account),
                row.symbol,
                row.ts,
                [str(row.order_id)],
                f"{row.event_type}: limit {row.limit_price:g} is {pct:.1f}% from the reference "
                f"{row.reference_price:g} (collar {rules.price_collar_pct:g}%)",
                suffix=f"{row.order_id}:{row.seq}",
            )
        )
    return out


def crossing_trades(fills: pd.DataFrame, rules: ComplianceRules) -> list[tuple[object, ...]]:
    """Self-trades (one account) and wash trades (two accounts): a buy and a sell fill of
    a symbol at the same price within the window, each pair reported once."""
    if fills.empty:
        return []
    window = pd.Timedelta(seconds=rules.wash_trade_window_s)
    out = []
    for symbol, group in fills.groupby("symbol", sort=True):
        buys = group[group["side"] == "BUY"]
        sells = group[group["side"] == "SELL"].sort_values("ts")
        if buys.empty or sells.empty:
            continue
        sell_ts = sells["ts"].to_numpy(dtype="datetime64[ns]")
        buy_rows: list[Any] = list(buys.itertuples())
        for buy in buy_rows:
            low = np.searchsorted(sell_ts, np.datetime64(buy.ts - window), side="left")
            high = np.searchsorted(sell_ts, np.datetime64(buy.ts + window), side="right")
            sell_rows: list[Any] = list(sells.iloc[low:high].itertuples())
            for sell in sell_rows:
                if abs(sell.price - buy.price) > 1e-9:
                    continue
                same = buy.account == sell.account
                rule = "SELF_TRADE" if same else "WASH_TRADE"
                account = buy.account if same else f"{buy.account}+{sell.account}"
                out.append(
                    _finding(
                        rule,
                        WARNING,
                        account,
                        symbol,
                        min(buy.ts, sell.ts),
                        [str(buy.order_id), str(sell.order_id)],
                        f"buy {buy.fill_id} ({buy.account}) and sell {sell.fill_id} "
                        f"({sell.account}) at {buy.price:g}, "
                        f"{abs((sell.ts - buy.ts).total_seconds()):.3f} s apart",
                        suffix=f"{buy.fill_id}/{sell.fill_id}",
                    )
                )
    return out


def cancel_bursts(
    events: pd.DataFrame, quotes: pd.DataFrame, rules: ComplianceRules
) -> list[tuple[object, ...]]:
    if events.empty:
        return []
    placed = events[events["event_type"] == "OrderAccepted"].drop_duplicates("order_id")
    placed = placed[placed["limit_price"].notna()]
    canceled = events[events["event_type"] == "OrderCanceled"].drop_duplicates("order_id")
    if placed.empty or canceled.empty:
        return []
    merged = placed.merge(
        canceled[["order_id", "ts"]].rename(columns={"ts": "cancel_ts"}), on="order_id"
    )
    quick = merged[
        (merged["cancel_ts"] - merged["ts"]) <= pd.Timedelta(seconds=rules.cancel_within_s)
    ]
    if quick.empty:
        return []
    top = _at_top_of_book(quick, quotes)
    quick = quick[top]
    out = []
    span = pd.Timedelta(seconds=rules.cancel_burst_window_s)
    for (account, symbol), group in quick.groupby(["account", "symbol"], sort=True):
        group = group.sort_values("ts")
        times = group["ts"].tolist()
        ids = group["order_id"].astype(str).tolist()
        i = 0
        while i < len(times):
            j = i
            while j + 1 < len(times) and times[j + 1] - times[i] <= span:
                j += 1
            if j - i + 1 >= rules.cancel_burst_orders:
                out.append(
                    _finding(
                        "CANCEL_BURST",
                        WARNING,
                        account,
                        symbol,
                        times[i],
                        ids[i : j + 1],
                        f"{j - i + 1} orders at the top of book cancelled within "
                        f"{rules.cancel_within_s:g} s of placement, placed within "
                        f"{(times[j] - times[i]).total_seconds():.1f} s",
                    )
                )
                i = j + 1
            else:
                i += 1
    return out


def _at_top_of_book(orders: pd.DataFrame, quotes: pd.DataFrame) -> np.ndarray:
    """Whether each order's limit was at or through the as-of top of book at placement
    (an order with no quote before it counts as at the top: nothing was better)."""
    result = np.ones(len(orders), dtype=bool)
    if quotes.empty:
        return result
    order_rows: list[Any] = list(orders.itertuples())
    for position, row in enumerate(order_rows):
        mine = quotes[(quotes["symbol"] == row.symbol) & (quotes["ts"] <= row.ts)]
        if mine.empty:
            continue
        last = mine.iloc[-1]
        if row.side == "BUY":
            result[position] = row.limit_price >= last["bid"]
        else:
            result[position] = row.limit_price <= last["ask"]
    return result


def _accounts(events: pd.DataFrame) -> dict[str, str]:
    submitted = events[events["event_type"].isin(SUBMITTED)]
    return dict(zip(submitted["order_id"], submitted["account"], strict=True))


def empty_findings() -> pd.DataFrame:
    return findings(
        pd.DataFrame(columns=["event_type", "order_id"]),
        pd.DataFrame(columns=["account", "symbol"]),
        pd.DataFrame(columns=["symbol", "ts", "bid", "ask"]),
        ComplianceRules(),
    )
