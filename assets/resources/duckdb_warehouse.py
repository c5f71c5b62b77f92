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
import pyarrow as pa
import pydantic

from assets.resources.schema import ColumnType, TableSpec
from assets.resources.warehouse import SqlDialect, Warehouse, WarehouseError, conform

_DUCKDB_TYPES: Final = {
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.SYMBOL: "VARCHAR",
    ColumnType.VARCHAR: "VARCHAR",
    ColumnType.LONG: "BIGINT",
    ColumnType.DOUBLE: "DOUBLE",
}
_INCOMING: Final = "incoming_frame"


def table_problems(table: TableSpec, columns: pd.DataFrame) -> list[str]:
    """How an existing table differs from its declaration: `columns` is its
    `information_schema.columns` (column_name, data_type)."""
    types = dict(zip(columns["column_name"], columns["data_type"], strict=True))
    problems = []
    for column in table.columns:
        actual, expected = types.get(column.name), _DUCKDB_TYPES[column.type]
        if actual is None:
            problems.append(f"column {column.name} is missing")
        elif actual != expected:
            problems.append(f"column {column.name} is {actual}, declared {expected}")
    return problems


def duckdb_ddl(table: TableSpec) -> str:
    """CREATE TABLE for DuckDB. No PRIMARY KEY: uniqueness comes from the
    delete-then-insert upsert, and an ART index would slow bulk loads for nothing."""
    columns = ",\n".join(
        f"    {c.name} {_DUCKDB_TYPES[c.type]}{' NOT NULL' if c.name in table.upsert_keys else ''}"
        for c in table.columns
    )
    return f"CREATE TABLE IF NOT EXISTS {table.name} (\n{columns}\n)"


def _for_duckdb(frame: pd.DataFrame) -> pd.DataFrame | pa.Table:
    """What to hand DuckDB for `frame`: with Python-object columns (strings, None), the
    frame as Arrow. DuckDB's pandas scan reads object columns value by value holding the
    GIL (the orders table's 14 of them cost 0.20 s per 50,000 rows against 0.06 through
    Arrow, conversion included); numeric and categorical columns it reads as fast as
    Arrow, so those frames go as they are. A column Arrow cannot type (mixed Python
    values) leaves the frame to DuckDB's own scan, as before."""
    if not any(map(pd.api.types.is_object_dtype, frame.dtypes)):
        return frame
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, OverflowError):  # e.g. an int past 64 bits, a set
        return frame


def _one_frame_per_table(
    conformed: Sequence[tuple[TableSpec, pd.DataFrame]],
) -> list[tuple[TableSpec, pd.DataFrame]]:
    """The frames of one transaction, those of a table that comes more than once (a
    shipping batch's six ship_log rows) joined in order. The transaction's outcome is
    the same (conform keeps the last row of a key, as the later write would have), and
    each frame handed to DuckDB costs ~4 ms of registration and planning however small."""
    by_table: dict[str, list[tuple[TableSpec, pd.DataFrame]]] = {}
    for table, frame in conformed:
        by_table.setdefault(table.name, []).append((table, frame))
    joined = []
    for parts in by_table.values():
        table = parts[0][0]
        if len(parts) == 1:
            joined.append(parts[0])
        else:
            frames = [frame for _, frame in parts]
            joined.append((table, conform(table, pd.concat(frames, ignore_index=True))))
    return joined


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
    # Newest designated timestamp per table, as committed through this connection.
    # Sound while the connection is open: it holds the file's write lock, so no
    # other process can add rows behind our back.
    _newest: dict[str, pd.Timestamp | None] = pydantic.PrivateAttr(default_factory=dict)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        self._newest.clear()

    @property
    def dialect(self) -> SqlDialect:
        return SqlDialect.DUCKDB

    @property
    def location(self) -> str:
        return f"duckdb://{Path(self.path).resolve()}"

    def _create_tables(self, tables: Sequence[TableSpec]) -> None:
        with self._connect() as con:
            for table in tables:
                columns = con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                    [table.name],
                ).df()
                if columns.empty:
                    con.execute(duckdb_ddl(table))
                    continue
                problems = table_problems(table, columns)
                if problems:
                    raise WarehouseError(
                        f"DuckDB table {table.name} in {self.path} does not match its "
                        f"declaration: {'; '.join(problems)}. Fix the table, or drop it (and "
                        "its ship_log rows) to have it re-created and re-shipped."
                    )

    def _write_conformed(self, conformed: Sequence[tuple[TableSpec, pd.DataFrame]]) -> None:
        with self._connect() as con:
            con.begin()
            newest: dict[str, pd.Timestamp | None] = {}
            try:
                for table, frame in _one_frame_per_table(conformed):
                    newest[table.name] = self._write_table(con, table, frame)
                con.commit()
            except BaseException:
                con.rollback()
                self._newest.clear()
                raise
            self._newest.update(newest)

    def _replace_conformed(
        self,
        conformed: Sequence[tuple[TableSpec, pd.DataFrame]],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> None:
        """Delete each table's rows in [start, end), insert the frame: all tables in
        one transaction, so a reader sees the old window or the new one, never half."""
        window = [start.to_pydatetime(), end.to_pydatetime()]
        with self._connect() as con:
            con.begin()
            try:
                for table, frame in conformed:
                    ts = table.timestamp
                    con.execute(f"DELETE FROM {table.name} WHERE {ts} >= ? AND {ts} < ?", window)
                    if len(frame):
                        self._insert(con, table, frame)
                con.commit()
            except BaseException:
                con.rollback()
                self._newest.clear()
                raise
            # Only rows inside the window were removed; a newest timestamp that is now
            # too high merely sends a later upsert down its delete path.
            for table, frame in conformed:
                if len(frame) and table.name in self._newest:
                    high = pd.Timestamp(frame[table.timestamp].max())
                    known = self._newest[table.name]
                    self._newest[table.name] = high if known is None else max(known, high)

    def query(self, sql: str) -> pd.DataFrame:
        with self._connect() as con:
            try:
                return con.execute(sql).df()
            except duckdb.Error as exc:
                raise WarehouseError(f"DuckDB {self.path} refused {sql[:120]!r}: {exc}") from exc

    # -- internals ----------------------------------------------------------------

    def _write_table(
        self, con: duckdb.DuckDBPyConnection, table: TableSpec, frame: pd.DataFrame
    ) -> pd.Timestamp | None:
        """Upsert one frame inside the caller's transaction; the table's newest
        timestamp after it."""
        ts = table.timestamp
        low, high = pd.Timestamp(frame[ts].min()), pd.Timestamp(frame[ts].max())
        newest = self._newest_ts(con, table)
        columns = ", ".join(table.column_names)
        con.register(_INCOMING, _for_duckdb(frame))
        try:
            # A row is replaced only by one with its timestamp (the first upsert key),
            # so a frame wholly after the table's newest row (the usual append) has
            # nothing to replace and skips the delete. The constant range lets DuckDB
            # skip row groups when it does run.
            if newest is not None and low <= newest:
                key_match = " AND ".join(f"t.{k} = i.{k}" for k in table.upsert_keys)
                con.execute(
                    f"DELETE FROM {table.name} AS t USING {_INCOMING} AS i "
                    f"WHERE {key_match} AND t.{ts} BETWEEN ? AND ?",
                    [low.to_pydatetime(), high.to_pydatetime()],
                )
            con.execute(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {_INCOMING}")
        except duckdb.Error as exc:
            raise WarehouseError(f"writing {len(frame)} rows to {table.name}: {exc}") from exc
        finally:
            con.unregister(_INCOMING)
        return high if newest is None else max(newest, high)

    def _insert(
        self, con: duckdb.DuckDBPyConnection, table: TableSpec, frame: pd.DataFrame
    ) -> None:
        columns = ", ".join(table.column_names)
        con.register(_INCOMING, _for_duckdb(frame))
        try:
            con.execute(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {_INCOMING}")
        except duckdb.Error as exc:
            raise WarehouseError(f"writing {len(frame)} rows to {table.name}: {exc}") from exc
        finally:
            con.unregister(_INCOMING)

    def _newest_ts(self, con: duckdb.DuckDBPyConnection, table: TableSpec) -> pd.Timestamp | None:
        if table.name not in self._newest:
            (value,) = con.execute(
                f"SELECT max({table.timestamp}) FROM {table.name}"
            ).fetchone() or (None,)
            self._newest[table.name] = None if value is None else pd.Timestamp(value)
        return self._newest[table.name]

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
                if "lock" not in str(exc).lower():
                    raise WarehouseError(f"DuckDB file {path} cannot be opened: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"DuckDB file {path} is still locked by another process after "
                        f"{self.lock_timeout_s:g} s ({exc}). Runs that write it share the "
                        "'duckdb_warehouse' pool; stop whatever else holds the file "
                        "(a notebook, a DuckDB shell), then re-run the job."
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
