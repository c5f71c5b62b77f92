"""The QuestDB warehouse offline: the DDL each table gets and the exact ILP the client sends.

No QuestDB server runs here. The DDL follows QuestDB's CREATE TABLE reference;
the ILP bytes come from the official client's `Buffer`, built exactly as a
write builds them, with protocol version 2 pinned so nothing asks a server.
"""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest

from assets.catalogue import ALL_TABLES
from assets.warehouse.tables import ORDERS, QUOTES, SHIP_LOG
from orchestration.resources import QuestDBWarehouse, warehouse_from_url
from orchestration.resources.questdb_warehouse import questdb_ddl
from orchestration.resources.warehouse import WarehouseError

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
