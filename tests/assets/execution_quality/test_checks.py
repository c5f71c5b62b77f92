"""The check rules on the library's rows for the hand-computed scene, then broken."""

from __future__ import annotations

import pandas as pd

from assets.execution_quality.checks import (
    coverage_gaps,
    fill_lookahead_violations,
    identity_violations,
    order_lookahead_violations,
)
from assets.execution_quality.tca import compute_tca
from tests.assets.execution_quality.scene import US, at, fills, orders, quotes, trades


def rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    result = compute_tca(orders(), fills(), quotes(), trades(), cutoff=at(80))
    return result.orders, result.fills


def test_identity_when_rows_are_the_librarys_then_no_violation() -> None:
    o, _ = rows()

    assert identity_violations(o).empty


def test_identity_when_a_component_or_the_total_is_off_then_that_row_is_reported() -> None:
    o, _ = rows()
    broken = o.copy()
    broken.loc[broken["order_id"] == "B", "is_delay"] += 1e-6  # the sum no longer matches
    broken.loc[broken["order_id"] == "C", "implementation_shortfall"] += 1.0
    broken.loc[broken["order_id"] == "D", "flags"] = ""  # null decomposition, unexplained

    assert list(identity_violations(broken)["order_id"]) == ["B", "C", "D"]


def test_identity_when_sum_and_total_both_drift_from_perold_then_reported() -> None:
    o, _ = rows()
    broken = o.copy()
    b = broken["order_id"] == "B"
    broken.loc[b, "is_execution"] += 1.0
    broken.loc[b, "implementation_shortfall"] = (
        broken.loc[b, "is_fees"]
        + broken.loc[b, "is_delay"]
        + broken.loc[b, "is_execution"]
        + broken.loc[b, "is_opportunity"]
    )

    assert list(identity_violations(broken)["order_id"]) == ["B"]


def test_lookahead_when_a_quote_is_later_than_its_time_then_reported() -> None:
    o, f = rows()
    assert order_lookahead_violations(o).empty and fill_lookahead_violations(f).empty

    late_orders = o.copy()
    a = late_orders["order_id"] == "A"
    late_orders.loc[a, "arrival_quote_time"] = late_orders.loc[a, "submit_time"] + US
    late_fills = f.copy()
    b1 = late_fills["fill_id"] == "b1"
    late_fills.loc[b1, "quote_time_5s"] = at(16 + 5) + US

    assert list(order_lookahead_violations(late_orders)["order_id"]) == ["A"]
    assert list(fill_lookahead_violations(late_fills)["fill_id"]) == ["b1"]


def test_coverage_when_a_filled_order_or_fill_lacks_a_row_then_listed() -> None:
    shipped = pd.DataFrame({"fill_id": ["f1", "f2", "g1", "z1"], "order_id": ["F", "F", "G", "Z"]})
    submitted = pd.Series(["F", "G", "H"])  # Z was submitted another day

    assert coverage_gaps(
        submitted, shipped, pd.Series(["F", "G"]), pd.Series(["f1", "f2", "g1"])
    ) == ([], [])
    assert coverage_gaps(submitted, shipped, pd.Series(["F"]), pd.Series(["f1"])) == (
        ["G"],
        ["f2", "g1"],
    )
