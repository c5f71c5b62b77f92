"""daily_pnl against the live service's GET /positions and /pnl (assets.reports.replay.
service_differences), and the ServiceBook resource's fallback when nothing answers."""

from __future__ import annotations

import pandas as pd

from assets.reports.replay import service_differences
from assets.resources import ServiceBook
from realtime.service_process import free_port

PNL = pd.DataFrame(
    {
        "account": ["alice", "alice", "bob"],
        "symbol": ["AAPL", "MSFT", "AAPL"],
        "end_quantity": [10, 0, -5],
        "end_average_cost": [100.0, 0.0, 101.0],
        "cumulative_realized": [1.5, -2.0, 0.25],
        "unrealized_pnl": [20.0, 0.0, -5.0],  # marked to the day's last mid, 102.00
    }
)


def service(**changes: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    # The service marks to its latest mid, 103.00: unrealized differs from the day's.
    positions = pd.DataFrame(
        {
            "account": ["alice", "alice", "bob"],
            "symbol": ["AAPL", "MSFT", "AAPL"],
            "quantity": [10, 0, -5],
            "average_cost": [100.0, 0.0, 101.0],
            "realized_pnl": [1.5, -2.0, 0.25],
            "mark": [103.0, 50.0, 103.0],
            "unrealized_pnl": [30.0, 0.0, -10.0],
        }
    )
    for column, (row, value) in changes.items():
        positions.loc[row, column] = value
    accounts = pd.DataFrame(
        {"account": ["alice", "bob"], "realized_pnl": [-0.5, 0.25], "unrealized_pnl": [30.0, -10.0]}
    )
    return positions, accounts


def test_service_when_books_agree_at_its_own_marks_then_no_difference() -> None:
    assert service_differences(PNL, *service(), tolerance=0.01).empty


def test_service_when_realized_differs_by_more_than_a_cent_then_the_pair_is_named() -> None:
    found = service_differences(PNL, *service(realized_pnl=(2, 0.27)), tolerance=0.01)

    assert found[["account", "symbol", "field"]].values.tolist() == [
        ["bob", "AAPL", "realized_pnl"]
    ]
    assert abs(found["difference"].iloc[0] - (-0.02)) < 1e-9


def test_service_when_a_difference_is_within_a_cent_then_it_passes() -> None:
    assert service_differences(PNL, *service(realized_pnl=(2, 0.259)), tolerance=0.01).empty


def test_service_when_its_position_differs_then_quantity_and_unrealized_are_named() -> None:
    found = service_differences(PNL, *service(quantity=(0, 11)), tolerance=0.01)

    assert ("alice", "AAPL", "quantity") in {
        tuple(r) for r in found[["account", "symbol", "field"]].values.tolist()
    }


def test_service_when_account_unrealized_differs_then_the_account_total_is_named() -> None:
    positions, accounts = service()
    accounts.loc[0, "unrealized_pnl"] = 31.0

    found = service_differences(PNL, positions, accounts, tolerance=0.01)

    assert found[["account", "symbol", "field"]].values.tolist() == [
        ["alice", "*", "account_unrealized_pnl"]
    ]


def test_service_book_when_not_configured_then_it_has_nothing_to_say() -> None:
    assert ServiceBook().positions() is None
    assert ServiceBook(url="http://127.0.0.1:1").configured is False  # no keys


def test_service_book_when_nothing_listens_then_it_falls_back_to_none() -> None:
    book = ServiceBook(
        url=f"http://127.0.0.1:{free_port()}", api_keys={"alice": "alice-demo-key"}, timeout_s=1.0
    )

    assert book.positions() is None
