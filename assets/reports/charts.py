"""The reports' charts, as PNG bytes, on the shared canvas (`assets.png_charts`).

Two shapes cover every page: bars of a few figures per category (account,
symbol, rule, term) and the intraday equity curves of the exposure page. Every
chart renders for an empty day too, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from assets.png_charts import empty_chart, new_figure, png

COLOURS: Final = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f")
MAX_CATEGORIES: Final = 20


def bars(
    frame: pd.DataFrame,
    category: str,
    values: Sequence[str],
    *,
    title: str,
    ylabel: str,
    empty: str = "nothing on this day",
) -> bytes:
    """Grouped bars: one group per `category` value (the MAX_CATEGORIES largest by
    absolute total), one bar per column of `values`."""
    fig, ax = new_figure()
    if frame.empty:
        return empty_chart(fig, ax, empty)
    data = frame.groupby(category, sort=True)[list(values)].sum()
    if len(data) > MAX_CATEGORIES:
        size = data.abs().sum(axis=1)
        data = data.loc[size.nlargest(MAX_CATEGORIES).index].sort_index()
    x = np.arange(len(data))
    width = 0.8 / max(len(values), 1)
    for i, column in enumerate(values):
        offset = (i - (len(values) - 1) / 2) * width
        ax.bar(
            x + offset,
            data[column].to_numpy(np.float64),
            width,
            label=column,
            color=COLOURS[i % len(COLOURS)],
        )
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(
        [str(v) for v in data.index],
        rotation=45 if len(data) > 6 else 0,
        ha="right" if len(data) > 6 else "center",
        fontsize=8,
    )
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if len(values) > 1:
        ax.legend(loc="best", fontsize=8)
    return png(fig)


def equity_curves(curves: Mapping[str, pd.DataFrame], *, title: str) -> bytes:
    """Each account's equity through the day (frames of ts, equity), with its
    running high-water mark dashed."""
    fig, ax = new_figure()
    drawn = {a: c for a, c in curves.items() if len(c)}
    if not drawn:
        return empty_chart(fig, ax, "no positions on this day")
    for i, (account, curve) in enumerate(sorted(drawn.items())):
        colour = COLOURS[i % len(COLOURS)]
        ax.plot(curve["ts"], curve["equity"], color=colour, label=account, linewidth=1.2)
        ax.plot(
            curve["ts"],
            np.maximum.accumulate(curve["equity"].to_numpy(np.float64)),
            color=colour,
            linestyle="--",
            linewidth=0.8,
        )
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("P&L equity (dashed: high-water mark)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    return png(fig)
