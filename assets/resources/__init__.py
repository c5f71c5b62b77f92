"""The stores assets read and write, as Dagster resources: the warehouse (DuckDB or
QuestDB), the journal's batch reader, the file inboxes and the service's book.

Assets ask for `warehouse`, `journal`, `inbox` and `service` by name and type them
with these classes; which implementation each name gets is decided by deployment in
one place, `orchestration.resources.build_resources`. orchestration/ imports this
package, never the other way round (tests/test_layering.py).
"""

from __future__ import annotations

from assets.resources.duckdb_warehouse import DuckDBWarehouse
from assets.resources.inbox import Inbox, Sink
from assets.resources.journal import EventBatch, JournalSource
from assets.resources.questdb_warehouse import QuestDBWarehouse
from assets.resources.schema import Column, ColumnType, TableSpec
from assets.resources.service import ServiceBook
from assets.resources.warehouse import (
    Frames,
    SqlDialect,
    Warehouse,
    WarehouseError,
    sql_string,
)

__all__ = [
    "Column",
    "ColumnType",
    "DuckDBWarehouse",
    "EventBatch",
    "Frames",
    "Inbox",
    "JournalSource",
    "QuestDBWarehouse",
    "ServiceBook",
    "Sink",
    "SqlDialect",
    "TableSpec",
    "Warehouse",
    "WarehouseError",
    "sql_string",
]
