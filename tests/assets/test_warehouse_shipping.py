"""Shipping the journal into the warehouse: real engine journal, real DuckDB file, real runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pydantic
import pytest

from assets.resources import DuckDBWarehouse, Frames, JournalSource, QuestDBWarehouse, TableSpec
from assets.resources.journal_payloads import decode_payloads
from assets.warehouse.assets import WAREHOUSE_ASSETS
from assets.warehouse.checks import WAREHOUSE_CHECKS
from assets.warehouse.projections import ORDER_EVENT_TYPES
from assets.warehouse.tables import SHIP_LOG
from bench._service import free_port
from realtime.domain import OrderRequest, Side
from realtime.events import FeatureLimitsChanged, OrderAccepted, OrderFilled, encode_event
from realtime.journal import Journal, JournalDecodeError
from tests.assets.conftest import journal_source
from tests.assets.journals import (
    ENGINE_FEES,
    M1_DECISION_PRICE,
    append_events,
    journal_type_counts,
    tick_events,
)
from tests.assets.results import check_results, failed_checks
from tests.realtime.harness import T0

# Tables the engine journal has events of (it holds no feature refresh; that table is
# shipped in tests/assets/features/test_shipping_feature_limits.py).
ENGINE_TABLES = ("orders", "fills", "quotes", "trades", "risk_control_changes", "risk_rejections")
TABLES = (*ENGINE_TABLES, "feature_limit_changes")


def ship(
    journal: JournalSource,
    warehouse: DuckDBWarehouse,
    *,
    selection: list[str] | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": journal},
        selection=selection,
        raise_on_error=raise_on_error,
    )


def counts(warehouse: DuckDBWarehouse) -> dict[str, int]:
    return {t: int(warehouse.query(f"SELECT count(*) FROM {t}").iat[0, 0]) for t in TABLES}


def expected_counts(journal: Path) -> dict[str, int]:
    by_type = journal_type_counts(journal)
    return {
        "orders": sum(by_type[t] for t in ORDER_EVENT_TYPES),
        "fills": by_type["OrderFilled"],
        "quotes": by_type["PriceSampled"],
        "trades": by_type["TradePrinted"],
        "risk_control_changes": by_type["TradingStateChanged"] + by_type["RiskLimitsChanged"],
        "risk_rejections": by_type["OrderRejected"] + by_type["ReplaceRiskRejected"],
        "feature_limit_changes": feature_scale_changes(journal),
    }


def feature_scale_changes(journal: Path) -> int:
    """One row per symbol a FeatureLimitsChanged names."""
    events = Journal.open_reader(journal).read(after_seq=0)
    return sum(len(e.scales) for _, _, e in events if isinstance(e, FeatureLimitsChanged))


def rows_written(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    return {
        m.asset_key.to_user_string(): int(m.metadata["rows_written"].value)  # type: ignore[arg-type]
        for m in result.asset_materializations_for_node("ship_journal")
        if m.asset_key.to_user_string() != "ship_log"
    }


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The failed step's error and its causes, as one string."""
    error = result.get_step_failure_events()[0].step_failure_data.error
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


def test_ship_when_engine_journal_then_every_event_lands_once_in_its_table(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    result = ship(journal_source(engine_journal), warehouse)

    assert counts(warehouse) == expected_counts(engine_journal)
    assert all(counts(warehouse)[t] > 0 for t in ENGINE_TABLES)
    assert failed_checks(result) == []
    assert len(result.get_asset_check_evaluations()) == len(WAREHOUSE_CHECKS)


def test_ship_when_orders_rejected_then_risk_decision_and_reason_code_are_kept(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    ship(journal_source(engine_journal), warehouse)

    orders = warehouse.query(
        "SELECT client_order_id, event_type, risk_decision, reason, symbol, side, quantity "
        "FROM orders WHERE event_type IN ('OrderAccepted', 'OrderRejected') ORDER BY seq"
    )
    by_client = orders.set_index("client_order_id")
    assert by_client.loc["far", "risk_decision"] == "REJECTED"
    assert by_client.loc["far", "reason"] == "PRICE_OUTSIDE_COLLAR"
    assert by_client.loc["m2", "reason"] == "TRADING_HALTED"
    assert by_client.loc["m1", "risk_decision"] == "ACCEPTED"
    assert by_client.loc["m1", "reason"] is None
    assert tuple(by_client.loc["r2", ["symbol", "side", "quantity"]]) == ("MSFT", "BUY", 30)
    lifecycle = set(warehouse.query("SELECT DISTINCT event_type FROM orders")["event_type"])
    assert {"OrderAcknowledged", "OrderFilled", "OrderCanceled", "OrderReplaced"} <= lifecycle
    assert "OrderExpired" in lifecycle
    canceled = warehouse.query("SELECT reason FROM orders WHERE event_type = 'OrderCanceled'")
    assert canceled["reason"].notna().all()


def test_ship_when_orders_rejected_then_risk_rejections_holds_them_with_a_chart_by_reason(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    result = ship(journal_source(engine_journal), warehouse)

    rejections = warehouse.query(
        "SELECT client_order_id, event_type, account, symbol, side, reason, detail "
        "FROM risk_rejections ORDER BY seq"
    )
    assert list(rejections["client_order_id"]) == ["far", "m2"]
    assert list(rejections["reason"]) == ["PRICE_OUTSIDE_COLLAR", "TRADING_HALTED"]
    assert set(rejections["event_type"]) == {"OrderRejected"}
    assert list(rejections["account"]) == ["alice", "alice"]
    assert rejections["detail"].notna().all()
    [materialisation] = [
        m
        for m in result.asset_materializations_for_node("ship_journal")
        if m.asset_key.to_user_string() == "risk_rejections"
    ]
    assert materialisation.metadata["rejections_PRICE_OUTSIDE_COLLAR"].value == 1
    assert materialisation.metadata["rejections_TRADING_HALTED"].value == 1
    chart = str(materialisation.metadata["rejections_by_reason"].value)
    assert "| PRICE_OUTSIDE_COLLAR | 1 | █" in chart


def test_ship_log_when_shipped_then_its_asset_shows_every_cursor_and_its_lag(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    result = ship(journal_source(engine_journal), warehouse)

    [event] = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("ship_log")
    ]
    metadata = event.materialization.metadata
    head = int(metadata["journal_head_seq"].value)  # type: ignore[arg-type]
    assert head == sum(journal_type_counts(engine_journal).values())
    cursors = str(metadata["cursors"].value)
    for table in TABLES:
        assert f"| {table} " in cursors
    assert "events_behind_head" in cursors


def test_ship_when_fills_and_risk_changes_then_columns_carry_their_values(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    ship(journal_source(engine_journal), warehouse)

    fills = warehouse.query("SELECT * FROM fills ORDER BY seq")
    assert (fills["notional"] == fills["quantity"] * fills["price"]).all()
    assert set(fills["account"]) == {"alice", "bob"}
    assert fills["fill_id"].is_unique
    risk = warehouse.query("SELECT * FROM risk_control_changes ORDER BY seq")
    states = risk[risk["event_type"] == "TradingStateChanged"]
    assert list(states["state"]) == ["HALTED", "ACTIVE"]
    assert states["account"].isna().all()  # the global switch
    limits = risk[risk["event_type"] == "RiskLimitsChanged"]
    assert list(limits["limits_source"]) == ["startup", "test"]
    assert limits["limits_digest"].str.len().eq(64).all()


def test_ship_when_fills_charged_fees_then_fee_column_holds_the_journaled_fee(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    ship(journal_source(engine_journal), warehouse)

    fills = warehouse.query("SELECT fill_id, price, quantity, liquidity, fee FROM fills")
    journal = Journal.open(engine_journal)
    try:
        journaled = {e.fill_id: e.fee for _, _, e in journal.read() if isinstance(e, OrderFilled)}
    finally:
        journal.close()
    assert dict(zip(fills["fill_id"], fills["fee"], strict=True)) == journaled
    expected = [
        ENGINE_FEES.fee(int(q), float(p), str(liq))
        for q, p, liq in zip(fills["quantity"], fills["price"], fills["liquidity"], strict=True)
    ]
    assert list(fills["fee"]) == pytest.approx(expected, abs=1e-12)
    assert (fills["fee"] > 0).all()


def test_ship_when_orders_submitted_then_decision_price_and_its_source_are_kept(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    ship(journal_source(engine_journal), warehouse)

    orders = warehouse.query(
        "SELECT client_order_id, event_type, reference_price, decision_price, "
        "decision_price_source FROM orders ORDER BY seq"
    )
    submitted = orders[orders["event_type"].isin(["OrderAccepted", "OrderRejected"])]
    by_client = submitted.set_index("client_order_id")
    assert by_client.loc["m1", "decision_price"] == M1_DECISION_PRICE
    assert by_client.loc["m1", "decision_price_source"] == "CLIENT"
    others = by_client.drop("m1")
    assert (others["decision_price_source"] == "ARRIVAL_MID").all()
    accepted = others[others["event_type"] == "OrderAccepted"]
    assert (accepted["decision_price"] == accepted["reference_price"]).all()
    assert others["decision_price"].notna().all()  # the rejected ones had a quote too
    lifecycle = orders[~orders["event_type"].isin(["OrderAccepted", "OrderRejected"])]
    assert lifecycle["decision_price"].isna().all()
    assert lifecycle["decision_price_source"].isna().all()


def test_decode_when_payloads_predate_fees_and_decision_prices_then_defaults_are_read() -> None:
    old_fill = (
        '{"type":"OrderFilled","ts_ns":1,"order_id":"O1","fill_id":"F1","account":"a",'
        '"symbol":"AAPL","side":"BUY","quantity":1,"price":1.0,"liquidity":"TAKER"}'
    )
    new_fill = old_fill[:-1] + ',"fee":0.25}'
    old_accept = (
        '{"type":"OrderAccepted","ts_ns":1,"order_id":"O2","account":"a","request":'
        '{"client_order_id":"c","symbol":"AAPL","side":"BUY","quantity":1,'
        '"order_type":"MARKET","limit_price":null,"time_in_force":"DAY"},"reference_price":1.5}'
    )
    names = ["OrderFilled", "OrderAccepted"]
    frames = decode_payloads(
        duckdb.connect(),
        np.array([1, 2, 3]),
        np.array([1, 1, 1]),
        np.array([0, 0, 1]),
        names,
        pa.array([old_fill, new_fill, old_accept]),
    )
    assert list(frames["OrderFilled"]["fee"]) == [0.0, 0.25]
    accepted = frames["OrderAccepted"]
    assert accepted["decision_price"].isna().all()
    assert accepted["request.decision_price"].isna().all()


def test_decode_when_an_added_field_has_the_wrong_type_then_the_batch_fails() -> None:
    bad = (
        '{"type":"OrderFilled","ts_ns":1,"order_id":"O1","fill_id":"F1","account":"a",'
        '"symbol":"AAPL","side":"BUY","quantity":1,"price":1.0,"liquidity":"TAKER",'
        '"fee":"free"}'
    )
    with pytest.raises(JournalDecodeError):
        decode_payloads(
            duckdb.connect(),
            np.array([1]),
            np.array([1]),
            np.array([0]),
            ["OrderFilled"],
            pa.array([bad]),
        )


def test_ship_when_materialised_then_metadata_reports_rows_range_times_and_lag(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    result = ship(journal_source(engine_journal), warehouse)

    quotes = next(
        m
        for m in result.asset_materializations_for_node("ship_journal")
        if m.asset_key.to_user_string() == "quotes"
    )
    metadata = quotes.metadata
    expected = expected_counts(engine_journal)["quotes"]
    assert metadata["rows_written"].value == expected
    assert metadata["dagster/row_count"].value == expected
    assert metadata["seq_range"].value == f"1 .. {metadata['shipped_through_seq'].value}"
    assert metadata["time_range"].value.startswith("2026-11-26T14:30:00")  # type: ignore[union-attr]
    assert metadata["lag_events"].value == 0
    assert "lag_seconds" in metadata
    assert "| symbol" in metadata["preview"].value  # type: ignore[operator]


def test_ship_when_run_again_with_nothing_new_then_writes_nothing(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    journal = journal_source(engine_journal)
    ship(journal, warehouse)
    before = counts(warehouse)

    again = ship(journal, warehouse)

    assert rows_written(again) == dict.fromkeys(TABLES, 0)
    assert counts(warehouse) == before
    assert failed_checks(again) == []


def test_ship_when_journal_grows_then_only_new_events_are_shipped(
    tmp_path: Path, warehouse: DuckDBWarehouse
) -> None:
    path = tmp_path / "journal.db"
    append_events(path, tick_events(90))
    journal = journal_source(path)
    ship(journal, warehouse)
    append_events(path, tick_events(30, start_ns=T0 + 10**9))

    second = ship(journal, warehouse)

    assert rows_written(second) == {
        "orders": 0,
        "fills": 0,
        "quotes": 20,
        "trades": 10,
        "risk_control_changes": 0,
        "risk_rejections": 0,
        "feature_limit_changes": 0,
    }
    assert counts(warehouse) == expected_counts(path)
    assert failed_checks(second) == []


def test_ship_when_batches_are_small_then_ship_log_covers_the_journal_without_gaps(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    result = ship(journal_source(engine_journal, batch_rows=4, batch_bytes=400), warehouse)

    log = warehouse.query("SELECT * FROM ship_log WHERE table_name = 'orders' ORDER BY first_seq")
    assert len(log) > 5
    assert log["first_seq"].iloc[0] == 1
    assert (log["first_seq"].iloc[1:].to_numpy() == log["last_seq"].iloc[:-1].to_numpy() + 1).all()
    assert log["row_count"].sum() == expected_counts(engine_journal)["orders"]
    assert counts(warehouse) == expected_counts(engine_journal)
    assert failed_checks(result) == []


def test_ship_when_one_table_selected_then_only_that_table_is_shipped(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    ship(journal_source(engine_journal), warehouse, selection=["quotes"])

    assert (
        warehouse.query("SELECT count(*) FROM quotes").iat[0, 0]
        == expected_counts(engine_journal)["quotes"]
    )
    shipped = set(warehouse.query("SELECT DISTINCT table_name FROM ship_log")["table_name"])
    assert shipped == {"quotes"}


def test_ship_when_no_journal_yet_then_ships_nothing_and_succeeds(
    tmp_path: Path, warehouse: DuckDBWarehouse
) -> None:
    result = ship(journal_source(tmp_path / "absent.db"), warehouse)

    assert result.success
    assert counts(warehouse) == dict.fromkeys(TABLES, 0)
    assert failed_checks(result) == []


# --- exactly once across crashes ------------------------------------------------------


class CrashBeforeCursor(DuckDBWarehouse):
    """Dies once, inside the transaction, while writing a ship_log row (the cursor)."""

    crash_marker: str = pydantic.Field(description="exists once the crash has happened")

    def _write_table(
        self, con: duckdb.DuckDBPyConnection, table: TableSpec, frame: pd.DataFrame
    ) -> None:
        marker = Path(self.crash_marker)
        if table.name == SHIP_LOG.name and not marker.exists():
            marker.touch()
            raise RuntimeError("simulated crash between the rows and the cursor")
        super()._write_table(con, table, frame)


class CommitRowsThenCrash(DuckDBWarehouse):
    """Behaves like a store without cross-table transactions (QuestDB): commits the
    rows, then dies once before the ship_log rows are written."""

    crash_marker: str

    def write_frames(self, frames: Frames) -> None:
        marker = Path(self.crash_marker)
        if marker.exists():
            super().write_frames(frames)
            return
        super().write_frames([(t, f) for t, f in frames if t.name != SHIP_LOG.name])
        marker.touch()
        raise RuntimeError("simulated crash after the rows, before the cursor")


def test_rerun_when_crashed_between_rows_and_cursor_then_each_event_lands_once(
    engine_journal: Path, warehouse_path: Path, tmp_path: Path
) -> None:
    journal = journal_source(engine_journal)
    crashing = CrashBeforeCursor(path=str(warehouse_path), crash_marker=str(tmp_path / "crashed"))

    first = ship(journal, crashing, raise_on_error=False)
    warehouse = DuckDBWarehouse(path=str(warehouse_path))
    assert not first.success
    assert counts(warehouse) == dict.fromkeys(TABLES, 0)  # the transaction rolled back

    second = ship(journal, warehouse)

    assert counts(warehouse) == expected_counts(engine_journal)
    assert failed_checks(second) == []


def test_rerun_when_rows_committed_but_cursor_lost_then_no_duplicates_and_no_gaps(
    engine_journal: Path, warehouse_path: Path, tmp_path: Path
) -> None:
    journal = journal_source(engine_journal)
    crashing = CommitRowsThenCrash(path=str(warehouse_path), crash_marker=str(tmp_path / "crashed"))

    first = ship(journal, crashing, raise_on_error=False)
    warehouse = DuckDBWarehouse(path=str(warehouse_path))
    assert not first.success
    assert counts(warehouse) == expected_counts(engine_journal)  # rows in, cursor not
    assert warehouse.query("SELECT count(*) FROM ship_log").iat[0, 0] == 0

    second = ship(journal, warehouse)

    assert rows_written(second)["quotes"] == expected_counts(engine_journal)["quotes"]  # re-sent
    assert counts(warehouse) == expected_counts(engine_journal)  # ...and replaced, not added
    assert failed_checks(second) == []


def test_rerun_when_cursor_rows_deleted_then_reshipped_rows_replace_themselves(
    engine_journal: Path, warehouse_path: Path
) -> None:
    journal = journal_source(engine_journal)
    warehouse = DuckDBWarehouse(path=str(warehouse_path))
    ship(journal, warehouse)
    warehouse.close()
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("DELETE FROM ship_log")

    again = ship(journal, warehouse)

    assert rows_written(again) == expected_counts(engine_journal)
    assert counts(warehouse) == expected_counts(engine_journal)
    assert failed_checks(again) == []


# --- refusing to paper over damage ------------------------------------------------------


def test_ship_when_journal_replaced_by_a_shorter_one_then_refuses(
    tmp_path: Path, warehouse: DuckDBWarehouse
) -> None:
    long, short = tmp_path / "long.db", tmp_path / "short.db"
    append_events(long, tick_events(50))
    append_events(short, tick_events(10))
    ship(journal_source(long), warehouse)

    result = ship(journal_source(short), warehouse, raise_on_error=False)

    assert not result.success
    assert "replaced or truncated" in failure_text(result)
    assert counts(warehouse)["quotes"] == expected_counts(long)["quotes"]


def test_ship_when_an_order_event_is_corrupt_then_fails_and_ships_nothing_past_it(
    engine_journal: Path, warehouse: DuckDBWarehouse
) -> None:
    with sqlite3.connect(engine_journal) as con:
        seq, payload = con.execute(
            "SELECT seq, payload FROM events WHERE type = 'OrderAccepted' ORDER BY seq LIMIT 1"
        ).fetchone()
        request = OrderRequest(client_order_id="x", symbol="AAPL", side=Side.BUY, quantity=1)
        event = OrderAccepted(
            ts_ns=T0, order_id="O1", account="mallory", request=request, reference_price=1.0
        )
        assert payload != encode_event(event)
        con.execute("UPDATE events SET payload = ? WHERE seq = ?", (encode_event(event), seq))

    result = ship(journal_source(engine_journal), warehouse, raise_on_error=False)

    assert not result.success
    assert f"JournalCorruptError: {engine_journal}: event seq {seq} fails its checksum" in (
        failure_text(result)
    )
    assert counts(warehouse)["orders"] == 0


def run_checks(journal: JournalSource, warehouse: DuckDBWarehouse) -> dict[str, bool]:
    result = dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": journal},
        selection=dg.AssetSelection.all_asset_checks(),
    )
    return check_results(result)


def test_checks_when_tables_are_damaged_then_the_matching_checks_fail(
    engine_journal: Path, warehouse_path: Path
) -> None:
    journal = journal_source(engine_journal, batch_rows=8)
    warehouse = DuckDBWarehouse(path=str(warehouse_path))
    ship(journal, warehouse)
    warehouse.close()
    second_orders_batch = (
        "SELECT first_seq FROM ship_log WHERE table_name = 'orders' "
        "ORDER BY first_seq LIMIT 1 OFFSET 1"
    )
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute(
            "INSERT INTO quotes SELECT * FROM quotes WHERE seq = (SELECT max(seq) FROM quotes)"
        )
        con.execute("UPDATE trades SET price = -1 WHERE seq = (SELECT min(seq) FROM trades)")
        con.execute(
            "UPDATE trades SET ts = ts - INTERVAL 1 HOUR WHERE seq = (SELECT max(seq) FROM trades)"
        )
        con.execute("DELETE FROM fills WHERE seq = (SELECT min(seq) FROM fills)")
        con.execute(
            "DELETE FROM ship_log WHERE table_name = 'orders' "
            f"AND first_seq = ({second_orders_batch})"
        )

    passed = run_checks(journal, warehouse)

    failed = sorted(name for name, ok in passed.items() if not ok)
    assert failed == [
        "fills_no_seq_gaps",  # a row lost
        "orders_no_seq_gaps",  # a batch missing from the log
        "quotes_no_seq_gaps",  # a row too many ...
        "quotes_unique_keys",  # ... and it is a duplicate
        "trades_monotonic_ts",
        "trades_non_negative_prices_sizes",
    ]


# --- the warehouse itself failing -------------------------------------------------------


def test_ship_when_questdb_is_down_then_the_asset_fails_with_a_warehouse_error(
    engine_journal: Path,
) -> None:
    questdb = QuestDBWarehouse(host="127.0.0.1", http_port=free_port(), pg_port=free_port())

    result = dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": questdb, "journal": journal_source(engine_journal)},
        raise_on_error=False,
    )

    assert not result.success
    text = failure_text(result)
    assert f"WarehouseError: QuestDB PG wire at 127.0.0.1:{questdb.pg_port} cannot be" in text
    assert "orders" in text and "Check that the server is up" in text


def test_ship_when_an_existing_duckdb_table_differs_from_its_declaration_then_refused(
    engine_journal: Path, warehouse_path: Path
) -> None:
    with duckdb.connect(str(warehouse_path)) as con:
        con.execute("CREATE TABLE quotes (ts TIMESTAMP, seq BIGINT, symbol VARCHAR, bid VARCHAR)")

    result = ship(
        journal_source(engine_journal),
        DuckDBWarehouse(path=str(warehouse_path)),
        raise_on_error=False,
    )

    assert not result.success
    assert (
        f"WarehouseError: DuckDB table quotes in {warehouse_path} does not match its "
        "declaration: column bid is VARCHAR, declared DOUBLE; column ask is missing"
    ) in failure_text(result)
