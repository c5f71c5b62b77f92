"""Every warehouse table, declared once: columns, types, designated timestamp, keys.

Both backends generate their DDL from these declarations
(`duckdb_warehouse.duckdb_ddl`, `questdb_warehouse.questdb_ddl`), and both
write with the same semantics: a row whose upsert keys match an existing row
replaces it. That is QuestDB's DEDUP UPSERT KEYS, and the DuckDB backend does
the same with delete-then-insert inside one transaction, so re-shipping a
batch never duplicates a row on either.

Conventions: every table has a designated timestamp (`ts` unless stated),
which QuestDB requires in the upsert keys, so `TableSpec.upsert_keys` always
starts with it. Timestamps are UTC; frames carry them as naive
`datetime64[ns]`, both stores keep microseconds. SYMBOL is a repeated string
(tickers, accounts, enums): a SYMBOL in QuestDB, a VARCHAR in DuckDB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class ColumnType(StrEnum):
    TIMESTAMP = "TIMESTAMP"
    SYMBOL = "SYMBOL"
    VARCHAR = "VARCHAR"
    LONG = "LONG"
    DOUBLE = "DOUBLE"


_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    description: str = ""


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    # Identity of a row besides the designated timestamp.
    keys: tuple[str, ...]
    description: str
    timestamp: str = "ts"
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Names are spliced into SQL unquoted, so only plain snake_case is allowed.
        names = [self.name, *(c.name for c in self.columns)]
        bad = [n for n in names if not _NAME.match(n)]
        if bad:
            raise ValueError(f"table {self.name}: names must be snake_case: {bad}")
        by_name = {c.name: c for c in self.columns}
        if len(by_name) != len(self.columns):
            raise ValueError(f"table {self.name}: duplicate column names")
        ts = by_name.get(self.timestamp)
        if ts is None or ts.type is not ColumnType.TIMESTAMP:
            raise ValueError(f"table {self.name}: {self.timestamp} must be a TIMESTAMP column")
        missing = [k for k in self.keys if k not in by_name]
        if missing or self.timestamp in self.keys:
            raise ValueError(f"table {self.name}: bad keys {self.keys}")
        object.__setattr__(self, "_by_name", by_name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def upsert_keys(self) -> tuple[str, ...]:
        return (self.timestamp, *self.keys)

    def columns_of(self, type_: ColumnType) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.type is type_)

    def column(self, name: str) -> Column:
        return self._by_name[name]


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

# --- shipped from the journal -------------------------------------------------

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
        _c("notional", DOUBLE, "quantity x price"),
        _c("liquidity", SYM, "TAKER or MAKER"),
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

RISK_EVENTS: Final = TableSpec(
    name="risk_events",
    description="Kill-switch (trading state) and risk-limit changes.",
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

SHIP_LOG: Final = TableSpec(
    name="ship_log",
    description=(
        "One row per shipped batch and table: the journal range first_seq..last_seq "
        "the batch covered for that table. A table's shipping cursor is its max(last_seq)."
    ),
    columns=(
        _c("ts", TS, "when the batch was shipped"),
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

# --- sinks: files dropped in the inboxes ------------------------------------------

_RECEIVED_AT = _c("received_at", TS, "when the file landed in the inbox (its mtime)")
_FILE_SHA = _c("file_sha256", STR, "content hash of the source file")
_LINE = _c("line_no", LONG, "line (CSV/JSON lines) or row (Parquet) in the source file")

REPLAY_QUOTES: Final = TableSpec(
    name="replay_quotes",
    description="Quotes loaded from replay files dropped in the tick inbox.",
    columns=(
        _EVENT_TS,
        _c("symbol", SYM),
        _c("bid", DOUBLE),
        _c("ask", DOUBLE),
        _c("bid_size", LONG),
        _c("ask_size", LONG),
        _FILE_SHA,
        _LINE,
        _RECEIVED_AT,
    ),
    keys=("file_sha256", "line_no"),
)

REPLAY_TRADES: Final = TableSpec(
    name="replay_trades",
    description="Trades loaded from replay files dropped in the tick inbox.",
    columns=(
        _EVENT_TS,
        _c("symbol", SYM),
        _c("price", DOUBLE),
        _c("size", LONG),
        _FILE_SHA,
        _LINE,
        _RECEIVED_AT,
    ),
    keys=("file_sha256", "line_no"),
)

ALT_SIGNALS: Final = TableSpec(
    name="alt_signals",
    description=(
        "Alternative data: one timestamped numeric signal per symbol (e.g. news "
        "sentiment). A later file with the same (ts, symbol, signal) corrects the value."
    ),
    columns=(
        _c("ts", TS, "time the signal refers to (UTC)"),
        _c("symbol", SYM),
        _c("signal", SYM, "signal name, e.g. news_sentiment"),
        _c("value", DOUBLE),
        _c("source", SYM, "vendor or producer, if given"),
        _FILE_SHA,
        _LINE,
        _RECEIVED_AT,
    ),
    keys=("symbol", "signal"),
)

QUARANTINE: Final = TableSpec(
    name="quarantine",
    description=(
        "Records (or whole files, line_no 0) the sinks refused, with the reason. "
        "Nothing a sink reads is dropped silently: it lands in its table or here."
    ),
    columns=(
        _c("ts", TS, "when the file landed in the inbox (its mtime)"),
        _c("sink", SYM, "ticks or alt"),
        _c("file_name", STR),
        _FILE_SHA,
        _LINE,
        _c("reason_code", SYM, "stable code, e.g. SCHEMA_VIOLATION"),
        _c("reason", STR),
        _c("record", STR, "the offending text, truncated"),
    ),
    keys=("sink", "file_sha256", "line_no"),
)

PROCESSED_FILES: Final = TableSpec(
    name="processed_files",
    description=(
        "Inbox files already loaded, by content hash: a file is loaded once even if a "
        "run is retried or the same content is dropped again."
    ),
    columns=(
        _c("ts", TS, "when the file was processed"),
        _c("sink", SYM),
        _c("file_name", STR),
        _FILE_SHA,
        _c("size_bytes", LONG),
        _c("rows_loaded", LONG),
        _c("rows_quarantined", LONG),
        _c("run_id", STR),
    ),
    keys=("sink", "file_sha256"),
)

ALL_TABLES: Final = (
    ORDERS,
    FILLS,
    QUOTES,
    TRADES,
    RISK_EVENTS,
    SHIP_LOG,
    REPLAY_QUOTES,
    REPLAY_TRADES,
    ALT_SIGNALS,
    QUARANTINE,
    PROCESSED_FILES,
)
