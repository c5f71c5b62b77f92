"""How a warehouse table is declared: columns, types, designated timestamp, keys.

This is the vocabulary the `Warehouse` resource speaks; the tables themselves
are declared next to the assets that own them (`assets.warehouse.tables`,
`assets.sinks.tables`; all of them in `assets.catalogue`). Both backends
generate their DDL from these declarations
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
