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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import pandas as pd
import psycopg
import pydantic
from questdb import Sender

from orchestration.resources.schema import ColumnType, TableSpec
from orchestration.resources.warehouse import Warehouse, WarehouseError, conform

_QUESTDB_TYPES: Final = {
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.SYMBOL: "SYMBOL",
    ColumnType.VARCHAR: "VARCHAR",
    ColumnType.LONG: "LONG",
    ColumnType.DOUBLE: "DOUBLE",
}


def questdb_ddl(table: TableSpec) -> str:
    """CREATE TABLE for QuestDB (syntax of QuestDB's CREATE TABLE reference)."""
    columns = ",\n".join(f"    {c.name} {_QUESTDB_TYPES[c.type]}" for c in table.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {table.name} (\n{columns}\n"
        f") TIMESTAMP({table.timestamp}) PARTITION BY DAY WAL\n"
        f"DEDUP UPSERT KEYS({', '.join(table.upsert_keys)})"
    )


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

    @property
    def location(self) -> str:
        return f"questdb://{self.host}:{self.http_port}"

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
        with self._pg() as con:
            for table in tables:
                con.execute(questdb_ddl(table))

    def _write_conformed(self, conformed: Sequence[tuple[TableSpec, pd.DataFrame]]) -> None:
        with self._sender() as sender:
            for table, frame in conformed:
                for buffer in self.ilp_requests(sender, table, frame):
                    try:
                        # One table per request, committed as one transaction; the
                        # flush also clears the buffer for the next chunk.
                        sender.flush(buffer, transactional=True)
                    except Exception as exc:
                        raise WarehouseError(f"ILP write to {table.name} failed: {exc}") from exc

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
        with self._pg() as con, con.cursor() as cur:
            cur.execute(sql)
            columns = [d.name for d in cur.description or ()]
            return pd.DataFrame(cur.fetchall(), columns=columns)

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

    @contextmanager
    def _sender(self) -> Iterator[Sender]:
        sender = Sender.from_conf(self.ilp_conf())
        sender.establish()
        try:
            yield sender
        finally:
            # Every buffer was flushed explicitly; never send a half-built one.
            sender.close(flush=False)

    @contextmanager
    def _pg(self) -> Iterator[psycopg.Connection[Any]]:
        con = psycopg.connect(
            host=self.host,
            port=self.pg_port,
            user=self.pg_user,
            password=self.pg_password,
            dbname=self.pg_database,
            autocommit=True,
        )
        try:
            yield con
        finally:
            con.close()


def _conf_value(value: str) -> str:
    # In the client's configuration string a ';' inside a value is written ';;'.
    return value.replace(";", ";;")
