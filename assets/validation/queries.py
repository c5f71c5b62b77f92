"""Every warehouse query of the validation suites, for each SQL dialect.

Most are the same text for DuckDB and QuestDB; where QuestDB's SQL differs, checked
against its documentation (questdb.com/docs), the text branches on the dialect:

* the newest rows of a table: QuestDB returns a table's rows in designated-timestamp
  order and takes the last n with `LIMIT -n`, without a sort ("Implicit timestamp
  ordering and negative LIMIT", SQL extensions; LIMIT), where its ORDER BY holds the
  whole table in RAM (ORDER BY). DuckDB sorts, every key descending.
* the newest designated timestamp: `LIMIT -1` there too; its max() is documented for
  "numeric or string" values only (Aggregate functions: max).
* nothing here uses `IN (SELECT ...)`: QuestDB documents IN over literal lists and
  timestamp intervals only, and refuses a subquery on a VARCHAR column
  (questdb/questdb#5628); nor `CAST(ts AS DATE)` to mean a calendar day: a QuestDB
  DATE is a millisecond timestamp (Timestamp, date and time functions). The day
  arithmetic of the TCA check happens in pandas instead.

Timestamps read back are naive UTC in both (QuestDB sends TIMESTAMP WITHOUT TIME ZONE
over the PostgreSQL wire, in UTC: PGWire overview, "Timestamp handling").
"""

from __future__ import annotations

import pandas as pd

from assets.resources import SqlDialect, TableSpec, sql_string
from assets.timestamps import timestamp_literal


def recent_rows(table: TableSpec, limit: int, dialect: SqlDialect) -> str:
    """The table's `limit` newest rows (by designated timestamp, then keys)."""
    if dialect is SqlDialect.QUESTDB:
        return f"SELECT * FROM {table.name} LIMIT -{limit}"
    order = ", ".join(f"{key} DESC" for key in table.upsert_keys)
    return f"SELECT * FROM {table.name} ORDER BY {order} LIMIT {limit}"


def newest_timestamp(table: TableSpec, dialect: SqlDialect) -> str:
    """One row, `newest`: the table's newest designated timestamp (no row, or NULL,
    when the table is empty)."""
    ts = table.timestamp
    if dialect is SqlDialect.QUESTDB:
        return f"SELECT {ts} AS newest FROM {table.name} LIMIT -1"
    return f"SELECT max({ts}) AS newest FROM {table.name}"


def rows_of_order(table: TableSpec, order_id: str, columns: str = "*") -> str:
    """The rows of one order (portable: string equality, a column list)."""
    return f"SELECT {columns} FROM {table.name} WHERE order_id = {sql_string(order_id)}"


def latest_days(table: TableSpec, column: str, days: int) -> str:
    """The `days` newest distinct values of a day column (portable: DISTINCT, then
    ORDER BY, then LIMIT, in QuestDB's execution order too)."""
    return f"SELECT DISTINCT {column} AS day FROM {table.name} ORDER BY day DESC LIMIT {days}"


def accepted_orders(table: TableSpec, account: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """The account's accepted orders in [start, end): order_id and ts (portable: ISO
    literals compare with timestamps in both, `assets.timestamps`)."""
    return (
        f"SELECT order_id, ts FROM {table.name} WHERE event_type = 'OrderAccepted' "
        f"AND account = {sql_string(account)} AND ts >= {timestamp_literal(start)} "
        f"AND ts < {timestamp_literal(end)}"
    )


def orders_of_days(
    table: TableSpec, account: str, column: str, start: pd.Timestamp, end: pd.Timestamp
) -> str:
    """The account's order ids of a table whose day column is in [start, end)."""
    return (
        f"SELECT order_id FROM {table.name} WHERE account = {sql_string(account)} "
        f"AND {column} >= {timestamp_literal(start)} AND {column} < {timestamp_literal(end)}"
    )


def verdict_history(table: TableSpec, limit: int) -> str:
    """The newest `limit` verdicts (portable: one key descending, LIMIT n)."""
    return f"SELECT ts, verdict FROM {table.name} ORDER BY ts DESC LIMIT {limit}"
