"""The tables the `warehouse` group ships from the journal, and the ship_log that
holds each table's cursor. Conventions of a declaration: `assets.resources.schema`."""

from __future__ import annotations

from typing import Final

from assets.resources import Column, ColumnType, TableSpec


def _c(name: str, type_: ColumnType, description: str = "") -> Column:
    return Column(name, type_, description)


TS, SYM, STR, LONG, DOUBLE = (
    ColumnType.TIMESTAMP,
    ColumnType.SYMBOL,
    ColumnType.VARCHAR,
    ColumnType.LONG,
    ColumnType.DOUBLE,
)

_SEQ = _c("seq", LONG, "journal sequence number of the event")
_EVENT_TS = _c("ts", TS, "event time (UTC)")

ORDERS: Final = TableSpec(
    name="orders",
    description="One row per order lifecycle event, with the pre-trade risk decision.",
    columns=(
        _EVENT_TS,
        _SEQ,
        _c("event_type", SYM, "journal event type, e.g. OrderAccepted"),
        _c("order_id", STR),
        _c("account", SYM, "set on OrderAccepted/OrderRejected/OrderFilled"),
        _c("client_order_id", STR),
        _c("symbol", SYM),
        _c("side", SYM),
        _c("order_type", SYM),
        _c("time_in_force", SYM),
        _c("quantity", LONG, "requested, replacement or filled quantity"),
        _c("limit_price", DOUBLE, "requested or replacement limit price"),
        _c("reference_price", DOUBLE, "market reference price used by risk"),
        _c("decision_price", DOUBLE, "on submissions: the client's, else the arrival mid"),
        _c("decision_price_source", SYM, "CLIENT or ARRIVAL_MID on submissions, else null"),
        _c("fill_id", STR),
        _c("fill_price", DOUBLE),
        _c("liquidity", SYM),
        _c("risk_decision", SYM, "ACCEPTED or REJECTED on the risk events, else null"),
        _c("reason", SYM, "reason code of a rejection, cancel or venue reject"),
        _c("detail", STR, "human-readable detail of a risk rejection"),
    ),
    keys=("seq",),
)

FILLS: Final = TableSpec(
    name="fills",
    description="Executions of our orders at the venue.",
    columns=(
        _EVENT_TS,
        _SEQ,
        _c("fill_id", STR),
        _c("order_id", STR),
        _c("account", SYM),
        _c("symbol", SYM),
        _c("side", SYM),
        _c("quantity", LONG),
        _c("price", DOUBLE),
        _c("notional", DOUBLE, "quantity x price, to the cent (no contract multiplier yet)"),
        _c("liquidity", SYM, "TAKER or MAKER"),
        _c("fee", DOUBLE, "what the venue charged (billed in cents; in realized P&L)"),
    ),
    keys=("seq",),
)

QUOTES: Final = TableSpec(
    name="quotes",
    description="Top of book as sampled by the realtime service.",
    columns=(
        _EVENT_TS,
        _SEQ,
        _c("symbol", SYM),
        _c("bid", DOUBLE),
        _c("ask", DOUBLE),
        _c("bid_size", LONG),
        _c("ask_size", LONG),
    ),
    keys=("seq",),
)

TRADES: Final = TableSpec(
    name="trades",
    description="Market trades (the tape) seen by the realtime service.",
    columns=(
        _EVENT_TS,
        _SEQ,
        _c("symbol", SYM),
        _c("price", DOUBLE),
        _c("size", LONG),
    ),
    keys=("seq",),
)

RISK_CONTROL_CHANGES: Final = TableSpec(
    name="risk_control_changes",
    description=(
        "Changes of the risk controls: the kill switch (trading state, global or per "
        "account) and the risk limits. Risk decisions on orders are in risk_rejections."
    ),
    columns=(
        _EVENT_TS,
        _SEQ,
        _c("event_type", SYM, "TradingStateChanged or RiskLimitsChanged"),
        _c("account", SYM, "null: the global switch"),
        _c("state", SYM, "ACTIVE, REDUCING or HALTED"),
        _c("actor", SYM),
        _c("reason", STR),
        _c("limits_digest", STR, "sha256 of the canonical limits document"),
        _c("limits_source", STR),
        _c("limits_json", STR),
    ),
    keys=("seq",),
)

FEATURE_LIMIT_CHANGES: Final = TableSpec(
    name="feature_limit_changes",
    description=(
        "Changes of the effective risk limits that online features cause (issue 9): one "
        "row per symbol whose volatility scaling changed, from FeatureLimitsChanged. A "
        "symbol's limits in force at an order's time are its newest row before the order "
        "(none: the static limits of risk_control_changes)."
    ),
    columns=(
        _EVENT_TS,
        _SEQ,
        _c("symbol", SYM),
        _c("collar_scale", DOUBLE, "x the static price collar; 1.0 = static"),
        _c("notional_scale", DOUBLE, "x the static per-order notional limit; 1.0 = static"),
        _c("volatility", DOUBLE, "the realized_vol_30m used; null when none was"),
        _c("feature_ts", TS, "event time of that feature in the feature store; null: none"),
        _c("reason", SYM, "SCALED, STALE, MISSING or STATIC"),
        _c("source", SYM, "the feature service read, e.g. risk_features_v1"),
    ),
    # One event names several symbols, so seq alone does not identify a row.
    keys=("seq", "symbol"),
)

RISK_REJECTIONS: Final = TableSpec(
    name="risk_rejections",
    description=(
        "Every order (OrderRejected) and cancel-replace (ReplaceRiskRejected) that "
        "pre-trade risk refused, with the reason code and its detail."
    ),
    columns=(
        _EVENT_TS,
        _SEQ,
        _c("event_type", SYM, "OrderRejected (a new order) or ReplaceRiskRejected"),
        _c("order_id", STR),
        _c("account", SYM, "a new order only (a replace's order: orders by order_id)"),
        _c("client_order_id", STR, "a new order only"),
        _c("symbol", SYM, "a new order only"),
        _c("side", SYM, "a new order only"),
        _c("order_type", SYM, "a new order only"),
        _c("quantity", LONG, "requested or replacement quantity"),
        _c("limit_price", DOUBLE, "requested or replacement limit price"),
        _c("reason", SYM, "risk reason code, e.g. POSITION_LIMIT"),
        _c("detail", STR, "what the check saw, in words"),
    ),
    keys=("seq",),
)

SHIP_LOG: Final = TableSpec(
    name="ship_log",
    description=(
        "One row per shipped batch and table: the journal range first_seq..last_seq "
        "the batch covered for that table. A table's shipping cursor is its max(last_seq)."
    ),
    columns=(
        _c("ts", TS, "when the batch was shipped (UTC)"),
        _c("table_name", SYM),
        _c("first_seq", LONG, "first journal seq the batch covers"),
        _c("last_seq", LONG, "last journal seq the batch covers"),
        _c("row_count", LONG, "rows the batch wrote to the table (0: no events of its types)"),
        _c("min_event_ts", TS),
        _c("max_event_ts", TS),
        _c("run_id", STR),
    ),
    keys=("table_name", "last_seq"),
)

WAREHOUSE_TABLES: Final = (
    ORDERS,
    FILLS,
    QUOTES,
    TRADES,
    RISK_CONTROL_CHANGES,
    RISK_REJECTIONS,
    FEATURE_LIMIT_CHANGES,
    SHIP_LOG,
)
