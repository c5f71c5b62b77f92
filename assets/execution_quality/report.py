"""The daily TCA report: headline figures and a self-contained HTML page.

Rendered by the project's one page renderer (`assets.html_report`): no network
request, charts embedded as `data:` URIs (the same PNGs are also written next
to it). The metric conventions it prints are the library's docstring, so they
are stated once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from assets.execution_quality import tca
from assets.execution_quality.charts import decomposition_by_symbol
from assets.execution_quality.summary import ALL, traded_notional
from assets.execution_quality.tca import DEFAULT_HORIZONS_S, horizon_label
from assets.html_report import Section, figures_table, page, preformatted, table
from assets.html_report import charts as chart_grid
from assets.html_report import format_figure as format_figure
from assets.instruments import NO_MULTIPLIERS, Multipliers

CHARTS: Final = {
    "slippage_distribution": "Slippage distribution",
    "markout_curves": "Markout curves by side",
    "is_decomposition": "Implementation shortfall by symbol",
    "fill_rate_by_order_type": "Fill rate by order type",
}
HEADLINE_LABELS: Final = {
    "orders": "orders",
    "filled_orders": "orders with fills",
    "fills": "fills",
    "traded_notional": "traded notional",
    "fees": "fees",
    "implementation_shortfall": "implementation shortfall (currency)",
    "is_bps": "implementation shortfall, bps",
    "arrival_slippage_bps": "arrival slippage, bps",
    "vwap_slippage_bps": "VWAP slippage, bps",
    "fill_rate": "fill rate (notional)",
    "flagged_orders": "orders with flags",
    "outlier_orders": "outlier orders",
}


def headline(
    orders: pd.DataFrame,
    fills: pd.DataFrame,
    summary: pd.DataFrame,
    outliers: pd.DataFrame,
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> dict[str, float | int]:
    """The day's figures: counts and sums (traded notional in currency, at the
    symbols' contract `multipliers`), and the whole-day weighted means (aggregate
    ratios) from the summary rows; NaN where nothing defines one."""
    whole = summary[summary["group_by"] == ALL].set_index("metric")["vw_mean"]

    def vw(metric: str) -> float:
        value = whole.get(metric, np.nan)
        return float(value) if value is not None and pd.notna(value) else float("nan")

    traded = traded_notional(orders, multipliers)
    figures: dict[str, float | int] = {
        "orders": len(orders),
        "filled_orders": int((orders["filled_quantity"] > 0).sum()),
        "fills": len(fills),
        "traded_notional": float(traded.sum(skipna=True)),
        "fees": float(orders["fees"].sum()),
        "implementation_shortfall": float(orders["implementation_shortfall"].sum(skipna=True)),
        "is_bps": vw("is_bps"),
        "arrival_slippage_bps": vw("arrival_slippage_bps"),
        "vwap_slippage_bps": vw("vwap_slippage_bps"),
        "fill_rate": vw("fill_rate"),
        "flagged_orders": int((orders["flags"].fillna("") != "").sum()),
        "outlier_orders": int(outliers["order_id"].nunique()) if len(outliers) else 0,
    }
    for h in horizons_s:
        figures[f"markout_bps_{horizon_label(h)}"] = vw(f"markout_bps_{horizon_label(h)}")
    return figures


def conventions() -> str:
    """The library docstring's Conventions section, verbatim."""
    doc = tca.__doc__ or ""
    start = doc.find("Conventions\n-----------")
    return doc[start:].strip() if start >= 0 else doc.strip()


def render_html(
    day: str,
    figures: Mapping[str, float | int],
    orders: pd.DataFrame,
    summary: pd.DataFrame,
    outliers: pd.DataFrame,
    charts: Mapping[str, bytes],
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> str:
    labels = {
        **HEADLINE_LABELS,
        **{
            f"markout_bps_{horizon_label(h)}": f"markout {horizon_label(h)}, bps"
            for h in horizons_s
        },
    }
    by_symbol = decomposition_by_symbol(orders, multipliers, limit=50)
    flags = (
        orders["flags"].fillna("").str.split(",").explode().loc[lambda s: s != ""].value_counts()
    )
    by_dimension = summary[
        summary["metric"].isin(["arrival_slippage_bps", "is_bps", "vwap_slippage_bps"])
        & (summary["group_by"] != ALL)
    ].drop(columns=["trading_day"], errors="ignore")
    return page(
        f"TCA report {day}",
        f"Execution quality, {day}",
        [
            Section("Headline", figures_table(figures, labels)),
            Section("Charts", chart_grid(charts, CHARTS)),
            Section(
                "Implementation shortfall by symbol (bps of Q x Pd x multiplier)",
                table(by_symbol.reset_index().rename(columns={"index": "symbol"})),
            ),
            Section(
                "Slippage and shortfall by symbol, account, side and order type",
                table(by_dimension),
            ),
            Section(
                "Outliers (beyond 3 robust standard deviations of the day's median)",
                table(outliers.head(50)),
            ),
            Section("Flags", table(flags.rename_axis("flag").reset_index(name="orders"))),
            Section("Conventions", preformatted(conventions())),
        ],
        note=(
            "Costs are positive, gains negative, except markouts (positive = the price moved "
            "in the order's favour). Means are notional-weighted: each is the day's aggregate "
            "ratio (see the conventions below)."
        ),
    )
