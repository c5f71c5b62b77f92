"""Deriving the library's inputs from the warehouse tables as shipped today."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assets.execution_quality.inputs import fills_from_table, load_window, orders_from_events
from assets.resources import DuckDBWarehouse
from assets.warehouse.tables import FILLS, ORDERS, QUOTES, TRADES

DAY = pd.Timestamp("2026-11-26")
END = DAY + pd.Timedelta(days=1)


def at(hours: float) -> pd.Timestamp:
    return DAY + pd.Timedelta(hours=hours)


def events() -> pd.DataFrame:
    rows = [
        # seq, ts, event_type, order_id, account, symbol, side, order_type, quantity
        (1, at(-2), "OrderAccepted", "Y", "alice", "AAPL", "BUY", "LIMIT", 10),  # yesterday's
        (2, at(10), "OrderAccepted", "F", "alice", "AAPL", "BUY", "MARKET", 100),
        (3, at(10), "OrderAcknowledged", "F", None, None, None, None, None),
        (4, at(10.1), "OrderFilled", "F", "alice", "AAPL", "BUY", None, 60),
        (5, at(10.2), "OrderFilled", "F", "alice", "AAPL", "BUY", None, 40),
        (6, at(11), "OrderAccepted", "R", "bob", "MSFT", "SELL", "LIMIT", 50),
        (7, at(11.5), "OrderReplaced", "R", None, None, None, None, 80),
        (8, at(12), "OrderFilled", "R", "bob", "MSFT", "SELL", None, 30),
        (9, at(13), "OrderCanceled", "R", None, None, None, None, None),
        (10, at(14), "OrderRejected", "X", "bob", "MSFT", "BUY", "LIMIT", 5),
        (11, at(15), "OrderAccepted", "V", "bob", "MSFT", "BUY", "LIMIT", 5),
        (12, at(15), "VenueRejected", "V", None, None, None, None, None),
        (13, at(16), "OrderAccepted", "E", "alice", "AAPL", "SELL", "LIMIT", 7),
        (14, at(21), "OrderExpired", "E", None, None, None, None, None),
        (15, at(20), "OrderAccepted", "O", "alice", "AAPL", "BUY", "LIMIT", 9),  # GTC
        (16, at(25), "OrderFilled", "O", "alice", "AAPL", "BUY", None, 9),  # after the day
    ]
    columns = ["seq", "ts", "event_type", "order_id", "account", "symbol", "side"]
    frame = pd.DataFrame(rows, columns=[*columns, "order_type", "quantity"])
    frame["quantity"] = frame["quantity"].astype("Int64")
    return frame.sample(frac=1.0, random_state=5)  # any row order


def test_orders_when_derived_from_events_then_status_end_and_final_quantity_are_right() -> None:
    orders = orders_from_events(events(), DAY, END).set_index("order_id")

    assert list(orders.index) == ["F", "R", "X", "V", "E", "O"]  # submitted that day, in seq
    assert orders["end_status"].to_dict() == {
        "F": "FILLED",
        "R": "CANCELED",
        "X": "REJECTED",
        "V": "REJECTED",
        "E": "EXPIRED",
        "O": "OPEN",  # its fill is after the cutoff
    }
    assert orders.loc["F", "end_time"] == at(10.2)  # the completing fill
    assert orders.loc["R", "end_time"] == at(13)
    assert orders.loc["X", "end_time"] == orders.loc["X", "submit_time"] == at(14)
    assert pd.isna(orders.loc["O", "end_time"])
    assert orders.loc["R", "quantity"] == 80  # after the replace
    assert orders["decision_price"].isna().all()  # no decision_price column: none given
    assert orders.loc["R", "account"] == "bob" and orders.loc["R", "order_type"] == "LIMIT"


def test_orders_when_decision_price_shipped_then_taken_from_the_submission() -> None:
    frame = events()
    frame["decision_price"] = np.where(frame["order_id"] == "F", 99.5, np.nan)

    orders = orders_from_events(frame, DAY, END).set_index("order_id")

    assert orders.loc["F", "decision_price"] == 99.5
    assert orders["decision_price"].drop("F").isna().all()


def test_orders_when_decision_price_is_the_arrival_mid_then_left_to_the_library() -> None:
    frame = events()
    frame["decision_price"] = np.where(frame["order_id"].isin(["F", "R"]), 99.5, np.nan)
    frame["decision_price_source"] = np.where(
        frame["order_id"] == "F", "CLIENT", np.where(frame["order_id"] == "R", "ARRIVAL_MID", None)
    )

    orders = orders_from_events(frame, DAY, END).set_index("order_id")

    assert orders.loc["F", "decision_price"] == 99.5
    # The core's arrival mid is not the library's M0 (from the shipped quotes): null.
    assert orders["decision_price"].drop("F").isna().all()


def test_fills_when_fee_column_absent_or_present_then_zero_or_used() -> None:
    table = pd.DataFrame(
        {
            "ts": [at(10.1), at(10.2), at(12)],
            "seq": [4, 5, 8],
            "fill_id": ["f1", "f2", "r1"],
            "order_id": ["F", "F", "R"],
            "price": [100.0, 100.1, 200.0],
            "quantity": [60, 40, 30],
        }
    )

    without = fills_from_table(table, pd.Series(["F"]))
    with_fee = fills_from_table(table.assign(fee=[0.6, None, 0.3]), pd.Series(["F", "R"]))

    assert list(without["fill_id"]) == ["f1", "f2"] and (without["fee"] == 0.0).all()
    assert list(with_fee["fee"].fillna(-1.0)) == [0.6, -1.0, 0.3]  # null: the library's 0


def test_load_window_when_reading_then_quotes_span_last_before_day_to_the_horizon(
    tmp_path: Path,
) -> None:
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    frame = events()
    horizon = END + pd.Timedelta(seconds=60)
    after = horizon + pd.Timedelta(microseconds=1)
    warehouse.write_frames(
        [
            (ORDERS, frame.sort_values("seq")),
            (
                FILLS,
                pd.DataFrame(
                    {
                        "ts": [at(10.1)],
                        "seq": [4],
                        "fill_id": ["f1"],
                        "order_id": ["F"],
                        "price": [100.0],
                        "quantity": [60],
                    }
                ),
            ),
            (
                QUOTES,
                pd.DataFrame(
                    {
                        "ts": [at(-30), at(-3), at(-3), at(1), horizon, after, at(1)],
                        "seq": [1, 2, 3, 4, 5, 6, 7],
                        "symbol": ["AAPL"] * 6 + ["IBM"],
                        "bid": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                        "ask": [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5],
                    }
                ),
            ),
            (
                TRADES,
                pd.DataFrame(
                    {
                        "ts": [at(-1), at(1), at(24)],
                        "seq": [1, 2, 3],
                        "symbol": ["AAPL", "AAPL", "MSFT"],
                        "price": [1.0, 2.0, 3.0],
                        "size": [10, 20, 30],
                    }
                ),
            ),
        ]
    )

    inputs = load_window(warehouse, DAY, END, lookahead=pd.Timedelta(seconds=60))

    # AAPL: the last quotes before the day (both at -3 h; in seq order, so the library
    # takes seq 3), the day's, and the one exactly at end + 60 s; not the older one, not
    # the later one, not IBM's (no order of the day trades it).
    assert list(inputs.quotes["bid"]) == [2.0, 3.0, 4.0, 5.0]
    assert list(inputs.trades["quantity"]) == [20, 30]  # in [start, end], both ends
    assert list(inputs.fills["fill_id"]) == ["f1"]
    assert len(inputs.orders) == 6 and inputs.cutoff == END
