"""The tables the `inboxes` group loads files into, and the bookkeeping tables of
what was refused (quarantine) and what was loaded (processed_files).
Conventions of a declaration: `assets.resources.schema`."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Final

from assets.resources import Column, ColumnType, TableSpec, Warehouse, sql_string


def _c(name: str, type_: ColumnType, description: str = "") -> Column:
    return Column(name, type_, description)


TS, SYM, STR, LONG, DOUBLE = (
    ColumnType.TIMESTAMP,
    ColumnType.SYMBOL,
    ColumnType.VARCHAR,
    ColumnType.LONG,
    ColumnType.DOUBLE,
)

_EVENT_TS = _c("ts", TS, "event time (UTC)")

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

SINK_TABLES: Final = (REPLAY_QUOTES, REPLAY_TRADES, ALT_SIGNALS, QUARANTINE, PROCESSED_FILES)


_HEX64: Final = re.compile(r"^[0-9a-f]{64}$")


def processed_hashes(warehouse: Warehouse, sink: str, hashes: Collection[str]) -> set[str]:
    """Which of these content hashes the sink has already loaded (processed_files)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    bad = [h for h in wanted if not _HEX64.match(h)]
    if bad:
        raise ValueError(f"not sha256 hex digests: {bad[:3]}")
    warehouse.ensure_schema([PROCESSED_FILES])
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # keep the IN list a sane size
        chunk = ", ".join(sql_string(h) for h in wanted[start : start + 500])
        frame = warehouse.query(
            f"SELECT DISTINCT file_sha256 FROM {PROCESSED_FILES.name} "
            f"WHERE sink = {sql_string(sink)} AND file_sha256 IN ({chunk})"
        )
        found.update(str(h) for h in frame["file_sha256"])
    return found
