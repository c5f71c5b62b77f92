"""The report's charts, as PNG bytes, from TCA rows.

Drawn on the shared canvas (`assets.png_charts`: Agg, no pyplot, no global
state). Every chart renders for an empty day too, saying so, rather than failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from assets.execution_quality.summary import paper_notional
from assets.execution_quality.tca import DEFAULT_HORIZONS_S, horizon_label
from assets.instruments import NO_MULTIPLIERS, Multipliers, multipliers_of
from assets.png_charts import empty_chart as _empty
from assets.png_charts import new_figure as _figure
from assets.png_charts import png as _png

SIDE_COLOURS: Final = {"BUY": "#1f77b4", "SELL": "#d62728"}
COMPONENT_COLOURS: Final = {
    "is_delay_bps": "#9467bd",
    "is_execution_bps": "#1f77b4",
    "is_opportunity_bps": "#ff7f0e",
    "is_fees_bps": "#7f7f7f",
}
MAX_SYMBOLS: Final = 15


def slippage_distribution(orders: pd.DataFrame) -> bytes:
    """Histogram of arrival and VWAP slippage per order, in bps, buys and sells."""
    fig, ax = _figure()
    values = orders[["side", "arrival_slippage_bps", "vwap_slippage_bps"]].dropna(
        subset=["arrival_slippage_bps"]
    )
    if values.empty:
        return _empty(fig, ax, "no filled orders")
    x = values["arrival_slippage_bps"].to_numpy(dtype=np.float64)
    low, high = np.percentile(x, [1, 99]) if len(x) > 20 else (x.min(), x.max())
    if high <= low:
        low, high = low - 1.0, high + 1.0
    bins = [float(b) for b in np.linspace(low, high, 41)]
    for side, colour in SIDE_COLOURS.items():
        mine = values.loc[values["side"] == side, "arrival_slippage_bps"].clip(low, high)
        if len(mine):
            ax.hist(mine, bins=bins, alpha=0.55, color=colour, label=f"{side} ({len(mine)})")
    vwap = values["vwap_slippage_bps"].dropna().clip(low, high)
    if len(vwap):
        ax.hist(vwap, bins=bins, histtype="step", color="black", label="VWAP slippage, all")
    ax.axvline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("arrival slippage, bps (positive = cost; clipped to the 1st-99th percentile)")
    ax.set_ylabel("orders")
    ax.set_title("Slippage distribution")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def markout_curves(
    fills: pd.DataFrame,
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> bytes:
    """Notional-weighted (P * qty * k, currency) mean markout by side at t (0) and
    each horizon, with the interquartile band of the fills' markouts."""
    fig, ax = _figure()
    priced = fills.dropna(subset=["mid"])
    if priced.empty:
        return _empty(fig, ax, "no fills with a quote")
    xs = [0.0, *(float(h) for h in horizons_s)]
    at_fill = priced["side_sign"] * (priced["mid"] - priced["price"]) / priced["price"] * 1e4
    columns = [at_fill, *(priced[f"markout_bps_{horizon_label(h)}"] for h in horizons_s)]
    for side, colour in SIDE_COLOURS.items():
        mine = (priced["side"] == side).to_numpy()
        if not mine.any():
            continue
        k = multipliers_of(multipliers, priced["symbol"])
        weight = (priced["quantity"] * priced["price"] * k).to_numpy(dtype=np.float64)[mine]
        means, lows, highs = [], [], []
        for column in columns:
            x = column.to_numpy(dtype=np.float64)[mine]
            ok = np.isfinite(x)
            means.append(float(np.average(x[ok], weights=weight[ok])) if ok.any() else np.nan)
            q25, q75 = np.percentile(x[ok], [25, 75]) if ok.any() else (np.nan, np.nan)
            lows.append(q25)
            highs.append(q75)
        ax.plot(xs, means, marker="o", color=colour, label=f"{side} ({int(mine.sum())} fills)")
        ax.fill_between(xs, lows, highs, color=colour, alpha=0.15)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(0.0, xs[-1] * 1.1)
    ax.set_xticks(xs)
    ax.set_xticklabels(["fill", *(horizon_label(h) for h in horizons_s)])
    ax.set_xlabel("time after the fill")
    ax.set_ylabel("markout, bps (positive = moved our way)")
    ax.set_title("Markouts by side (line: notional-weighted mean; band: 25th-75th percentile)")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def is_decomposition(orders: pd.DataFrame, multipliers: Multipliers = NO_MULTIPLIERS) -> bytes:
    """Implementation shortfall by symbol, in bps of paper notional, stacked by
    component, for the symbols with the most paper notional (currency, at k)."""
    fig, ax = _figure()
    by_symbol = decomposition_by_symbol(orders, multipliers)
    if by_symbol.empty:
        return _empty(fig, ax, "no orders with a defined shortfall")
    names = list(by_symbol.index)
    x = np.arange(len(names))
    positive, negative = np.zeros(len(names)), np.zeros(len(names))
    for column, colour in COMPONENT_COLOURS.items():
        values = by_symbol[column].to_numpy(dtype=np.float64)
        base = np.where(values >= 0, positive, negative)
        ax.bar(x, values, bottom=base, color=colour, label=column.removeprefix("is_")[:-4])
        positive += np.where(values >= 0, values, 0.0)
        negative += np.where(values < 0, values, 0.0)
    ax.scatter(x, by_symbol["is_bps"], color="black", zorder=3, label="total", marker="D", s=18)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("bps of Q x Pd x multiplier (positive = cost)")
    ax.set_title("Implementation shortfall by symbol")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def fill_rate_by_order_type(
    orders: pd.DataFrame, multipliers: Multipliers = NO_MULTIPLIERS
) -> bytes:
    """Notional fill rate (sum q * Pd * k / sum Q * Pd * k) per order type."""
    fig, ax = _figure()
    rates = fill_rates(orders, multipliers)
    if rates.empty:
        return _empty(fig, ax, "no orders")
    x = np.arange(len(rates))
    bars = ax.bar(x, rates["fill_rate"], color="#2ca02c")
    for bar, count in zip(bars, rates["orders"], strict=True):
        ax.annotate(
            f"{int(count)} orders",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(x)
    ax.set_xticklabels(list(rates.index))
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("fill rate (notional)")
    ax.set_title("Fill rate by order type")
    return _png(fig)


def decomposition_by_symbol(
    orders: pd.DataFrame, multipliers: Multipliers = NO_MULTIPLIERS, limit: int = MAX_SYMBOLS
) -> pd.DataFrame:
    """Per symbol, each IS component and the total as sum(currency) / sum(Q * Pd * k)
    * 1e4, over the orders whose decomposition is defined; the `limit` largest by
    paper (currency: Q * Pd * k, k the contract multiplier)."""
    parts = ["is_delay", "is_execution", "is_opportunity", "is_fees"]
    defined = orders.dropna(subset=[*parts, "implementation_shortfall", "decision_price"])
    if defined.empty:
        return pd.DataFrame(columns=[*(f"{p}_bps" for p in parts), "is_bps", "paper"])
    frame = defined.assign(paper=paper_notional(defined, multipliers))
    sums = frame.groupby("symbol")[[*parts, "implementation_shortfall", "paper"]].sum()
    sums = sums[sums["paper"] > 0].nlargest(limit, "paper")
    out = pd.DataFrame({f"{p}_bps": sums[p] / sums["paper"] * 1e4 for p in parts})
    out["is_bps"] = sums["implementation_shortfall"] / sums["paper"] * 1e4
    out["paper"] = sums["paper"]
    return out


def fill_rates(orders: pd.DataFrame, multipliers: Multipliers = NO_MULTIPLIERS) -> pd.DataFrame:
    """Per order type: sum(q * Pd * k) / sum(Q * Pd * k), and how many orders."""
    frame = orders.dropna(subset=["decision_price"])
    if frame.empty:
        return pd.DataFrame(columns=["fill_rate", "orders"])
    k = multipliers_of(multipliers, frame["symbol"])
    frame = frame.assign(
        paper=paper_notional(frame, multipliers),
        done=frame["filled_quantity"] * frame["decision_price"] * k,
    )
    sums = frame.groupby("order_type").agg(
        paper=("paper", "sum"), done=("done", "sum"), orders=("order_id", "size")
    )
    return pd.DataFrame({"fill_rate": sums["done"] / sums["paper"], "orders": sums["orders"]})
