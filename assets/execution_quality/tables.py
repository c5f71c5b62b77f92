"""The warehouse tables of the execution-quality group, declared once.

Each TCA row belongs to the trading day (UTC date) its order was submitted on,
`trading_day`, which is also the Dagster partition that writes it. A day's
orders are those submitted in it and their fills come before the day's end, so
every row of a day has its designated timestamp (submit_time, fill_time,
trading_day) inside the day: each asset replaces the window
[day start, day end) with `Warehouse.replace_partition`, so re-running a day
rewrites that day's rows, drops those it no longer produces, and touches no
other day's.

The definitions of the metrics are in `assets.execution_quality.tca`.
"""

from __future__ import annotations

from typing import Final

from assets.execution_quality.tca import DEFAULT_HORIZONS_S, horizon_label
from assets.resources import Column, ColumnType, TableSpec

TS, SYM, STR, LONG, DOUBLE = (
    ColumnType.TIMESTAMP,
    ColumnType.SYMBOL,
    ColumnType.VARCHAR,
    ColumnType.LONG,
    ColumnType.DOUBLE,
)

# The horizons the stored tables carry (the library takes any).
HORIZONS_S: Final = DEFAULT_HORIZONS_S

_DAY = Column("trading_day", TS, "the UTC date the order was submitted on (the partition)")

TCA_ORDERS: Final = TableSpec(
    name="tca_orders",
    description="One row per order submitted on the trading day, with every TCA metric.",
    timestamp="submit_time",
    keys=("order_id",),
    columns=(
        _DAY,
        Column("order_id", STR),
        Column("account", SYM),
        Column("symbol", SYM),
        Column("side", SYM),
        Column("side_sign", LONG, "s: +1 buy, -1 sell"),
        Column("order_type", SYM),
        Column("quantity", LONG, "Q, after the last accepted replace"),
        Column("submit_time", TS),
        Column("end_time", TS, "when it became terminal (null: open at the day's end)"),
        Column("end_status", SYM, "FILLED, CANCELED, EXPIRED, REJECTED or OPEN"),
        Column("filled_quantity", LONG, "q"),
        Column("fill_count", LONG),
        Column("avg_price", DOUBLE, "sum(P * qty) / q"),
        Column("fill_rate", DOUBLE, "q / Q"),
        Column("fees", DOUBLE, "sum of the fills' fees, currency"),
        Column("decision_price", DOUBLE, "Pd: the order's, else the arrival mid"),
        Column("decision_price_source", SYM, "ORDER or ARRIVAL_MID"),
        Column("arrival_bid", DOUBLE),
        Column("arrival_ask", DOUBLE),
        Column("arrival_mid", DOUBLE, "M0: as-of mid at submit_time"),
        Column("arrival_quote_time", TS, "time of the quote M0 came from"),
        Column("arrival_spread_bps", DOUBLE),
        Column("arrival_slippage_bps", DOUBLE, "s * (avg - M0) / M0 * 1e4"),
        Column("opportunity_time", TS, "when Pc was taken (null: nothing left unfilled)"),
        Column("end_mid", DOUBLE, "Pc: as-of mid at opportunity_time"),
        Column("end_quote_time", TS, "time of the quote Pc came from"),
        Column("is_delay", DOUBLE, "s * q * (M0 - Pd)"),
        Column("is_execution", DOUBLE, "s * q * (avg - M0)"),
        Column("is_opportunity", DOUBLE, "s * (Q - q) * (Pc - Pd)"),
        Column("is_fees", DOUBLE),
        Column("implementation_shortfall", DOUBLE, "fees + delay + execution + opportunity"),
        Column("is_bps", DOUBLE, "IS / (Q * Pd) * 1e4"),
        Column("is_delay_bps", DOUBLE),
        Column("is_execution_bps", DOUBLE),
        Column("is_opportunity_bps", DOUBLE),
        Column("is_fees_bps", DOUBLE),
        Column("window_start", TS, "submit_time"),
        Column("window_end", TS, "last fill, or the cancel/expiry/reject, or the day's end"),
        Column("market_volume", DOUBLE, "tape volume in the window, both ends inclusive"),
        Column("market_vwap", DOUBLE),
        Column("vwap_slippage_bps", DOUBLE, "s * (avg - VWAP) / VWAP * 1e4"),
        Column("twap_mid", DOUBLE, "time-weighted as-of mid over the window"),
        Column("twap_slippage_bps", DOUBLE, "s * (avg - TWAP) / TWAP * 1e4"),
        Column("participation_rate", DOUBLE, "q / market volume"),
        Column("flags", STR, "comma-separated codes, e.g. NO_ARRIVAL_QUOTE"),
    ),
)


def _horizon_columns() -> tuple[Column, ...]:
    columns: list[Column] = []
    for h in HORIZONS_S:
        label = horizon_label(h)
        columns += [
            Column(f"mid_{label}", DOUBLE, f"as-of mid at fill time + {label}"),
            Column(f"quote_time_{label}", TS, f"time of the quote mid_{label} came from"),
            Column(f"realized_spread_{label}", DOUBLE, f"2 * s * (P - mid_{label})"),
            Column(f"price_impact_bps_{label}", DOUBLE, f"s * (mid_{label} - M_t) / M_t * 1e4"),
            Column(f"markout_bps_{label}", DOUBLE, f"s * (mid_{label} - P) / P * 1e4"),
        ]
    return tuple(columns)


TCA_FILLS: Final = TableSpec(
    name="tca_fills",
    description="One row per fill of the day's orders: spreads, price impact and markouts.",
    timestamp="fill_time",
    keys=("fill_id",),
    columns=(
        _DAY,
        Column("fill_id", STR),
        Column("order_id", STR),
        Column("account", SYM),
        Column("symbol", SYM),
        Column("side", SYM),
        Column("side_sign", LONG),
        Column("order_type", SYM),
        Column("fill_time", TS),
        Column("price", DOUBLE, "P"),
        Column("quantity", LONG),
        Column("fee", DOUBLE, "currency: the venue's charge for the fill"),
        Column("notional", DOUBLE, "P * quantity * contract multiplier, currency"),
        Column("bid", DOUBLE),
        Column("ask", DOUBLE),
        Column("mid", DOUBLE, "M_t: as-of mid at the fill time"),
        Column("quote_time", TS, "time of the quote M_t came from"),
        Column("effective_spread", DOUBLE, "2 * s * (P - M_t), price units"),
        Column("effective_spread_bps", DOUBLE, "effective spread / M_t * 1e4"),
        *_horizon_columns(),
        Column("flags", STR),
    ),
)

TCA_DAILY: Final = TableSpec(
    name="tca_daily",
    description=(
        "Daily summaries of the TCA metrics by dimension (all, symbol, account, side, "
        "order_type): counts, weighted and plain means, percentiles, robust spread and "
        "outlier counts."
    ),
    timestamp="trading_day",
    keys=("group_by", "group_value", "metric"),
    columns=(
        Column("trading_day", TS),
        Column("group_by", SYM, "all, symbol, account, side or order_type"),
        Column("group_value", SYM, "the symbol, account, ... ('all' for the whole day)"),
        Column("metric", SYM, "a tca_orders or tca_fills column"),
        Column("n", LONG, "rows with a value"),
        Column("weight", DOUBLE, "sum of the weights (see vw_mean)"),
        Column("vw_mean", DOUBLE, "sum(w * x) / sum(w): the aggregate cost ratio"),
        Column("mean", DOUBLE),
        Column("median", DOUBLE),
        Column("p05", DOUBLE),
        Column("p25", DOUBLE),
        Column("p75", DOUBLE),
        Column("p95", DOUBLE),
        Column("robust_std", DOUBLE, "1.4826 * median absolute deviation"),
        Column("outliers", LONG, "rows beyond 3 robust standard deviations of the median"),
    ),
)

TCA_TABLES: Final = (TCA_ORDERS, TCA_FILLS, TCA_DAILY)
