"""The daily TCA report: headline figures and a self-contained HTML page.

The page makes no network request: no script, no external style sheet or
font, and its charts are embedded as `data:` URIs (the same PNGs are also
written next to it). The metric conventions it prints are the library's
docstring, so they are stated once.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from assets.execution_quality import tca
from assets.execution_quality.charts import decomposition_by_symbol
from assets.execution_quality.summary import ALL
from assets.execution_quality.tca import DEFAULT_HORIZONS_S, horizon_label

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
) -> dict[str, float | int]:
    """The day's figures: counts and sums, and the whole-day weighted means
    (aggregate ratios) from the summary rows; NaN where nothing defines one."""
    whole = summary[summary["group_by"] == ALL].set_index("metric")["vw_mean"]

    def vw(metric: str) -> float:
        value = whole.get(metric, np.nan)
        return float(value) if value is not None and pd.notna(value) else float("nan")

    traded = orders["filled_quantity"] * orders["avg_price"]
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
) -> str:
    labels = {
        **HEADLINE_LABELS,
        **{
            f"markout_bps_{horizon_label(h)}": f"markout {horizon_label(h)}, bps"
            for h in horizons_s
        },
    }
    rows = "".join(
        f"<tr><th>{_e(labels.get(key, key))}</th>"
        f"<td class='num'>{_e(format_figure(value))}</td></tr>"
        for key, value in figures.items()
    )
    images = "".join(
        f"<figure><img alt='{_e(title)}' src='data:image/png;base64,"
        f"{base64.b64encode(charts[name]).decode('ascii')}'><figcaption>{_e(title)}"
        f"</figcaption></figure>"
        for name, title in CHARTS.items()
        if name in charts
    )
    by_symbol = decomposition_by_symbol(orders, limit=50)
    flags = (
        orders["flags"].fillna("").str.split(",").explode().loc[lambda s: s != ""].value_counts()
    )
    by_dimension = summary[
        summary["metric"].isin(["arrival_slippage_bps", "is_bps", "vwap_slippage_bps"])
        & (summary["group_by"] != ALL)
    ].drop(columns=["trading_day"], errors="ignore")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TCA report {_e(day)}</title>
<style>{_CSS}</style></head>
<body>
<h1>Execution quality, {_e(day)}</h1>
<p class="note">Costs are positive, gains negative, except markouts (positive = the price
moved in the order's favour). Means are notional-weighted: each is the day's aggregate
ratio (see the conventions below).</p>
<h2>Headline</h2>
<table class="headline">{rows}</table>
<h2>Charts</h2>
<div class="charts">{images}</div>
<h2>Implementation shortfall by symbol (bps of Q &times; Pd)</h2>
{_table(by_symbol.reset_index().rename(columns={"index": "symbol"}))}
<h2>Slippage and shortfall by symbol, account, side and order type</h2>
{_table(by_dimension)}
<h2>Outliers (beyond 3 robust standard deviations of the day's median)</h2>
{_table(outliers.head(50))}
<h2>Flags</h2>
{_table(flags.rename_axis("flag").reset_index(name="orders"))}
<h2>Conventions</h2>
<pre>{_e(conventions())}</pre>
</body></html>
"""


def format_figure(value: float | int) -> str:
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if value != value:  # NaN
        return "-"
    return f"{value:,.4f}" if abs(value) < 100 else f"{value:,.2f}"


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p class='note'>none</p>"
    head = "".join(f"<th>{_e(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return f"<td>{value}</td>"
    if isinstance(value, int | np.integer):
        return f"<td class='num'>{_e(format_figure(int(value)))}</td>"
    if isinstance(value, float | np.floating):
        return f"<td class='num'>{_e(format_figure(float(value)))}</td>"
    return f"<td>{_e('' if value is None or value is pd.NaT else str(value))}</td>"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_CSS: Final = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.headline th { background: #f5f5f5; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 1em; }
figure { margin: 0; } figure img { width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
pre { background: #f8f8f8; padding: 1em; font-size: 0.8em; overflow-x: auto; }
.note { color: #555; font-size: 0.9em; }
"""
