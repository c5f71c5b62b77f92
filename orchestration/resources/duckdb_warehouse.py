"""The embedded warehouse: one DuckDB file, the default on a fresh machine.

Writes are exactly-once by construction: every `write_frames` call is one
transaction, and within it each frame first deletes the rows whose upsert keys
it carries, then inserts itself. A batch and its ship_log row therefore commit
together or not at all, and re-writing a batch (after a lost cursor, or a
retry) replaces rows instead of duplicating them, the same semantics QuestDB's
DEDUP UPSERT KEYS give.

A DuckDB file has one writing process at a time. The resource opens its
connection at first use, waiting (up to `lock_timeout_s`) for another process
to let go of the file, and keeps it until the step ends
(`teardown_after_execution`) or `close()`: opening and closing per verb would
checkpoint the file every time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import dagster as dg
import duckdb
import pandas as pd
import pydantic

from orchestration.resources.tables import ColumnType, TableSpec
from orchestration.resources.warehouse import Warehouse, WarehouseError

_DUCKDB_TYPES: Final = {
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.SYMBOL: "VARCHAR",
    ColumnType.VARCHAR: "VARCHAR",
    ColumnType.LONG: "BIGINT",
    ColumnType.DOUBLE: "DOUBLE",
}
_INCOMING: Final = "incoming_frame"


def duckdb_ddl(table: TableSpec) -> str:
    """CREATE TABLE for DuckDB. No PRIMARY KEY: uniqueness comes from the
    delete-then-insert upsert, and an ART index would slow bulk loads for nothing."""
    columns = ",\n".join(
        f"    {c.name} {_DUCKDB_TYPES[c.type]}{' NOT NULL' if c.name in table.upsert_keys else ''}"
        for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n{columns}\n)"


class DuckDBWarehouse(Warehouse):
    """Warehouse in a DuckDB file at `path` (created on first use)."""

    path: str = pydantic.Field(description="the DuckDB database file")
    lock_timeout_s: float = pydantic.Field(
        default=60.0, description="how long to wait for another process to release the file"
    )
    # One thread: shipping already keeps the other cores busy reading and decoding
    # the journal, and DuckDB's parallel insert of a pandas frame costs more CPU
    # than it saves on a machine of two cores.
    threads: int = pydantic.Field(default=1, ge=1, description="DuckDB worker threads")

    _con: duckdb.DuckDBPyConnection | None = pydantic.PrivateAttr(default=None)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    @property
    def location(self) -> str:
        return f"duckdb://{Path(self.path).resolve()}"

    def _create_tables(self, tables: Sequence[TableSpec]) -> None:
        with self._connect() as con:
            for table in tables:
                con.execute(duckdb_ddl(table))

    def _write_conformed(self, conformed: Sequence[tuple[TableSpec, pd.DataFrame]]) -> None:
        with self._connect() as con:
            con.begin()
            try:
                for table, frame in conformed:
                    self._write_table(con, table, frame)
                con.commit()
            except BaseException:
                con.rollback()
                raise

    def query(self, sql: str) -> pd.DataFrame:
        with self._connect() as con:
            return con.execute(sql).df()

    # -- internals ----------------------------------------------------------------

    def _write_table(
        self, con: duckdb.DuckDBPyConnection, table: TableSpec, frame: pd.DataFrame
    ) -> None:
        """Upsert one frame inside the caller's transaction."""
        ts = table.timestamp
        low = frame[ts].min().to_pydatetime()
        high = frame[ts].max().to_pydatetime()
        columns = ", ".join(table.column_names)
        con.register(_INCOMING, frame)
        try:
            # Rows can only be replaced where the table already has times in the
            # frame's range; appending past the end (the usual case) skips the
            # delete. The constant range also lets DuckDB skip row groups.
            (overlap,) = con.execute(
                f"SELECT count(*) FROM {table.name} WHERE {ts} BETWEEN ? AND ?", [low, high]
            ).fetchone() or (0,)
            if overlap:
                key_match = " AND ".join(f"t.{k} = i.{k}" for k in table.upsert_keys)
                con.execute(
                    f"DELETE FROM {table.name} AS t USING {_INCOMING} AS i "
                    f"WHERE {key_match} AND t.{ts} BETWEEN ? AND ?",
                    [low, high],
                )
            con.execute(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {_INCOMING}")
        except duckdb.Error as exc:
            raise WarehouseError(f"writing {len(frame)} rows to {table.name}: {exc}") from exc
        finally:
            con.unregister(_INCOMING)

    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._con is None:
            self._con = self._open()
        yield self._con

    def _open(self) -> duckdb.DuckDBPyConnection:
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(path), config={"threads": self.threads})
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
