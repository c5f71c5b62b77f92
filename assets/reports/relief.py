"""Lot relief against the average-cost book: the check that the two agree.

For any relief method, the realized gain of an (account, symbol) up to time t
is C(t) + B(t): C the net cash of its fills (sells minus buys, no fees) and B
the signed basis of what is still open. The average-cost book's B is
quantity * average cost * k; the lots' is the sum of d * quantity * open price * k
over open lots (k the contract multiplier, `assets.instruments.multiplier_of`;
unadjusted: the wash-sale rule moves losses between slices, not cash). So over
a day

    lots' gross gain - average-cost realized = change over the day of
                                               (B_lots - B_average)

exactly. Over a closed round trip (flat at both ends of the day) the right
side is zero and the two must be equal to the cent; elsewhere the difference
is explained by the open bases, and anything left unexplained is a fault.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.instruments import NO_MULTIPLIERS, Multipliers, multipliers_of
from assets.reports.tax_lots import open_basis

RELIEF_COLUMNS = (
    "account",
    "symbol",
    "lot_gross_gain",
    "average_cost_realized",
    "difference",
    "explained_by_open_basis",
    "unexplained",
    "round_trip",
)


def relief_reconciliation(
    pnl: pd.DataFrame,
    slices: pd.DataFrame,
    open_start: pd.DataFrame,
    open_end: pd.DataFrame,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> pd.DataFrame:
    """One row per (account, symbol) of the day's daily_pnl rows or closed slices;
    `multipliers` as the lots and the book were computed with (absent: 1x)."""
    keys = ["account", "symbol"]
    book = pnl.set_index(keys)
    lot_gain = slices.groupby(keys)["gross_gain"].sum() if len(slices) else pd.Series(dtype=float)
    index = book.index.union(lot_gain.index) if len(lot_gain) else book.index
    if len(index) == 0:
        return pd.DataFrame(columns=list(RELIEF_COLUMNS))
    start_avg = (book["start_quantity"] * book["start_average_cost"]).reindex(index, fill_value=0.0)
    end_avg = (book["end_quantity"] * book["end_average_cost"]).reindex(index, fill_value=0.0)
    start_lots = open_basis(open_start).reindex(index, fill_value=0.0)
    end_lots = open_basis(open_end).reindex(index, fill_value=0.0)
    lots = lot_gain.reindex(index, fill_value=0.0)
    average = book["realized_pnl"].reindex(index, fill_value=0.0)
    k = multipliers_of(multipliers, index.get_level_values("symbol").to_series())
    explained = ((end_lots - end_avg) - (start_lots - start_avg)) * k
    difference = lots - average
    flat = (book["start_quantity"].reindex(index, fill_value=0) == 0) & (
        book["end_quantity"].reindex(index, fill_value=0) == 0
    )
    frame = pd.DataFrame(
        {
            "lot_gross_gain": lots.to_numpy(np.float64),
            "average_cost_realized": average.to_numpy(np.float64),
            "difference": difference.to_numpy(np.float64),
            "explained_by_open_basis": explained.to_numpy(np.float64),
            "unexplained": (difference - explained).to_numpy(np.float64),
            "round_trip": flat.to_numpy(bool),
        },
        index=index,
    )
    return frame.reset_index()[list(RELIEF_COLUMNS)]


def relief_violations(frame: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Rows whose difference the open bases do not explain to within `tolerance`."""
    return frame[frame["unexplained"].abs() > tolerance + 1e-9]
