"""The production warehouse: QuestDB.

Writes go through the official client (`questdb` package) as ILP over HTTP:
one `Sender` per `write_frames` call, each frame serialised with
`Buffer.dataframe` and sent with `Sender.flush(buffer, transactional=True)`,
which QuestDB commits as one transaction for that table. DDL and reads go over
the PostgreSQL wire protocol (psycopg).

Tables are created up front (`questdb_ddl`) with a designated timestamp,
SYMBOL columns, PARTITION BY DAY, WAL and DEDUP UPSERT KEYS, so that sending a
batch twice stores it once: that is what makes shipping exactly-once here,
since QuestDB has no transaction spanning tables. `write_frames` writes the
frames in the order given, and callers put their progress marker last, so a
marker is only ever written after the rows it vouches for.

WAL tables apply commits asynchronously: a row acknowledged by the ILP
endpoint may take a moment to show up in queries. A cursor read in that window
is merely behind, and the re-sent rows deduplicate.

Replacing a window (`replace_partition`, how a re-run of a day replaces that
day's rows). QuestDB deletes no single rows; what it documents for removing
rows is `ALTER TABLE t DROP PARTITION LIST 'YYYY-MM-DD', ...` (partition names
are the directory names: 'YYYY-MM-DD' for PARTITION BY DAY), atomic per
partition, applied on a WAL table in sequencer order like any other
transaction. So, per table: wait until the WAL writer has applied everything
the sequencer holds (`wal_tables()`: writerTxn = sequencerTxn; otherwise rows
of the window still in the WAL would be applied after the drop and survive),
find the partitions that hold rows in [start, end) (`table_partitions()`),
refuse with PARTITION_SHARED if one of them also holds a row outside the
window (dropping it would lose another day's rows: e.g. a reports time zone
whose two day starts fall on one UTC date), drop exactly those that exist
(dropping a missing partition suspended WAL tables in QuestDB 7.3,
questdb/questdb#4060), then send the new rows over ILP/HTTP. Every table is
checked before any is dropped. This is not one transaction: a failure between
the drop and the write leaves the window empty, and re-running it restores it.

On first use the resource checks the server: its version (`SELECT build()`,
at least MIN_QUESTDB_VERSION) and every existing table against its declaration
(`tables()`, `table_columns()`): designated timestamp, WAL, column types and
dedup keys. A table without dedup is given it (`ALTER TABLE ... DEDUP ENABLE
UPSERT KEYS`, logged as a warning); anything else that differs is refused, since
re-shipping into it would duplicate or misplace rows. Every failure to reach or
use the server is a `WarehouseError` that names the server, the table and what
to do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import dagster as dg
import pandas as pd
import psycopg
import pydantic
from questdb import QuestDBError, Sender

from assets.resources.schema import ColumnType, TableSpec
from assets.resources.warehouse import (
    SqlDialect,
    Warehouse,
    WarehouseError,
    conform,
    sql_string,
)

_QUESTDB_TYPES: Final = {
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.SYMBOL: "SYMBOL",
    ColumnType.VARCHAR: "VARCHAR",
    ColumnType.LONG: "LONG",
    ColumnType.DOUBLE: "DOUBLE",
}


# lag() over TIMESTAMP columns, which the *_monotonic_ts checks use, arrived in
# QuestDB 8.3.2 (questdb/questdb#5524: LEAD/LAG for more types than DOUBLE).
MIN_QUESTDB_VERSION: Final = (8, 3, 2)
_BUILD_VERSION: Final = re.compile(r"QuestDB (\d+)\.(\d+)\.(\d+)")


def questdb_version(build: str) -> tuple[int, int, int] | None:
    """The version in `SELECT build()`'s answer ("Build Information: QuestDB
    9.3.2, JDK ..."), or None where it names none (e.g. an Enterprise build)."""
    found = _BUILD_VERSION.search(build)
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def version_problem(build: str, where: str) -> str | None:
    """Why a server of this build cannot be used, or None."""
    version = questdb_version(build)
    if version is None or version >= MIN_QUESTDB_VERSION:
        return None
    have, need = ".".join(map(str, version)), ".".join(map(str, MIN_QUESTDB_VERSION))
    return (
        f"QuestDB at {where} is {have}; tradepipe needs {need} or later (the *_monotonic_ts "
        f"checks use lag() over timestamps). Upgrade the server."
    )


def table_problems(
    table: TableSpec, info: Mapping[str, Any], columns: pd.DataFrame
) -> tuple[list[str], str | None]:
    """How an existing table differs from its declaration, and the statement that
    makes it match where that is safe (only a missing DEDUP).

    `info` is the table's row of `tables()`; `columns` is `table_columns(name)`
    (columns `column`, `type`, `designated`, `upsertKey`).
    """
    problems: list[str] = []
    designated = info.get("designatedTimestamp")
    if designated != table.timestamp:
        problems.append(f"its designated timestamp is {designated!r}, declared {table.timestamp!r}")
    if not info.get("walEnabled"):
        problems.append("it is not a WAL table (dedup needs WAL)")
    types = dict(zip(columns["column"], columns["type"], strict=True))
    for column in table.columns:
        actual = types.get(column.name)
        expected = _QUESTDB_TYPES[column.type]
        if actual is None:
            problems.append(f"column {column.name} is missing")
        elif str(actual).upper() != expected:
            problems.append(f"column {column.name} is {actual}, declared {expected}")
    keys = set(columns.loc[columns["upsertKey"].astype(bool), "column"])
    fix = None
    if info.get("dedup"):
        if keys != set(table.upsert_keys):
            problems.append(
                f"its dedup keys are ({', '.join(sorted(keys))}), "
                f"declared ({', '.join(table.upsert_keys)})"
            )
    elif not problems:
        fix = f"ALTER TABLE {table.name} DEDUP ENABLE UPSERT KEYS({', '.join(table.upsert_keys)})"
    return problems, fix


def questdb_ddl(table: TableSpec) -> str:
    """CREATE TABLE for QuestDB (syntax of QuestDB's CREATE TABLE reference)."""
    columns = ",\n".join(f"    {c.name} {_QUESTDB_TYPES[c.type]}" for c in table.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {table.name} (\n{columns}\n"
        f") TIMESTAMP({table.timestamp}) PARTITION BY DAY WAL\n"
        f"DEDUP UPSERT KEYS({', '.join(table.upsert_keys)})"
    )


def partitions_to_drop(
    table: TableSpec,
    partitions: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    count: Callable[[str], int],
) -> list[str]:
    """Which partitions (rows of `table_partitions()`: name, minTimestamp,
    maxTimestamp) must be dropped to remove the rows in [start, end), counting rows
    with `count(sql)`; WarehouseError PARTITION_SHARED if dropping one would also
    remove a row outside the window."""
    ts, lo, hi = table.timestamp, _literal(start), _literal(end)
    names = []
    for name, low, high in zip(
        partitions["name"], partitions["minTimestamp"], partitions["maxTimestamp"], strict=True
    ):
        if low is None or pd.isna(low):
            continue  # an empty (or detached) partition holds nothing to remove
        first, last = pd.Timestamp(str(low)), pd.Timestamp(str(high))
        if first.tzinfo is not None:
            first, last = (t.tz_convert("UTC").tz_localize(None) for t in (first, last))
        if last < start or first >= end:
            continue
        inside = first >= start and last < end
        if not inside:
            bounds = f"{ts} >= {_literal(first)} AND {ts} <= {_literal(last)}"
            if not count(
                f"SELECT count() FROM {table.name} WHERE {bounds} AND {ts} >= {lo} AND {ts} < {hi}"
            ):
                continue  # it spans the window but holds none of its rows
            outside = count(
                f"SELECT count() FROM {table.name} WHERE {bounds} AND ({ts} < {lo} OR {ts} >= {hi})"
            )
            if outside:
                raise WarehouseError(
                    f"QuestDB table {table.name}: partition {name} holds {outside} rows "
                    f"outside [{start}, {end}) besides the window's; QuestDB can only drop whole "
                    "partitions, so replacing the window would lose them. Re-create the table "
                    "with a finer PARTITION BY, or use windows aligned to its partitions.",
                    "PARTITION_SHARED",
                )
        names.append(str(name))
    return names


def _literal(stamp: pd.Timestamp) -> str:
    return sql_string(pd.Timestamp(stamp).isoformat(timespec="microseconds"))


def ilp_frame(table: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """A conformed frame in dtypes the client serialises correctly.

    A SYMBOL or VARCHAR column holding no value at all becomes an Arrow string
    column, since the client cannot tell that an all-None object column holds
    strings. Everything else goes as it is: nulls in nullable columns (None,
    pandas NA) are left out of the line, which QuestDB stores as NULL.
    """
    out = frame.copy(deep=False)
    for name in (*table.columns_of(ColumnType.SYMBOL), *table.columns_of(ColumnType.VARCHAR)):
        column = out[name]
        if column.dtype == object and column.isna().all():
            out[name] = column.astype("string[pyarrow]")
    return out


def encode_ilp(buffer: Any, table: TableSpec, frame: pd.DataFrame) -> None:
    """Append a conformed frame to an ILP buffer: symbols as SYMBOL, the table's
    designated timestamp as the row timestamp."""
    buffer.dataframe(
        ilp_frame(table, frame),
        table_name=table.name,
        symbols=list(table.columns_of(ColumnType.SYMBOL)),
        at=table.timestamp,
    )


class QuestDBWarehouse(Warehouse):
    """Warehouse on a QuestDB server: ILP/HTTP on `http_port`, PG wire on `pg_port`."""

    host: str
    http_port: int = 9000
    pg_port: int = 8812
    pg_user: str = "admin"
    pg_password: str = "quest"
    pg_database: str = "qdb"
    tls: bool = False
    # None: let the client ask the server (/settings) for its newest ILP version.
    # 2 (QuestDB >= 9.0) sends doubles in binary, several times faster to encode.
    protocol_version: int | None = None
    username: str | None = pydantic.Field(default=None, description="ILP/HTTP basic auth")
    password: str | None = pydantic.Field(default=None, description="ILP/HTTP basic auth")
    token: str | None = pydantic.Field(default=None, description="ILP/HTTP bearer token")
    request_rows: int = pydantic.Field(
        default=100_000, description="rows per ILP/HTTP request (one transaction each)"
    )

    wal_apply_timeout_s: float = pydantic.Field(
        default=60.0, description="how long replace_partition waits for a table's WAL to apply"
    )

    _checked_server: bool = pydantic.PrivateAttr(default=False)

    @property
    def dialect(self) -> SqlDialect:
        return SqlDialect.QUESTDB

    @property
    def location(self) -> str:
        return f"questdb://{self.host}:{self.http_port}"

    @property
    def pg_address(self) -> str:
        return f"{self.host}:{self.pg_port}"

    def ilp_conf(self) -> str:
        """The client configuration string (see the QuestDB client's conf reference)."""
        scheme = "https" if self.tls else "http"
        settings = [f"addr={self.host}:{self.http_port}", "auto_flush=off"]
        if self.protocol_version is not None:
            settings.append(f"protocol_version={self.protocol_version}")
        if self.username is not None:
            settings.append(f"username={_conf_value(self.username)}")
        if self.password is not None:
            settings.append(f"password={_conf_value(self.password)}")
        if self.token is not None:
            settings.append(f"token={_conf_value(self.token)}")
        return f"{scheme}::" + "".join(f"{s};" for s in settings)

    def _create_tables(self, tables: Sequence[TableSpec]) -> None:
        names = ", ".join(t.name for t in tables)
        with self._pg(names) as con:
            self._check_server(con)
            existing = self._existing(con, tables)
            for table in tables:
                info = existing.get(table.name)
                if info is None:
                    self._execute(con, questdb_ddl(table), table.name)
                    continue
                columns = self._frame(
                    con, f"SELECT * FROM table_columns({sql_string(table.name)})", table.name
                )
                problems, fix = table_problems(table, info, columns)
                if problems:
                    raise WarehouseError(
                        f"QuestDB table {table.name} at {self.pg_address} does not match its "
                        f"declaration: {'; '.join(problems)}. Shipping into it could duplicate "
                        f"or misplace rows, so it is refused: compare SHOW CREATE TABLE "
                        f"{table.name} with the declaration, then fix the table or drop it "
                        "(and its ship_log rows) to have it re-created."
                    )
                if fix is not None:
                    dg.get_dagster_logger().warning(
                        f"QuestDB table {table.name} at {self.pg_address} had no DEDUP; "
                        f"enabling it ({fix}). Rows written before now may hold duplicates; "
                        f"the {table.name}_unique_keys check reports them."
                    )
                    self._execute(con, fix, table.name)

    def _write_conformed(self, conformed: Sequence[tuple[TableSpec, pd.DataFrame]]) -> None:
        self.write_ilp(conformed)

    def _replace_conformed(
        self,
        conformed: Sequence[tuple[TableSpec, pd.DataFrame]],
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> None:
        names = ", ".join(t.name for t, _ in conformed)
        with self._pg(names) as con:
            drops = []
            for table, _ in conformed:
                self._await_wal(con, table)
                drops.append((table, self._partitions_of_window(con, table, start, end)))
            for table, partitions in drops:
                if partitions:
                    listed = ", ".join(sql_string(p) for p in partitions)
                    self._execute(
                        con, f"ALTER TABLE {table.name} DROP PARTITION LIST {listed}", table.name
                    )
        rows = [(table, frame) for table, frame in conformed if len(frame)]
        if rows:
            self.write_ilp(rows)

    def _await_wal(self, con: psycopg.Connection[Any], table: TableSpec) -> None:
        deadline = time.monotonic() + self.wal_apply_timeout_s
        while True:
            state = self._frame(
                con,
                "SELECT suspended, writerTxn, sequencerTxn FROM wal_tables() "
                f"WHERE name = {sql_string(table.name)}",
                table.name,
            )
            if state.empty:
                return  # not a WAL table yet seen by the sequencer: nothing pending
            suspended, writer, sequencer = state.iloc[0]
            if bool(suspended):
                raise WarehouseError(
                    f"QuestDB table {table.name} at {self.pg_address} is suspended (its WAL "
                    "does not apply); see wal_tables() and ALTER TABLE ... RESUME WAL",
                    "TABLE_SUSPENDED",
                )
            if int(writer) >= int(sequencer):
                return
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"QuestDB table {table.name} at {self.pg_address} still has WAL "
                    f"transactions to apply after {self.wal_apply_timeout_s:g} s (writer "
                    f"{writer}, sequencer {sequencer}); re-run the job",
                    "WAL_NOT_APPLIED",
                )
            time.sleep(0.05)

    def _partitions_of_window(
        self,
        con: psycopg.Connection[Any],
        table: TableSpec,
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> list[str]:
        """Names of the partitions holding rows in [start, end); PARTITION_SHARED if
        one of them also holds rows outside it."""
        partitions = self._frame(
            con,
            "SELECT name, minTimestamp, maxTimestamp FROM table_partitions("
            f"{sql_string(table.name)})",
            table.name,
        )
        return partitions_to_drop(
            table,
            partitions,
            start,
            end,
            lambda sql: int(str(self._frame(con, sql, table.name).iat[0, 0] or 0)),
        )

    def write_ilp(self, conformed: Sequence[tuple[TableSpec, pd.DataFrame]]) -> None:
        """Send conformed frames over ILP/HTTP, table by table, in the order given, to
        tables that exist (`ensure_schema`): the part of `write_frames` that moves
        the rows, which bench.warehouse times against the raw client."""
        tables = ", ".join(t.name for t, _ in conformed)
        with self._sender(tables) as sender:
            for table, frame in conformed:
                for buffer in self.ilp_requests(sender, table, frame):
                    try:
                        # One table per request, committed as one transaction; the
                        # flush also clears the buffer for the next chunk.
                        sender.flush(buffer, transactional=True)
                    except QuestDBError as exc:
                        raise WarehouseError(
                            f"QuestDB ILP/HTTP at {self.host}:{self.http_port} failed while "
                            f"writing {table.name}: {exc}. Rows of this batch may be "
                            "missing; re-run the job once the server answers (re-sent rows "
                            "deduplicate)."
                        ) from exc

    def ilp_requests(self, sender: Sender, table: TableSpec, frame: pd.DataFrame) -> Iterator[Any]:
        """A conformed frame as ILP/HTTP request bodies of `request_rows` rows each.

        Yields one buffer, refilled per chunk: the caller sends (or reads) it
        and clears it before asking for the next, so its memory is reused.
        """
        buffer = sender.new_buffer()
        for start in range(0, len(frame), self.request_rows):
            buffer.clear()
            encode_ilp(buffer, table, frame.iloc[start : start + self.request_rows])
            yield buffer

    def query(self, sql: str) -> pd.DataFrame:
        with self._pg(None) as con:
            return self._frame(con, sql, None)

    def ilp_bytes(self, table: TableSpec, frame: pd.DataFrame) -> bytes:
        """The exact ILP a write of `frame` sends (needs a pinned protocol_version,
        otherwise the client would ask the server for it)."""
        if self.protocol_version is None:
            raise WarehouseError("ilp_bytes needs protocol_version set")
        with self._sender() as sender:
            buffer = sender.new_buffer()
            encode_ilp(buffer, table, conform(table, frame))
            return bytes(buffer)

    # -- internals ----------------------------------------------------------------

    def _check_server(self, con: psycopg.Connection[Any]) -> None:
        if self._checked_server:
            return
        (build,) = self._frame(con, "SELECT build()", None).iloc[0]
        problem = version_problem(str(build), self.pg_address)
        if problem is not None:
            raise WarehouseError(problem)
        if questdb_version(str(build)) is None:
            dg.get_dagster_logger().warning(
                f"QuestDB at {self.pg_address} reports {build!r}, which names no version; "
                f"assuming it has what QuestDB {'.'.join(map(str, MIN_QUESTDB_VERSION))} has."
            )
        self._checked_server = True

    def _existing(
        self, con: psycopg.Connection[Any], tables: Sequence[TableSpec]
    ) -> dict[str, dict[str, Any]]:
        names = ", ".join(sql_string(t.name) for t in tables)
        frame = self._frame(
            con,
            "SELECT table_name, designatedTimestamp, walEnabled, dedup FROM tables() "
            f"WHERE table_name IN ({names})",
            ", ".join(t.name for t in tables),
        )
        return {str(row["table_name"]): dict(row) for _, row in frame.iterrows()}

    def _frame(self, con: psycopg.Connection[Any], sql: str, table: str | None) -> pd.DataFrame:
        try:
            with con.cursor() as cur:
                cur.execute(sql.encode())
                columns = [d.name for d in cur.description or ()]
                return pd.DataFrame(cur.fetchall(), columns=columns)
        except psycopg.Error as exc:
            raise self._pg_error(exc, table, sql) from exc

    def _execute(self, con: psycopg.Connection[Any], sql: str, table: str) -> None:
        try:
            con.execute(sql.encode())
        except psycopg.Error as exc:
            raise self._pg_error(exc, table, sql) from exc

    def _pg_error(self, exc: psycopg.Error, table: str | None, sql: str) -> WarehouseError:
        what = f"table {table}" if table else f"query {sql[:120]!r}"
        if isinstance(exc, psycopg.OperationalError):
            advice = "the connection was lost: check that the server is up, then re-run the job"
        else:
            advice = "the server refused the statement"
        return WarehouseError(
            f"QuestDB PG wire at {self.pg_address} failed for {what}: {exc}. ({advice})"
        )

    @contextmanager
    def _sender(self, tables: str = "") -> Iterator[Sender]:
        where = f"{self.host}:{self.http_port}"
        try:
            sender = Sender.from_conf(self.ilp_conf())
            sender.establish()
        except QuestDBError as exc:
            raise WarehouseError(
                f"QuestDB ILP/HTTP at {where} cannot be reached to write {tables or 'rows'}: "
                f"{exc}. Check that the server is up and TRADEPIPE_WAREHOUSE names its HTTP "
                "port, then re-run the job."
            ) from exc
        try:
            yield sender
        finally:
            # Every buffer was flushed explicitly; never send a half-built one.
            sender.close(flush=False)

    @contextmanager
    def _pg(self, tables: str | None) -> Iterator[psycopg.Connection[Any]]:
        try:
            con = psycopg.connect(
                host=self.host,
                port=self.pg_port,
                user=self.pg_user,
                password=self.pg_password,
                dbname=self.pg_database,
                autocommit=True,
                connect_timeout=10,
            )
        except psycopg.Error as exc:
            raise WarehouseError(
                f"QuestDB PG wire at {self.pg_address} cannot be reached"
                f"{f' for {tables}' if tables else ''}: {exc}. Check that the server is up and "
                "TRADEPIPE_WAREHOUSE names its pg_port, pg_user and pg_password, then re-run "
                "the job."
            ) from exc
        try:
            yield con
        finally:
            con.close()


def _conf_value(value: str) -> str:
    # In the client's configuration string a ';' inside a value is written ';;'.
    return value.replace(";", ";;")
