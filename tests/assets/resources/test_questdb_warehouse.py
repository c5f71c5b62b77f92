"""The QuestDB warehouse offline: the DDL each table gets and the exact ILP the client sends.

No QuestDB server runs here. The DDL follows QuestDB's CREATE TABLE reference;
the ILP bytes come from the official client's `Buffer`, built exactly as a
write builds them, with protocol version 2 pinned so nothing asks a server.
The checks of an existing table run on tables()/table_columns() rows shaped as
QuestDB's meta-function reference documents them; failures are real: closed
ports, and real local servers that drop the connection or die mid-run.
"""

from __future__ import annotations

import http.server
import socket
import struct
import threading
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from assets.catalogue import ALL_TABLES
from assets.resources import QuestDBWarehouse, TableSpec, WarehouseError
from assets.resources.questdb_warehouse import (
    questdb_ddl,
    questdb_version,
    table_problems,
    version_problem,
)
from assets.resources.warehouse import conform
from assets.warehouse.tables import ORDERS, QUOTES, SHIP_LOG
from bench._service import free_port
from orchestration.resources import warehouse_from_url

T0 = pd.Timestamp("2026-11-26 14:30:00")


def test_questdb_ddl_when_quotes_then_designated_ts_symbols_day_partitions_wal_and_dedup() -> None:
    assert questdb_ddl(QUOTES) == (
        "CREATE TABLE IF NOT EXISTS quotes (\n"
        "    ts TIMESTAMP,\n"
        "    seq LONG,\n"
        "    symbol SYMBOL,\n"
        "    bid DOUBLE,\n"
        "    ask DOUBLE,\n"
        "    bid_size LONG,\n"
        "    ask_size LONG\n"
        ") TIMESTAMP(ts) PARTITION BY DAY WAL\n"
        "DEDUP UPSERT KEYS(ts, seq)"
    )


def test_questdb_ddl_when_ship_log_then_its_keys_follow_the_designated_timestamp() -> None:
    assert questdb_ddl(SHIP_LOG) == (
        "CREATE TABLE IF NOT EXISTS ship_log (\n"
        "    ts TIMESTAMP,\n"
        "    table_name SYMBOL,\n"
        "    first_seq LONG,\n"
        "    last_seq LONG,\n"
        "    row_count LONG,\n"
        "    min_event_ts TIMESTAMP,\n"
        "    max_event_ts TIMESTAMP,\n"
        "    run_id VARCHAR\n"
        ") TIMESTAMP(ts) PARTITION BY DAY WAL\n"
        "DEDUP UPSERT KEYS(ts, table_name, last_seq)"
    )


@pytest.mark.parametrize("table", ALL_TABLES, ids=lambda t: t.name)
def test_questdb_ddl_when_any_table_then_wal_dedup_keys_start_with_designated_ts(table) -> None:  # type: ignore[no-untyped-def]
    ddl = questdb_ddl(table)
    assert f") TIMESTAMP({table.timestamp}) PARTITION BY DAY WAL\n" in ddl
    assert ddl.endswith(f"DEDUP UPSERT KEYS({', '.join(table.upsert_keys)})")
    assert table.upsert_keys[0] == table.timestamp
    for column in table.columns:
        assert f"    {column.name} {column.type.value}" in ddl


def sample_quotes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": [T0 + pd.Timedelta(microseconds=1), T0 + pd.Timedelta(microseconds=2)],
            "seq": [7, 8],
            "symbol": ["AAPL", "MSFT"],
            "bid": [189.99, 414.5],
            "ask": [190.01, 414.75],
            "bid_size": [100, 10],
            "ask_size": [200, 20],
        }
    )


def f64(value: float) -> bytes:
    """'=' and a double in ILP v2's binary form: '=', type 16, 8 little-endian bytes."""
    return b"==\x10" + struct.pack("<d", value)


def test_ilp_when_quotes_frame_then_symbol_tag_binary_doubles_and_ns_designated_ts() -> None:
    questdb = QuestDBWarehouse(host="localhost", protocol_version=2)

    ilp = questdb.ilp_bytes(QUOTES, sample_quotes())

    ns = T0.value
    assert ilp == (
        b"quotes,symbol=AAPL seq=7i,bid"
        + f64(189.99)
        + b",ask"
        + f64(190.01)
        + b",bid_size=100i,ask_size=200i "
        + str(ns + 1_000).encode()
        + b"n\n"
        b"quotes,symbol=MSFT seq=8i,bid"
        + f64(414.5)
        + b",ask"
        + f64(414.75)
        + b",bid_size=10i,ask_size=20i "
        + str(ns + 2_000).encode()
        + b"n\n"
    )


def test_ilp_when_protocol_version_1_then_text_doubles_and_plain_ns_timestamp() -> None:
    questdb = QuestDBWarehouse(host="localhost", protocol_version=1)

    ilp = questdb.ilp_bytes(QUOTES, sample_quotes().head(1))

    assert ilp == (
        b"quotes,symbol=AAPL seq=7i,bid=189.99,ask=190.01,bid_size=100i,ask_size=200i "
        + str(T0.value + 1_000).encode()
        + b"\n"
    )


def test_ilp_when_orders_have_nulls_then_null_fields_are_left_out() -> None:
    questdb = QuestDBWarehouse(host="localhost", protocol_version=1)
    frame = pd.DataFrame(
        {
            "ts": [T0],
            "seq": [11],
            "event_type": ["OrderRejected"],
            "order_id": ["O2"],
            "account": ["alice"],
            "symbol": ["AAPL"],
            "quantity": pd.array([100], dtype="Int64"),
            "limit_price": pd.array([None], dtype="Float64"),
            "risk_decision": ["REJECTED"],
            "reason": ["PRICE_OUTSIDE_COLLAR"],
            "detail": ['limit "1.0" is far'],
        }
    )

    ilp = questdb.ilp_bytes(ORDERS, frame)

    assert ilp == (
        b"orders,event_type=OrderRejected,account=alice,symbol=AAPL,risk_decision=REJECTED,"
        b"reason=PRICE_OUTSIDE_COLLAR "
        b'seq=11i,order_id="O2",quantity=100i,detail="limit \\"1.0\\" is far" '
        + str(T0.value).encode()
        + b"\n"
    )


def test_ilp_when_timestamps_have_nanoseconds_then_they_are_cut_to_whole_micros() -> None:
    questdb = QuestDBWarehouse(host="localhost", protocol_version=2)
    frame = sample_quotes().head(1).assign(ts=[T0 + pd.Timedelta(nanoseconds=1_999)])

    ilp = questdb.ilp_bytes(QUOTES, frame)

    assert ilp.endswith(b" " + str(T0.value + 1_000).encode() + b"n\n")


def test_ilp_bytes_when_protocol_not_pinned_then_refuses_rather_than_asking_a_server() -> None:
    with pytest.raises(WarehouseError, match="protocol_version"):
        QuestDBWarehouse(host="localhost").ilp_bytes(QUOTES, sample_quotes())


def test_ilp_conf_when_url_has_options_then_conf_string_carries_them() -> None:
    questdb = warehouse_from_url(
        "questdb://qdb.internal:9443?pg_port=8813&tls=on&protocol_version=2&token=abc;def"
    )

    assert isinstance(questdb, QuestDBWarehouse)
    assert questdb.ilp_conf() == (
        "https::addr=qdb.internal:9443;auto_flush=off;protocol_version=2;token=abc;;def;"
    )
    assert (questdb.pg_port, questdb.pg_user, questdb.location) == (
        8813,
        "admin",
        "questdb://qdb.internal:9443",
    )


def test_ilp_when_a_symbol_column_is_all_null_then_it_still_serialises() -> None:
    questdb = QuestDBWarehouse(host="localhost", protocol_version=1)
    frame = pd.DataFrame(
        {"ts": [T0], "seq": [1], "event_type": ["OrderAcknowledged"], "order_id": ["O1"]}
    ).assign(account=pd.Series([None], dtype=object), quantity=pd.array([np.nan], dtype="Float64"))

    ilp = questdb.ilp_bytes(ORDERS, frame.drop(columns=["quantity"]))

    assert ilp.startswith(b'orders,event_type=OrderAcknowledged seq=1i,order_id="O1" ')


# --- the server: version, existing tables, failures -----------------------------------


def test_version_when_build_is_below_8_3_2_then_refused_naming_server_and_minimum() -> None:
    build = "Build Information: QuestDB 8.2.3, JDK 17.0.7, Commit Hash 460b817b"

    problem = version_problem(build, "qdb:8812")

    assert questdb_version(build) == (8, 2, 3)
    assert problem is not None
    assert problem.startswith("QuestDB at qdb:8812 is 8.2.3; tradepipe needs 8.3.2 or later")


@pytest.mark.parametrize(
    "build",
    [
        "Build Information: QuestDB 8.3.2, JDK 17, Commit Hash 1",
        "Build Information: QuestDB 9.3.2, JDK 25, Commit Hash 2",
        "Build Information: QuestDB Enterprise, JDK 25",  # names no version: allowed
    ],
)
def test_version_when_build_is_8_3_2_or_later_then_accepted(build: str) -> None:
    assert version_problem(build, "qdb:8812") is None


def tables_row(**overrides: object) -> dict[str, object]:
    """A row of QuestDB's tables(), as its meta-function reference documents it."""
    return {
        "table_name": "quotes",
        "designatedTimestamp": "ts",
        "partitionBy": "DAY",
        "walEnabled": True,
        "dedup": True,
        **overrides,
    }


def table_columns(
    table: TableSpec, *, keys: tuple[str, ...] | None = None, types: dict[str, str] | None = None
) -> pd.DataFrame:
    """QuestDB's table_columns(name) for a table created by our DDL."""
    upsert = set(table.upsert_keys if keys is None else keys)
    kinds = {c.name: c.type.value for c in table.columns} | (types or {})
    return pd.DataFrame(
        {
            "column": list(kinds),
            "type": list(kinds.values()),
            "designated": [name == table.timestamp for name in kinds],
            "upsertKey": [name in upsert for name in kinds],
        }
    )


def test_existing_table_when_it_matches_its_declaration_then_nothing_to_do() -> None:
    assert table_problems(QUOTES, tables_row(), table_columns(QUOTES)) == ([], None)


def test_existing_table_when_dedup_is_off_then_dedup_is_enabled_with_the_declared_keys() -> None:
    problems, fix = table_problems(QUOTES, tables_row(dedup=False), table_columns(QUOTES, keys=()))

    assert problems == []
    assert fix == "ALTER TABLE quotes DEDUP ENABLE UPSERT KEYS(ts, seq)"


@pytest.mark.parametrize(
    ("row", "columns", "problem"),
    [
        ({"walEnabled": False}, {}, "it is not a WAL table (dedup needs WAL)"),
        ({"designatedTimestamp": "bid_ts"}, {}, "its designated timestamp is 'bid_ts'"),
        ({}, {"types": {"bid": "FLOAT"}}, "column bid is FLOAT, declared DOUBLE"),
        ({}, {"types": {"ts": "TIMESTAMP_NS"}}, "column ts is TIMESTAMP_NS, declared TIMESTAMP"),
        ({}, {"keys": ("ts",)}, "its dedup keys are (ts), declared (ts, seq)"),
    ],
)
def test_existing_table_when_it_differs_otherwise_then_refused_and_not_altered(
    row: dict[str, object], columns: dict[str, Any], problem: str
) -> None:
    problems, fix = table_problems(
        QUOTES, tables_row(**row, dedup="keys" in columns), table_columns(QUOTES, **columns)
    )

    assert fix is None
    assert any(p.startswith(problem) for p in problems), problems


def test_existing_table_when_a_column_is_missing_then_refused() -> None:
    columns = table_columns(QUOTES)
    problems, fix = table_problems(QUOTES, tables_row(), columns[columns["column"] != "ask"])

    assert (problems, fix) == (["column ask is missing"], None)


def closed_ports_warehouse(**fields: object) -> QuestDBWarehouse:
    return QuestDBWarehouse(
        host="127.0.0.1",
        http_port=free_port(),
        pg_port=free_port(),
        **fields,  # type: ignore[arg-type]
    )


def test_ensure_schema_when_server_is_down_then_warehouse_error_names_server_and_table() -> None:
    questdb = closed_ports_warehouse()

    with pytest.raises(WarehouseError) as raised:
        questdb.ensure_schema([QUOTES])

    message = str(raised.value)
    assert message.startswith(f"QuestDB PG wire at 127.0.0.1:{questdb.pg_port} cannot be reached")
    assert "for quotes" in message and "Check that the server is up" in message
    assert isinstance(raised.value.__cause__, psycopg.OperationalError)


def test_write_when_ilp_server_is_down_then_warehouse_error_from_establish() -> None:
    # No protocol_version: establish() asks the server for it, and finds nothing.
    questdb = closed_ports_warehouse()

    with pytest.raises(WarehouseError) as raised:
        questdb.write_ilp([(QUOTES, conform(QUOTES, sample_quotes()))])

    assert str(raised.value).startswith(
        f"QuestDB ILP/HTTP at 127.0.0.1:{questdb.http_port} cannot be reached to write quotes"
    )


class IlpServer:
    """A real HTTP server on 127.0.0.1 that accepts `accept` ILP writes (204, as
    QuestDB answers) and then dies: its socket closes mid-run."""

    def __init__(self, accept: int) -> None:
        self.bodies: list[bytes] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if len(server.bodies) >= accept:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)  # dies before answering
                    return
                server.bodies.append(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> IlpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def test_write_when_server_dies_mid_run_then_warehouse_error_names_server_and_table() -> None:
    frame = conform(QUOTES, sample_quotes())
    with IlpServer(accept=1) as server:
        questdb = QuestDBWarehouse(
            host="127.0.0.1",
            http_port=server.port,
            protocol_version=2,
            request_rows=1,  # two requests: the second finds the server gone
        )

        with pytest.raises(WarehouseError) as raised:
            questdb.write_ilp([(QUOTES, frame)])

    message = str(raised.value)
    assert message.startswith(
        f"QuestDB ILP/HTTP at 127.0.0.1:{server.port} failed while writing quotes:"
    )
    assert "re-run the job" in message
    assert server.bodies == [questdb.ilp_bytes(QUOTES, frame.head(1))]


def test_query_when_pg_server_drops_the_connection_then_warehouse_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def drop_one() -> None:
            conn, _ = listener.accept()
            conn.close()  # a server that dies as the client connects

        dropper = threading.Thread(target=drop_one)
        dropper.start()
        questdb = QuestDBWarehouse(host="127.0.0.1", pg_port=port)
        try:
            with pytest.raises(WarehouseError) as raised:
                questdb.query("SELECT count(*) FROM quotes")
        finally:
            dropper.join()

    assert str(raised.value).startswith(f"QuestDB PG wire at 127.0.0.1:{port} cannot be reached")
