"""From the warehouse's shipped tables to the TCA library's input frames.

The warehouse keeps order *events* (one row per lifecycle event, `orders`),
not orders, so an order's TCA facts are derived here, for the orders
submitted in a window [start, end), from their events before `end` (the
cutoff):

    submit_time   ts of its OrderAccepted (or OrderRejected) row
    quantity      the quantity of its last OrderReplaced row, else the requested one
    end_status    REJECTED  risk-rejected (OrderRejected: end_time = submit_time)
                            or rejected by the venue (VenueRejected)
                  CANCELED  OrderCanceled (user, IOC/FOK remainder, ...)
                  EXPIRED   OrderExpired
                  FILLED    its OrderFilled quantities reach its quantity
                  OPEN      none of these before the cutoff
    end_time      ts of the event that ended it (the completing fill for FILLED)

    decision_price  the client's decision price from its OrderAccepted or
                  OrderRejected row (`orders.decision_price` where
                  `decision_price_source` is CLIENT); null otherwise, so the
                  library uses its own arrival mid. The core records the live
                  arrival mid when the client gives none (ARRIVAL_MID), but the
                  library's M0 is the as-of mid of the *shipped* quotes (sampled
                  by the service), so taking the core's figure would show the
                  sampling gap as delay cost; both follow the same rule.
    fee           `fills.fee`, the venue's charge per fill (0 where null, as in
                  warehouses shipped before fees existed)

Every read goes through the `Warehouse` resource's `query` verb with portable
SQL (plain SELECT/JOIN/GROUP BY, ISO timestamp literals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from assets.execution_quality.tca import CANCELED, EXPIRED, FILLED, OPEN, REJECTED
from assets.resources import Warehouse, sql_string
from assets.timestamps import timestamp_literal
from assets.warehouse.tables import FILLS, ORDERS, QUOTES, TRADES

SUBMITTED: Final = ("OrderAccepted", "OrderRejected")
ENDED_BY: Final = {
    "OrderRejected": REJECTED,
    "VenueRejected": REJECTED,
    "OrderCanceled": CANCELED,
    "OrderExpired": EXPIRED,
}
# How far back the arrival quote of the window's first orders may be: the last
# quote of each symbol in this span before the window is loaded with it.
QUOTE_LOOKBACK: Final = pd.Timedelta(days=7)

_ORDER_COLUMNS: Final = (
    "order_id",
    "account",
    "symbol",
    "side",
    "quantity",
    "order_type",
    "decision_price",
    "submit_time",
    "end_time",
    "end_status",
)


@dataclass(frozen=True)
class TcaInputs:
    """The library's four input frames for one window, and its cutoff."""

    orders: pd.DataFrame
    fills: pd.DataFrame
    quotes: pd.DataFrame
    trades: pd.DataFrame
    cutoff: pd.Timestamp


def orders_from_events(
    events: pd.DataFrame, start: pd.Timestamp, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """One row per order submitted in [start, cutoff), in the library's order
    columns, from rows of the warehouse `orders` table (any order of rows)."""
    if events.empty:
        return _empty_orders()
    events = events[events["ts"] < cutoff].sort_values("seq", kind="stable")
    submissions = events[events["event_type"].isin(SUBMITTED)].drop_duplicates(
        "order_id", keep="first"
    )
    submissions = submissions[submissions["ts"] >= start]
    if submissions.empty:
        return _empty_orders()
    ids = pd.Index(submissions["order_id"])
    mine = events[events["order_id"].isin(ids)]
    position = ids.get_indexer(mine["order_id"])
    n = len(ids)

    quantity = submissions["quantity"].to_numpy(dtype=np.int64).copy()
    replaced = mine[mine["event_type"] == "OrderReplaced"].drop_duplicates("order_id", keep="last")
    quantity[ids.get_indexer(replaced["order_id"])] = replaced["quantity"].to_numpy(np.int64)

    is_fill = (mine["event_type"] == "OrderFilled").to_numpy()
    filled = np.bincount(
        position[is_fill],
        weights=mine["quantity"].to_numpy(dtype=np.float64, na_value=np.nan)[is_fill],
        minlength=n,
    )
    fill_times = mine["ts"].to_numpy()[is_fill].astype("datetime64[ns]").view(np.int64)
    nat = np.iinfo(np.int64).min
    last_fill = np.full(n, nat, dtype=np.int64)
    np.maximum.at(last_fill, position[is_fill], fill_times)

    status = np.full(n, OPEN, dtype=object)
    end = np.full(n, nat, dtype=np.int64)
    complete = filled >= quantity
    status[complete] = FILLED
    end[complete] = last_fill[complete]
    enders = mine[mine["event_type"].isin(list(ENDED_BY))].drop_duplicates("order_id")
    at = ids.get_indexer(enders["order_id"])
    status[at] = enders["event_type"].map(ENDED_BY).to_numpy(dtype=object)
    end[at] = enders["ts"].to_numpy().astype("datetime64[ns]").view(np.int64)

    decision = (
        submissions["decision_price"]
        if "decision_price" in submissions.columns
        else pd.Series(np.nan, index=submissions.index)
    )
    if "decision_price_source" in submissions.columns:
        decision = decision.where(submissions["decision_price_source"] == "CLIENT")
    return pd.DataFrame(
        {
            "order_id": ids.to_numpy(dtype=object),
            "account": submissions["account"].to_numpy(dtype=object),
            "symbol": submissions["symbol"].to_numpy(dtype=object),
            "side": submissions["side"].to_numpy(dtype=object),
            "quantity": quantity,
            "order_type": submissions["order_type"].to_numpy(dtype=object),
            "decision_price": pd.to_numeric(decision, errors="coerce").to_numpy(np.float64),
            "submit_time": submissions["ts"].to_numpy().astype("datetime64[ns]"),
            "end_time": end.view("datetime64[ns]"),
            "end_status": status,
        }
    )


def fills_from_table(fills: pd.DataFrame, order_ids: pd.Series) -> pd.DataFrame:
    """The library's fill columns for these orders, from the warehouse `fills` table."""
    mine = fills[fills["order_id"].isin(order_ids)].sort_values("seq", kind="stable")
    return pd.DataFrame(
        {
            "fill_id": mine["fill_id"].to_numpy(dtype=object),
            "order_id": mine["order_id"].to_numpy(dtype=object),
            "time": mine["ts"].to_numpy().astype("datetime64[ns]"),
            "price": mine["price"].to_numpy(dtype=np.float64),
            "quantity": mine["quantity"].to_numpy(dtype=np.int64),
            "fee": (
                pd.to_numeric(mine["fee"], errors="coerce").to_numpy(np.float64)
                if "fee" in mine.columns
                else np.zeros(len(mine))
            ),
        }
    )


def load_window(
    warehouse: Warehouse, start: pd.Timestamp, end: pd.Timestamp, lookahead: pd.Timedelta
) -> TcaInputs:
    """The orders submitted in [start, end), their fills, and the market data the
    metrics look at: the quotes from each symbol's last one before `start` to
    `end + lookahead` (the longest markout horizon) and the trades in [start, end]."""
    warehouse.ensure_schema([ORDERS, FILLS, QUOTES, TRADES])
    since, until = timestamp_literal(start), timestamp_literal(end)
    events = warehouse.query(f"SELECT * FROM {ORDERS.name} WHERE ts >= {since} AND ts < {until}")
    orders = orders_from_events(events, start, end)
    fills = fills_from_table(
        warehouse.query(f"SELECT * FROM {FILLS.name} WHERE ts >= {since} AND ts < {until}"),
        orders["order_id"],
    )
    symbols = sorted(set(orders["symbol"].dropna()))
    if not symbols:
        return TcaInputs(orders, fills, _empty_quotes(), _empty_trades(), end)
    wanted = ", ".join(sql_string(s) for s in symbols)
    latest = timestamp_literal(end + lookahead)
    before = warehouse.query(
        f"SELECT q.ts, q.seq, q.symbol, q.bid, q.ask FROM {QUOTES.name} q JOIN ("
        f"SELECT symbol, max(ts) AS last_ts FROM {QUOTES.name} "
        f"WHERE ts >= {timestamp_literal(start - QUOTE_LOOKBACK)} AND ts < {since} "
        f"AND symbol IN ({wanted}) GROUP BY symbol"
        f") p ON q.symbol = p.symbol AND q.ts = p.last_ts"
    )
    during = warehouse.query(
        f"SELECT ts, seq, symbol, bid, ask FROM {QUOTES.name} "
        f"WHERE ts >= {since} AND ts <= {latest} AND symbol IN ({wanted})"
    )
    trades = warehouse.query(
        f"SELECT ts, seq, symbol, price, size FROM {TRADES.name} "
        f"WHERE ts >= {since} AND ts <= {until} AND symbol IN ({wanted})"
    )
    quotes = pd.concat([before, during], ignore_index=True).sort_values(["ts", "seq"])
    trades = trades.sort_values(["ts", "seq"])
    return TcaInputs(
        orders,
        fills,
        pd.DataFrame(
            {
                "symbol": quotes["symbol"].to_numpy(dtype=object),
                "time": quotes["ts"].to_numpy().astype("datetime64[ns]"),
                "bid": quotes["bid"].to_numpy(dtype=np.float64),
                "ask": quotes["ask"].to_numpy(dtype=np.float64),
            }
        ),
        pd.DataFrame(
            {
                "symbol": trades["symbol"].to_numpy(dtype=object),
                "time": trades["ts"].to_numpy().astype("datetime64[ns]"),
                "price": trades["price"].to_numpy(dtype=np.float64),
                "quantity": trades["size"].to_numpy(dtype=np.int64),
            }
        ),
        end,
    )


def _empty_orders() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in _ORDER_COLUMNS})
    frame["quantity"] = frame["quantity"].astype(np.int64)
    frame["decision_price"] = frame["decision_price"].astype(np.float64)
    for column in ("submit_time", "end_time"):
        frame[column] = frame[column].astype("datetime64[ns]")
    return frame


def _empty_quotes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype=object),
            "time": pd.Series(dtype="datetime64[ns]"),
            "bid": pd.Series(dtype=np.float64),
            "ask": pd.Series(dtype=np.float64),
        }
    )


def _empty_trades() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype=object),
            "time": pd.Series(dtype="datetime64[ns]"),
            "price": pd.Series(dtype=np.float64),
            "quantity": pd.Series(dtype=np.int64),
        }
    )
