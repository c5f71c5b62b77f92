"""Tax lots and wash sales on one hand-made sequence, for each relief method.

The sequence (account A, symbol XYZ, no fees; days are 2026 unless said):

    F1  01-05  BUY  100 @ 50
    F2  03-02  SELL 100 @ 40   closes F1: a loss of 10/share, held 56 days
    F3  03-12  BUY   60 @ 42   10 days later: replaces 60 of the 100 shares (a partial
                               repurchase): 600 disallowed, F3's basis +10/share, its
                               holding start 56 days back, to 01-15
    F4  04-15  BUY   40 @ 55   44 days after F2: outside the window, no wash
    F5  04-20  BUY   20 @ 43
    F6  05-01  SELL  50 @ 45   the methods part ways here (see each test)
    F7  05-20  BUY   30 @ 44   inside the window of F6's losses
"""

from __future__ import annotations

import pandas as pd
import pytest

from assets.reports.fills import empty_fills
from assets.reports.tax_lots import LotRules, ReliefMethod, compute_lots, open_basis
from tests.assets.reports.fills_builder import fills

SEQUENCE = fills(
    ("F1", "2026-01-05 15:00", "A/XYZ", "BUY", 100, 50.0),
    ("F2", "2026-03-02 15:00", "A/XYZ", "SELL", 100, 40.0),
    ("F3", "2026-03-12 15:00", "A/XYZ", "BUY", 60, 42.0),
    ("F4", "2026-04-15 15:00", "A/XYZ", "BUY", 40, 55.0),
    ("F5", "2026-04-20 15:00", "A/XYZ", "BUY", 20, 43.0),
    ("F6", "2026-05-01 15:00", "A/XYZ", "SELL", 50, 45.0),
    ("F7", "2026-05-20 15:00", "A/XYZ", "BUY", 30, 44.0),
)


def run(method: ReliefMethod, **rules: object) -> tuple[list, list, list]:  # type: ignore[type-arg]
    result = compute_lots(SEQUENCE, LotRules(method=method, **rules))  # type: ignore[arg-type]
    slices = [
        (r.slice_id, r.quantity, round(r.gain, 6), round(r.disallowed_loss, 6), r.days_held)
        for r in result.slices.itertuples()
    ]
    washes = [
        (r.loss_slice_id, r.replacement_lot_id, r.quantity, round(r.disallowed_loss, 6))
        for r in result.wash_sales.itertuples()
    ]
    lots = [
        (
            r.lot_id,
            r.quantity,
            round(r.wash_adjustment_per_share, 6),
            r.holding_start.strftime("%Y-%m-%d"),
            r.replacement_for,
        )
        for r in result.open_lots.itertuples()
    ]
    return slices, washes, lots


def test_fifo_when_a_loss_is_repurchased_partly_inside_the_window_then_only_those_shares_wash() -> (
    None
):
    slices, washes, lots = run(ReliefMethod.FIFO)

    # F6 closes 50 of F3 (FIFO): (45 - 42) * 50 - 500 carried = -350, 7/share, held
    # 01-15..05-01 = 106 days. Replacements bought from 04-01: F4's 40 shares, then 10
    # of F5 (which splits). F1:F2's other 40 shares found no replacement by 04-01.
    assert slices == [
        ("F1:F2", 100, -1000.0, 600.0, 56),
        ("F3:F6", 50, -350.0, 350.0, 106),
    ]
    assert washes == [
        ("F1:F2", "F3", 60, 600.0),
        ("F3:F6", "F4", 40, 280.0),
        ("F3:F6", "F5.w1", 10, 70.0),
    ]
    assert lots == [
        ("F3", 10, 10.0, "2026-01-15", "F1:F2"),
        ("F4", 40, 7.0, "2025-12-30", "F3:F6"),
        ("F5.w1", 10, 7.0, "2026-01-04", "F3:F6"),
        ("F5", 10, 0.0, "2026-04-20", ""),
        ("F7", 30, 0.0, "2026-05-20", ""),
    ]


def test_lifo_when_the_latest_lots_close_first_then_the_rest_of_a_lot_and_a_later_buy_replace() -> (
    None
):
    slices, washes, lots = run(ReliefMethod.LIFO)

    # F6 closes F5 (20, a gain of 40) then 30 of F4: -10/share, held 16 days; the
    # 10 shares of F4 left are a purchase in the window other than the closed ones.
    assert slices == [
        ("F1:F2", 100, -1000.0, 600.0, 56),
        ("F5:F6", 20, 40.0, 0.0, 11),
        ("F4:F6", 30, -300.0, 300.0, 16),
    ]
    assert washes == [
        ("F1:F2", "F3", 60, 600.0),
        ("F4:F6", "F4", 10, 100.0),
        ("F4:F6", "F7.w1", 20, 200.0),
    ]
    assert lots == [
        ("F3", 60, 10.0, "2026-01-15", "F1:F2"),
        ("F4", 10, 10.0, "2026-03-30", "F4:F6"),
        ("F7.w1", 20, 10.0, "2026-05-04", "F4:F6"),
        ("F7", 10, 0.0, "2026-05-20", ""),
    ]


def test_highest_cost_when_adjusted_bases_rank_lots_then_losses_chain_into_later_purchases() -> (
    None
):
    slices, washes, lots = run(ReliefMethod.HIGHEST_COST)

    # Costs at F6: F3 42 + 10 = 52, F4 55, F5 43. F4 goes first (40 shares, -400,
    # replaced by F5's 20). Then F5 (43 + 10 = 53 > 52): 10 shares at
    # (45 - 43) * 10 - 100 = -80, held 04-04..05-01 = 27 days; F7 later replaces
    # 20 of F4:F6's shares and F5:F6's 10, in that (close) order.
    assert slices == [
        ("F1:F2", 100, -1000.0, 600.0, 56),
        ("F4:F6", 40, -400.0, 400.0, 16),
        ("F5:F6", 10, -80.0, 80.0, 27),
    ]
    assert washes == [
        ("F1:F2", "F3", 60, 600.0),
        ("F4:F6", "F5", 20, 200.0),
        ("F4:F6", "F7.w1", 20, 200.0),
        ("F5:F6", "F7", 10, 80.0),
    ]
    assert lots == [
        ("F3", 60, 10.0, "2026-01-15", "F1:F2"),
        ("F5", 10, 10.0, "2026-04-04", "F4:F6"),
        ("F7.w1", 20, 10.0, "2026-05-04", "F4:F6"),
        ("F7", 10, 8.0, "2026-04-23", "F5:F6"),
    ]


@pytest.mark.parametrize("method", list(ReliefMethod))
def test_relief_when_every_method_runs_then_the_gross_gain_differs_only_by_open_basis(
    method: ReliefMethod,
) -> None:
    result = compute_lots(SEQUENCE, LotRules(method=method))
    cash = -(
        SEQUENCE["quantity"] * SEQUENCE["price"] * SEQUENCE["side"].map({"BUY": 1, "SELL": -1})
    ).sum()

    # realized = cash + basis of what is still open, whatever the relief order.
    basis = open_basis(result.open_lots).sum()
    assert result.slices["gross_gain"].sum() == pytest.approx(cash + basis)


def test_wash_window_when_the_cutoff_is_inside_a_losses_window_then_the_slice_is_pending() -> None:
    result = compute_lots(
        SEQUENCE, LotRules(method=ReliefMethod.LIFO), cutoff=pd.Timestamp("2026-05-02")
    )

    pending = dict(zip(result.slices["slice_id"], result.slices["wash_pending"], strict=True))
    assert pending == {"F1:F2": False, "F5:F6": False, "F4:F6": True}
    assert set(result.open_lots["lot_id"]) == {"F3", "F4"}


def test_wash_window_when_a_purchase_is_31_days_after_the_loss_then_it_is_no_replacement() -> None:
    sequence = fills(
        ("a", "2026-01-05 15:00", "A/XYZ", "BUY", 10, 50.0),
        ("b", "2026-03-02 15:00", "A/XYZ", "SELL", 10, 40.0),
        ("c", "2026-04-01 15:00", "A/XYZ", "BUY", 5, 40.0),  # day 30: inside
        ("d", "2026-04-02 15:00", "A/XYZ", "BUY", 5, 40.0),  # day 31: outside
    )

    result = compute_lots(sequence)

    assert list(result.wash_sales["replacement_lot_id"]) == ["c"]
    assert result.slices["disallowed_loss"].tolist() == [50.0]


def test_holding_period_when_held_more_than_365_days_then_long_term_and_exactly_365_short() -> None:
    sequence = fills(
        ("a", "2025-01-01 15:00", "A/XYZ", "BUY", 10, 10.0),
        ("b", "2025-01-02 15:00", "A/XYZ", "BUY", 10, 10.0),
        ("c", "2026-01-02 15:00", "A/XYZ", "SELL", 20, 12.0),
    )

    result = compute_lots(sequence)

    assert list(zip(result.slices["days_held"], result.slices["term"], strict=True)) == [
        (366, "LONG"),
        (365, "SHORT"),
    ]


def test_holding_period_when_the_time_zone_moves_the_date_then_days_are_counted_locally() -> None:
    sequence = fills(
        ("a", "2026-01-01 03:00", "A/XYZ", "BUY", 10, 10.0),  # 2025-12-31 in New York
        ("b", "2026-01-02 15:00", "A/XYZ", "SELL", 10, 12.0),
    )

    utc = compute_lots(sequence).slices["days_held"].tolist()
    new_york = compute_lots(sequence, LotRules(timezone="America/New_York")).slices
    assert (utc, new_york["days_held"].tolist()) == ([1], [2])


def test_fees_when_both_fills_pay_then_they_enter_basis_and_proceeds_per_share() -> None:
    sequence = fills(
        ("a", "2026-01-05 15:00", "A/XYZ", "BUY", 10, 10.0, 1.0),
        ("b", "2026-01-06 15:00", "A/XYZ", "SELL", 4, 12.0, 0.4),
    )

    row = compute_lots(sequence).slices.iloc[0]

    assert (row["cost_basis"], row["proceeds"]) == pytest.approx((40.4, 47.6))
    assert (row["gross_gain"], row["fees"], row["gain"]) == pytest.approx((8.0, 0.8, 7.2))


def test_shorts_when_a_sell_opens_and_a_buy_covers_at_a_loss_then_no_wash_unless_configured() -> (
    None
):
    sequence = fills(
        ("s1", "2026-01-05 15:00", "A/XYZ", "SELL", 10, 20.0),
        ("c1", "2026-01-06 15:00", "A/XYZ", "BUY", 10, 22.0),  # a loss of 2/share
        ("s2", "2026-01-07 15:00", "A/XYZ", "SELL", 10, 21.0),  # a short sale in the window
        ("x", "2026-01-08 15:00", "A/XYZ", "BUY", 15, 21.0),  # covers s2, then 5 long
    )

    plain = compute_lots(sequence)
    shorts = compute_lots(sequence, LotRules(wash_sale_shorts=True))

    assert plain.wash_sales.empty
    assert plain.slices[["slice_id", "direction", "gain"]].values.tolist() == [
        ["s1:c1", "SHORT", -20.0],
        ["s2:x", "SHORT", 0.0],
    ]
    # With shorts washed, s2's proceeds drop by 2/share: covering at 21 is a 20 loss.
    assert shorts.wash_sales["replacement_lot_id"].tolist() == ["s2"]
    assert shorts.slices["reportable_gain"].tolist() == [0.0, -20.0]
    assert shorts.open_lots[["lot_id", "direction", "quantity"]].values.tolist() == [
        ["x", "LONG", 5]
    ]


def test_compute_lots_when_there_are_no_fills_then_every_frame_is_empty() -> None:
    result = compute_lots(empty_fills(), checkpoint=pd.Timestamp("2026-01-01"))

    assert result.slices.empty and result.open_lots.empty and result.wash_sales.empty
    assert result.open_lots_at_checkpoint is not None and result.open_lots_at_checkpoint.empty


def test_checkpoint_when_given_then_open_lots_are_those_before_it() -> None:
    result = compute_lots(SEQUENCE, checkpoint=pd.Timestamp("2026-03-13"))

    assert result.open_lots_at_checkpoint is not None
    assert result.open_lots_at_checkpoint["lot_id"].tolist() == ["F3"]
