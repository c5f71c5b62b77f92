"""The `Warehouse` resource: the verbs assets use to reach the analytical store.

Assets see only these verbs; which store sits behind them (an embedded DuckDB
file or QuestDB) is chosen once, in `orchestration.resources.build_resources`.

Verbs
-----
ensure_schema(tables)   create the tables if they do not exist (idempotent)
write_frames(frames)    write [(table, frame), ...] idempotently, in order: a row
                        whose upsert keys match an existing row replaces it.
                        DuckDB commits all frames in one transaction; QuestDB
                        commits each table's rows as ILP/HTTP transactions, in
                        the order given, so callers put their progress marker
                        (ship_log, processed_files) last.
write_frame(t, frame)   write_frames([(t, frame)])
replace_partition(frames, start, end)
                        make each table's rows with a designated timestamp in
                        [start, end) exactly the given frame's (empty: none),
                        leaving every other row alone: how a re-run of a day
                        replaces that day only, including rows it no longer
                        produces. DuckDB deletes and inserts in one transaction;
                        QuestDB, which cannot delete rows, drops the partitions
                        holding the window's rows and refuses (PARTITION_SHARED)
                        when one of them also holds rows outside it (see
                        questdb_warehouse).
query(sql)              run a read-only SELECT, return a DataFrame

row_count(table)        how many rows the table holds

dialect                 which SQL `query` speaks (`SqlDialect`)

SQL passed to `query` should be portable between DuckDB and QuestDB (plain
SELECT/GROUP BY/window functions; no vendor functions). Where the two differ (a
construct one lacks, or means differently), the asset asking branches on
`warehouse.dialect`, in the module that states its queries, and a test pins each
dialect's text. The resource knows no particular table: the pipelines' own
questions (a shipping cursor, which files were loaded) are asked by the assets
that own those tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import cast

import dagster as dg
import numpy as np
import pandas as pd
import pydantic

from assets.resources.schema import ColumnType, TableSpec

Frames = Sequence[tuple[TableSpec, pd.DataFrame]]


class SqlDialect(StrEnum):
    """The SQL a warehouse's `query` speaks."""

    DUCKDB = "duckdb"
    QUESTDB = "questdb"  # over the PostgreSQL wire, but QuestDB's SQL, not PostgreSQL's


class WarehouseError(RuntimeError):
    """A write or query the warehouse refused; the message says which table and why.

    `code` is stable where a caller may act on it (e.g. ROWS_OUTSIDE_PARTITION,
    PARTITION_SHARED); None for a failure of the store itself."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code


class Warehouse(dg.ConfigurableResource):
    """Base of the warehouse implementations; see the module docstring for the verbs.

    A backend says how to create tables (`_create_tables`) and how to write frames
    already conformed to their tables (`_write_conformed`); what to create and what
    is worth writing is decided here, once.
    """

    _ensured: set[str] = pydantic.PrivateAttr(default_factory=set)

    def ensure_schema(self, tables: Iterable[TableSpec]) -> None:
        todo = [t for t in tables if t.name not in self._ensured]
        if not todo:
            return
        self._create_tables(todo)
        self._ensured.update(t.name for t in todo)

    def write_frames(self, frames: Frames) -> None:
        conformed = [(table, conform(table, frame)) for table, frame in frames if len(frame)]
        if not conformed:
            return
        self.ensure_schema(table for table, _ in conformed)
        self._write_conformed(conformed)

    def replace_partition(self, frames: Frames, start: pd.Timestamp, end: pd.Timestamp) -> None:
        """Replace every given table's rows in [start, end) (naive UTC, designated
        timestamp) with the frame's; see the module docstring. A frame row outside
        the window is refused (ROWS_OUTSIDE_PARTITION): a later re-run of the window
        would not replace it."""
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        if not start < end:
            raise WarehouseError(f"empty window [{start}, {end})", "BAD_PARTITION_WINDOW")
        conformed = [(table, conform_or_empty(table, frame)) for table, frame in frames]
        for table, frame in conformed:
            stamps = frame[table.timestamp]
            outside = (stamps < start) | (stamps >= end)
            if bool(outside.any()):
                raise WarehouseError(
                    f"{table.name}: {int(outside.sum())} rows have {table.timestamp} outside "
                    f"[{start}, {end}) (first {stamps[outside].iloc[0]})",
                    "ROWS_OUTSIDE_PARTITION",
                )
        self.ensure_schema(table for table, _ in conformed)
        self._replace_conformed(conformed, start, end)

    def _create_tables(self, tables: Sequence[TableSpec]) -> None:
        raise NotImplementedError

    def _replace_conformed(
        self,
        frames: Sequence[tuple[TableSpec, pd.DataFrame]],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> None:
        raise NotImplementedError

    def _write_conformed(self, frames: Sequence[tuple[TableSpec, pd.DataFrame]]) -> None:
        raise NotImplementedError

    def query(self, sql: str) -> pd.DataFrame:
        raise NotImplementedError

    @property
    def dialect(self) -> SqlDialect:
        raise NotImplementedError

    @property
    def location(self) -> str:
        """Where the data lives, for run metadata (never includes credentials)."""
        raise NotImplementedError

    # -- derived verbs ------------------------------------------------------------

    def write_frame(self, table: TableSpec, frame: pd.DataFrame) -> None:
        self.write_frames([(table, frame)])

    def row_count(self, table: TableSpec) -> int:
        return _int_or_zero(self.query(f"SELECT count(*) AS n FROM {table.name}"))


def sql_string(value: str) -> str:
    """A SQL string literal (both dialects escape a quote by doubling it)."""
    return "'" + value.replace("'", "''") + "'"


def _int_or_zero(frame: pd.DataFrame) -> int:
    if frame.empty:
        return 0
    value = frame.iat[0, 0]
    return 0 if value is None or pd.isna(value) else int(cast(int, value))


def conform(table: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as the table expects it: its columns in order, timestamps whole µs,
    upsert keys present and unique (the last row of a key wins, as in QuestDB).

    Missing nullable columns become nulls; unknown columns are an error, since
    they would be silently lost.
    """
    unknown = [c for c in frame.columns if c not in table.column_names]
    if unknown:
        raise WarehouseError(f"{table.name}: frame has columns the table lacks: {unknown}")
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame = frame.reset_index(drop=True)
    columns: dict[str, pd.Series] = {}
    for column in table.columns:
        if column.name in frame.columns:
            values = frame[column.name]
        else:
            values = pd.Series(None, index=frame.index, dtype=_null_dtype(column.type))
        if column.type is ColumnType.TIMESTAMP:
            values = _whole_micros(table, column.name, values)
        columns[column.name] = values
    out = pd.DataFrame(columns, copy=False)
    missing_keys = [k for k in table.upsert_keys if out[k].isna().any()]
    if missing_keys:
        raise WarehouseError(f"{table.name}: null values in upsert key columns {missing_keys}")
    return _drop_duplicate_keys(table, out)


def conform_or_empty(table: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """`conform`, and for a frame without rows the table's typed empty frame (an
    empty frame often carries object columns where the table has timestamps)."""
    if len(frame):
        return conform(table, frame)
    unknown = [c for c in frame.columns if c not in table.column_names]
    if unknown:
        raise WarehouseError(f"{table.name}: frame has columns the table lacks: {unknown}")
    return pd.DataFrame(
        {c.name: pd.Series(dtype=_null_dtype(c.type)) for c in table.columns}, copy=False
    )


def _null_dtype(type_: ColumnType) -> str:
    return {
        ColumnType.TIMESTAMP: "datetime64[ns]",
        ColumnType.LONG: "Int64",
        ColumnType.DOUBLE: "Float64",
    }.get(type_, "object")


def _whole_micros(table: TableSpec, name: str, values: pd.Series) -> pd.Series:
    # Both stores keep microseconds. Truncating here makes the key a frame is
    # matched on identical to the key that is stored, so an upsert finds its row.
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(values.dtype):
        raise WarehouseError(f"{table.name}.{name} must be datetime64, not {values.dtype}")
    values = values.astype("datetime64[ns]")
    nanos = values.to_numpy().view(np.int64)
    if bool(np.all(nanos % 1000 == 0)):  # (NaT takes the slow path)
        return values
    return values.dt.floor("us")


def _drop_duplicate_keys(table: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) < 2:
        return frame
    # Fast path for the common case: a strictly increasing key column (journal
    # seq, line number) makes every key unique without hashing all of them.
    for key in table.keys:
        values = frame[key]
        if pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
            array = values.to_numpy(dtype=np.int64)
            if bool(np.all(array[1:] > array[:-1])):
                return frame
    duplicated = frame.duplicated(list(table.upsert_keys), keep="last")
    return frame[~duplicated].reset_index(drop=True) if duplicated.any() else frame
