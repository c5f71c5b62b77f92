"""Feature rows from warehouse frames: pure functions, SQL window functions in DuckDB.

The warehouse is read with portable SELECTs (the same frames from DuckDB or QuestDB);
the window arithmetic runs here, on an in-memory DuckDB connection over those frames,
so that it is one SQL text for both backends. No file is opened.

Point in time by construction: an input stamped ts belongs to the minute ending at
t = ceil(ts to the minute), so a row stamped t uses only inputs with ts <= t, and each
row carries `data_ts`, the newest input it used (checked: data_ts <= event_timestamp).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import duckdb
import numpy as np
import pandas as pd

from realtime.feature_schema import (
    ACCOUNT_ACTIVITY,
    ALT_SIGNALS,
    CREATED_TS,
    DATA_TS,
    EVENT_TS,
    MINUTES_PER_YEAR,
    SYMBOL_ALT,
    SYMBOL_MARKET,
    View,
)
from realtime.pnl import apply_fill

# the minute an input at ts counts for: its end, so an input exactly on a minute
# boundary is that minute's last
_BUCKET = "date_trunc('minute', ts - INTERVAL 1 MICROSECOND) + INTERVAL 1 MINUTE"
_ANNUALISE = math.sqrt(MINUTES_PER_YEAR)


def _sql(sql: str, **frames: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect(":memory:")
    try:
        for name, frame in frames.items():
            con.register(name, frame)
        return con.execute(sql).df()
    finally:
        con.close()


def _finish(
    frame: pd.DataFrame,
    view: View,
    start: pd.Timestamp,
    end: pd.Timestamp,
    computed_at: pd.Timestamp,
) -> pd.DataFrame:
    """Rows of (start, end] only, typed as the view declares, timestamps tz-aware UTC
    in microseconds (what Feast's DuckDB offline store reads reliably)."""
    start, end = _naive_ts(start), _naive_ts(end)
    frame = frame[(frame[EVENT_TS] > start) & (frame[EVENT_TS] <= end)].copy()
    for f in view.features:
        frame[f.name] = frame[f.name].astype("Int64" if f.dtype == "int64" else "float64")
    for column in (EVENT_TS, DATA_TS):
        frame[column] = (
            pd.to_datetime(frame[column]).dt.tz_localize("UTC").astype("datetime64[us, UTC]")
        )
    frame[CREATED_TS] = pd.Timestamp(computed_at).tz_convert("UTC").as_unit("us")
    columns = [view.entity, EVENT_TS, *(f.name for f in view.features), DATA_TS, CREATED_TS]
    return frame[columns].sort_values([EVENT_TS, view.entity]).reset_index(drop=True)


def market_features(
    quotes: pd.DataFrame,
    trades: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    computed_at: pd.Timestamp,
) -> pd.DataFrame:
    """symbol_market_fv rows for the minutes in (start, end]. `quotes` and `trades`
    (warehouse columns, naive UTC) must reach back 31 minutes before `start` for the
    30-minute return and volatility of the first rows."""
    sql = f"""
    WITH q AS (
        SELECT symbol, ts, (bid + ask) / 2 AS mid,
               (ask - bid) / ((bid + ask) / 2) * 1e4 AS spread_bps,
               bid_size, ask_size, {_BUCKET} AS t
        FROM quotes WHERE bid > 0 AND ask > 0
    ),
    qm AS (
        SELECT symbol, t, arg_max(mid, ts) AS mid, arg_max(spread_bps, ts) AS last_spread_bps,
               avg(spread_bps) AS avg_spread_bps_1m,
               arg_max((bid_size - ask_size) / nullif(bid_size + ask_size, 0), ts)
                   AS book_imbalance,
               max(ts) AS quote_ts
        FROM q GROUP BY symbol, t
    ),
    tm AS (
        SELECT symbol, {_BUCKET} AS t, count(*) AS trade_count_1m,
               sum(size) AS trade_volume_1m, max(ts) AS trade_ts
        FROM trades GROUP BY symbol, t
    ),
    bounds AS (SELECT symbol, min(t) AS t0, max(t) AS t1 FROM qm GROUP BY symbol),
    grid AS (
        SELECT symbol, unnest(generate_series(t0, t1, INTERVAL 1 MINUTE)) AS t FROM bounds
    ),
    filled AS (
        SELECT g.symbol, g.t,
               last_value(qm.mid IGNORE NULLS) OVER w AS mid_price,
               last_value(qm.last_spread_bps IGNORE NULLS) OVER w AS last_spread_bps,
               qm.avg_spread_bps_1m,
               last_value(qm.book_imbalance IGNORE NULLS) OVER w AS book_imbalance,
               last_value(qm.quote_ts IGNORE NULLS) OVER w AS quote_ts,
               coalesce(tm.trade_count_1m, 0) AS trade_count_1m,
               coalesce(tm.trade_volume_1m, 0) AS trade_volume_1m,
               max(tm.trade_ts) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS trade_ts
        FROM grid g
        LEFT JOIN qm USING (symbol, t)
        LEFT JOIN tm USING (symbol, t)
        WINDOW w AS (PARTITION BY g.symbol ORDER BY g.t)
    ),
    returns AS (
        SELECT *,
               ln(mid_price / lag(mid_price, 1) OVER w) AS log_return_1m,
               ln(mid_price / lag(mid_price, 5) OVER w) AS log_return_5m,
               ln(mid_price / lag(mid_price, 30) OVER w) AS log_return_30m,
               sum(trade_count_1m) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)
                   AS trade_count_5m,
               sum(trade_volume_1m) OVER (w ROWS BETWEEN 4 PRECEDING AND CURRENT ROW)
                   AS trade_volume_5m
        FROM filled WINDOW w AS (PARTITION BY symbol ORDER BY t)
    )
    SELECT symbol, t AS {EVENT_TS}, mid_price, log_return_1m, log_return_5m, log_return_30m,
           CASE WHEN count(log_return_1m) OVER w5 = 5
                THEN stddev_samp(log_return_1m) OVER w5 * {_ANNUALISE} END AS realized_vol_5m,
           CASE WHEN count(log_return_1m) OVER w30 = 30
                THEN stddev_samp(log_return_1m) OVER w30 * {_ANNUALISE} END AS realized_vol_30m,
           avg_spread_bps_1m, last_spread_bps, trade_count_1m, trade_volume_1m,
           trade_count_5m, trade_volume_5m, book_imbalance,
           greatest(quote_ts, coalesce(trade_ts, quote_ts)) AS {DATA_TS}
    FROM returns
    WINDOW w5 AS (PARTITION BY symbol ORDER BY t ROWS BETWEEN 4 PRECEDING AND CURRENT ROW),
           w30 AS (PARTITION BY symbol ORDER BY t ROWS BETWEEN 29 PRECEDING AND CURRENT ROW)
    """
    frame = _sql(sql, quotes=_naive(quotes), trades=_naive(trades))
    return _finish(frame, SYMBOL_MARKET, start, end, computed_at)


def alt_features(
    signals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, computed_at: pd.Timestamp
) -> pd.DataFrame:
    """symbol_alt_fv rows: at each minute (in (start, end]) a symbol got a new value of
    any listed signal, every signal's latest value as of then and its age. `signals`
    must reach back the view's TTL before `start`."""
    joins = "\n".join(
        f"""ASOF LEFT JOIN (SELECT * FROM latest WHERE signal = '{name}') s{i}
              ON k.symbol = s{i}.symbol AND k.t >= s{i}.t"""
        for i, name in enumerate(ALT_SIGNALS)
    )
    values = ",\n".join(
        f"s{i}.value AS {name}, epoch(k.t) - epoch(s{i}.vts) AS {name}_age_s"
        for i, name in enumerate(ALT_SIGNALS)
    )
    newest = ", ".join(f"s{i}.vts" for i in range(len(ALT_SIGNALS)))
    listed = ", ".join(f"'{name}'" for name in ALT_SIGNALS)
    sql = f"""
    WITH latest AS (
        SELECT symbol, signal, {_BUCKET} AS t, arg_max(value, ts) AS value, max(ts) AS vts
        FROM signals WHERE signal IN ({listed}) GROUP BY ALL
    ),
    keys AS (SELECT DISTINCT symbol, t FROM latest)
    SELECT k.symbol, k.t AS {EVENT_TS}, {values}, greatest({newest}) AS {DATA_TS}
    FROM keys k
    {joins}
    """
    frame = _sql(sql, signals=_naive(signals[["ts", "symbol", "signal", "value"]]))
    return _finish(frame, SYMBOL_ALT, start, end, computed_at)


def realized_per_fill(fills: pd.DataFrame) -> pd.Series:
    """Each fill's realized P&L net of its fee, average cost per (account, symbol) over
    the fills in order (the service's own arithmetic, realtime.pnl)."""
    realized = np.zeros(len(fills))
    books: dict[tuple[str, str], tuple[int, float]] = {}
    ordered = fills.sort_values(["ts", "seq"]) if "seq" in fills else fills.sort_values("ts")
    for index, row in ordered.iterrows():
        key = (str(row["account"]), str(row["symbol"]))
        quantity, cost = books.get(key, (0, 0.0))
        signed = int(row["quantity"]) * (1 if row["side"] == "BUY" else -1)
        change = apply_fill(quantity, cost, signed, float(row["price"]))
        books[key] = (change.quantity, change.average_cost)
        fee = row.get("fee")
        realized[fills.index.get_loc(index)] = change.realized - (
            0.0 if fee is None or pd.isna(fee) else float(fee)
        )
    return pd.Series(realized, index=fills.index)


def account_features(
    orders: pd.DataFrame,
    fills: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    computed_at: pd.Timestamp,
) -> pd.DataFrame:
    """account_activity_fv rows at each minute (in (start, end]) an account had an order
    event or a fill, cumulative since the start of that UTC day. `orders` must reach back
    to the start of `start`'s day; `fills` over the whole history (for average cost)."""
    fills = fills.copy()
    fills["realized"] = realized_per_fill(fills) if len(fills) else pd.Series(dtype="float64")
    sql = f"""
    WITH events AS (
        SELECT account, ts, 1 AS submits,
               CASE WHEN event_type = 'OrderAccepted' THEN 1 ELSE 0 END AS accepts,
               CASE WHEN event_type = 'OrderRejected' THEN 1 ELSE 0 END AS rejects,
               0 AS fills, 0 AS first_fills, 0.0 AS realized
        FROM orders WHERE event_type IN ('OrderAccepted', 'OrderRejected')
        UNION ALL
        SELECT account, ts, 0, 0, 0, 1,
               CASE WHEN row_number() OVER (PARTITION BY order_id ORDER BY ts) = 1
                    THEN 1 ELSE 0 END,
               realized
        FROM fills
    ),
    minutes AS (
        SELECT account, {_BUCKET} AS t, sum(submits) AS submits, sum(accepts) AS accepts,
               sum(rejects) AS rejects, sum(fills) AS fills, sum(first_fills) AS first_fills,
               sum(realized) AS realized, max(ts) AS data_ts
        FROM events GROUP BY account, t
    ),
    running AS (
        SELECT account, t, data_ts,
               sum(submits) OVER w AS submits, sum(accepts) OVER w AS accepts,
               sum(rejects) OVER w AS rejects, sum(fills) OVER w AS fills,
               sum(first_fills) OVER w AS first_fills, sum(realized) OVER w AS realized
        FROM minutes
        WINDOW w AS (PARTITION BY account, date_trunc('day', t - INTERVAL 1 MICROSECOND)
                     ORDER BY t ROWS UNBOUNDED PRECEDING)
    )
    SELECT account, t AS {EVENT_TS}, submits AS orders_today,
           first_fills / nullif(accepts, 0) AS fill_rate,
           submits / nullif(fills, 0) AS order_to_trade_ratio,
           rejects / nullif(submits, 0) AS rejection_rate,
           realized AS realized_pnl_today, data_ts AS {DATA_TS}
    FROM running
    """
    day_start = _naive_ts(start).floor("D")
    orders = _naive(orders)
    orders = orders[(orders["ts"] >= day_start) & orders["account"].notna()]
    today_fills = _naive(fills)
    today_fills = today_fills[today_fills["ts"] >= day_start]
    frame = _sql(
        sql,
        orders=orders[["account", "ts", "event_type"]],
        fills=today_fills[["account", "ts", "order_id", "realized"]],
    )
    return _finish(frame, ACCOUNT_ACTIVITY, start, end, computed_at)


def _naive_ts(stamp: object) -> pd.Timestamp:
    value = pd.Timestamp(stamp)  # type: ignore[arg-type]
    return value.tz_convert("UTC").tz_localize(None) if value.tzinfo is not None else value


def _naive(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps naive UTC in microseconds, as the warehouse returns them and the SQL
    above compares them."""
    frame = frame.copy()
    for column in ("ts",):
        if column in frame:
            values = pd.to_datetime(frame[column])
            if values.dt.tz is not None:
                values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            frame[column] = values.astype("datetime64[us]")
    return frame


def hours(start: pd.Timestamp, end: pd.Timestamp) -> Iterable[pd.Timestamp]:
    """The hours whose (hour, hour + 1h] event times meet (start, end]."""
    hour = _naive_ts(start).floor("h")
    while hour < _naive_ts(end):
        yield hour
        hour += pd.Timedelta(hours=1)
