"""Daily summaries of TCA rows, and robust outliers: pure functions over frames.

For each metric and each group (the whole day, each symbol, account, side and
order type), over the rows where the metric has a value:

    n, mean, median, p05 / p25 / p75 / p95 (linear interpolation)
    vw_mean     sum(w * x) / sum(w), with w the row's notional in the metric's
                own denominator (table below), so that it is the aggregate
                ratio: e.g. the vw_mean of arrival_slippage_bps is
                sum(s * q * (avg - M0) * k) / sum(q * M0 * k) * 1e4, the day's
                slippage on everything it traded. Rows without a positive weight
                are left out of it.
    robust_std  1.4826 * the median absolute deviation from the median (the
                standard deviation, for normal data, that one wild row cannot
                move); when that is 0 (most rows equal), 1.2533 * the mean
                absolute deviation instead.
    outliers    rows with |x - median| > 3 * robust_std (none when robust_std is 0).

    metric                        w
    arrival_slippage_bps          q * M0 * k
    vwap_slippage_bps             q * VWAP * k
    twap_slippage_bps             q * TWAP * k
    is_bps and its components     Q * Pd * k
    fill_rate                     Q * Pd * k (the notional fill rate)
    participation_rate            market volume (contracts, not money: no k)
    effective_spread_bps          fill quantity * M_t * k
    price_impact_bps_<h>          fill quantity * M_t * k
    markout_bps_<h>               fill quantity * P * k

k is the symbol's contract multiplier (`assets.instruments`: ESZ6 50, 1x for a
symbol it does not list), so a weight is a currency notional and a 50x future
weighs as much as the money it moved, not as one share per contract.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from assets.execution_quality.tca import DEFAULT_HORIZONS_S, horizon_label
from assets.instruments import NO_MULTIPLIERS, Multipliers, multipliers_of

MAD_TO_STD: Final = 1.4826
MEAN_AD_TO_STD: Final = 1.2533
OUTLIER_STDS: Final = 3.0
DIMENSIONS: Final = ("all", "symbol", "account", "side", "order_type")
ALL: Final = "all"
PERCENTILES: Final = {"p05": 0.05, "p25": 0.25, "p75": 0.75, "p95": 0.95}
SUMMARY_COLUMNS: Final = (
    "group_by",
    "group_value",
    "metric",
    "n",
    "weight",
    "vw_mean",
    "mean",
    "median",
    "p05",
    "p25",
    "p75",
    "p95",
    "robust_std",
    "outliers",
)

Weight = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Metric:
    column: str
    source: str  # "orders" or "fills"
    weight: Weight  # per unit of the contract; times k when `money`
    money: bool = True  # the weight is a notional: currency = weight * k


def paper_notional(orders: pd.DataFrame, multipliers: Multipliers) -> pd.Series:
    """Q * Pd * k per order: the currency an order set out to trade."""
    return pd.Series(_paper(orders) * multipliers_of(multipliers, orders["symbol"]))


def traded_notional(orders: pd.DataFrame, multipliers: Multipliers) -> pd.Series:
    """q * avg * k per order: the currency it traded (NaN without fills)."""
    k = multipliers_of(multipliers, orders["symbol"])
    return pd.Series(orders["filled_quantity"] * orders["avg_price"] * k)


def _paper(o: pd.DataFrame) -> pd.Series:
    return o["quantity"] * o["decision_price"]  # per unit of the contract


def order_metrics() -> tuple[Metric, ...]:
    def traded(benchmark: str) -> Weight:
        return lambda o: o["filled_quantity"] * o[benchmark]

    return (
        Metric("arrival_slippage_bps", "orders", traded("arrival_mid")),
        Metric("vwap_slippage_bps", "orders", traded("market_vwap")),
        Metric("twap_slippage_bps", "orders", traded("twap_mid")),
        Metric("is_bps", "orders", _paper),
        Metric("is_delay_bps", "orders", _paper),
        Metric("is_execution_bps", "orders", _paper),
        Metric("is_opportunity_bps", "orders", _paper),
        Metric("is_fees_bps", "orders", _paper),
        Metric("fill_rate", "orders", _paper),
        Metric("participation_rate", "orders", lambda o: o["market_volume"], money=False),
    )


def fill_metrics(horizons_s: Sequence[float] = DEFAULT_HORIZONS_S) -> tuple[Metric, ...]:
    def at_mid(f: pd.DataFrame) -> pd.Series:
        return f["quantity"] * f["mid"]

    def at_price(f: pd.DataFrame) -> pd.Series:
        return f["quantity"] * f["price"]

    metrics = [Metric("effective_spread_bps", "fills", at_mid)]
    for h in horizons_s:
        label = horizon_label(h)
        metrics.append(Metric(f"price_impact_bps_{label}", "fills", at_mid))
        metrics.append(Metric(f"markout_bps_{label}", "fills", at_price))
    return tuple(metrics)


def daily_summary(
    orders: pd.DataFrame,
    fills: pd.DataFrame,
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> pd.DataFrame:
    """`SUMMARY_COLUMNS`, one row per (dimension, group, metric) with any value;
    `multipliers`: symbol -> contract multiplier k of the weights (absent: 1x)."""
    long = pd.concat(
        [
            *(_long(orders, m, multipliers) for m in order_metrics()),
            *(_long(fills, m, multipliers) for m in fill_metrics(horizons_s)),
        ],
        ignore_index=True,
    )
    parts = [_summarise(long, dimension) for dimension in DIMENSIONS]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if out.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUMMARY_COLUMNS})
    return out.loc[:, list(SUMMARY_COLUMNS)]


def robust_outliers(values: pd.Series) -> pd.Series:
    """True where a value lies beyond OUTLIER_STDS robust standard deviations of
    the median of `values` (NaN never is)."""
    x = values.astype(np.float64)
    median = x.median()
    deviation = (x - median).abs()
    scale = _robust_std(deviation)
    if not scale > 0:
        return pd.Series(False, index=values.index)
    return deviation > OUTLIER_STDS * scale


def robust_z(values: pd.Series) -> pd.Series:
    """(x - median) / robust_std; NaN where the spread is 0."""
    x = values.astype(np.float64)
    scale = _robust_std((x - x.median()).abs())
    return (x - x.median()) / scale if scale > 0 else pd.Series(np.nan, index=values.index)


def outlier_orders(orders: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """The day's outliers per metric (against the whole day's rows), most extreme first:
    order_id, account, symbol, side, order_type, metric, value, robust_z."""
    found = []
    for metric in metrics:
        values = orders[metric]
        flagged = robust_outliers(values)
        if flagged.any():
            rows = orders.loc[flagged, ["order_id", "account", "symbol", "side", "order_type"]]
            found.append(
                rows.assign(
                    metric=metric, value=values[flagged], robust_z=robust_z(values)[flagged]
                )
            )
    if not found:
        columns = ["order_id", "account", "symbol", "side", "order_type", "metric", "value"]
        return pd.DataFrame(columns=[*columns, "robust_z"])
    out = pd.concat(found, ignore_index=True)
    order = out["robust_z"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


def _robust_std(deviation: pd.Series) -> float:
    mad = float(deviation.median()) if deviation.notna().any() else float("nan")
    if mad > 0:
        return MAD_TO_STD * mad
    mean_ad = float(deviation.mean()) if deviation.notna().any() else float("nan")
    return MEAN_AD_TO_STD * mean_ad if mean_ad > 0 else 0.0


def _long(frame: pd.DataFrame, metric: Metric, multipliers: Multipliers) -> pd.DataFrame:
    x = pd.to_numeric(frame[metric.column], errors="coerce").astype(np.float64)
    w = pd.to_numeric(metric.weight(frame), errors="coerce").astype(np.float64)
    if metric.money:
        w = w * multipliers_of(multipliers, frame["symbol"])
    keep = x.notna().to_numpy()
    return pd.DataFrame(
        {
            "symbol": frame["symbol"].to_numpy(dtype=object)[keep],
            "account": frame["account"].to_numpy(dtype=object)[keep],
            "side": frame["side"].to_numpy(dtype=object)[keep],
            "order_type": frame["order_type"].to_numpy(dtype=object)[keep],
            "metric": metric.column,
            "x": x.to_numpy()[keep],
            "w": w.to_numpy()[keep],
        }
    )


def _summarise(long: pd.DataFrame, dimension: str) -> pd.DataFrame:
    if long.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    frame = long.assign(
        group_value=ALL if dimension == ALL else long[dimension].fillna("").astype(str)
    )
    keys = ["group_value", "metric"]
    grouped = frame.groupby(keys, sort=True)
    median = grouped["x"].transform("median")
    deviation = (frame["x"] - median).abs()
    by = [frame["group_value"], frame["metric"]]
    mad = deviation.groupby(by).transform("median")
    mean_ad = deviation.groupby(by).transform("mean")
    scale = np.where(mad > 0, MAD_TO_STD * mad, np.where(mean_ad > 0, MEAN_AD_TO_STD * mean_ad, 0))
    weighted = (frame["w"] > 0).to_numpy()
    frame = frame.assign(
        wx=np.where(weighted, frame["w"] * frame["x"], 0.0),
        wv=np.where(weighted, frame["w"], 0.0),
        outlier=((deviation > OUTLIER_STDS * scale) & (scale > 0)).astype(np.int64),
        scale=scale,
    )
    grouped = frame.groupby(keys, sort=True)
    out = grouped.agg(
        n=("x", "size"),
        weight=("wv", "sum"),
        wx=("wx", "sum"),
        mean=("x", "mean"),
        median=("x", "median"),
        robust_std=("scale", "first"),
        outliers=("outlier", "sum"),
    )
    quantiles = grouped["x"].quantile(np.array(list(PERCENTILES.values()))).unstack()
    quantiles.columns = list(PERCENTILES)
    out = out.join(quantiles)
    out["vw_mean"] = np.where(
        out["weight"] > 0, out["wx"] / out["weight"].where(out["weight"] > 0), np.nan
    )
    out = out.drop(columns=["wx"]).reset_index()
    out.insert(0, "group_by", dimension)
    return out
