"""Checks of a day's TCA rows.

A check runs on the trading day of its run's partition (the day just written,
when it runs with the assets) or, run on its own, on the newest trading day in
tca_orders. The checks are not partitioned themselves: partitioned asset
checks are a preview feature in Dagster 1.13 and cannot run without an asset.

The rules are pure functions of the stored rows (`*_violations`), so the
tests can break them on purpose; the checks read the day through the
warehouse and report the offending rows.
"""

from typing import Any, Final

import dagster as dg
import numpy as np
import pandas as pd

from assets.catalogue import WAREHOUSE_POOL
from assets.execution_quality.assets import PARTITIONS, TradingDay, read_day
from assets.execution_quality.inputs import SUBMITTED
from assets.execution_quality.tables import HORIZONS_S, TCA_FILLS, TCA_ORDERS
from assets.execution_quality.tca import Flag, horizon_label
from assets.instruments import NO_MULTIPLIERS, Multipliers, multipliers_of
from assets.metadata import markdown_preview
from assets.resources import Warehouse, sql_string
from assets.timestamps import naive_utc
from assets.warehouse.tables import FILLS, ORDERS

# The Perold formula and the stored sum round differently; relative to the size of
# the terms, they agree to far better than this.
PEROLD_TOLERANCE: Final = 1e-9


def identity_violations(
    orders: pd.DataFrame, multipliers: Multipliers = NO_MULTIPLIERS
) -> pd.DataFrame:
    """Rows breaking the IS identity: IS must equal fees + delay + execution +
    opportunity exactly (summed in that order) and the Perold formula to rounding,
    at the contract multipliers the rows were computed with (absent: 1x); a row
    whose decomposition is missing must be flagged for why."""
    fees, delay = orders["is_fees"], orders["is_delay"]
    execution, opportunity = orders["is_execution"], orders["is_opportunity"]
    shortfall = orders["implementation_shortfall"]
    parts = fees + delay + execution + opportunity
    s, q, big_q = orders["side_sign"], orders["filled_quantity"], orders["quantity"]
    p_d, avg, p_c = orders["decision_price"], orders["avg_price"], orders["end_mid"]
    k = multipliers_of(multipliers, orders["symbol"])
    remainder = (big_q - q).clip(lower=0)
    traded = (s * q * (avg - p_d) * k).where(q > 0, 0.0)
    left = (s * remainder * (p_c - p_d) * k).where(remainder > 0, 0.0)
    perold = orders["fees"] + traded + left
    # A term without a price (no fill, no remainder: no Pc) adds nothing; a NaN here
    # would make the scale NaN and silently pass the Perold comparison.
    notional = (q * avg).fillna(0) + (big_q * p_d).fillna(0) + (remainder * p_c).fillna(0)
    scale = 1.0 + orders["fees"].abs() + notional * k
    defined = parts.notna()
    not_exact = defined & (shortfall != parts)
    off = shortfall.notna() & ((shortfall - perold).abs() > PEROLD_TOLERANCE * scale)
    why = orders["flags"].fillna("").str.contains(f"{Flag.NO_ARRIVAL_QUOTE}|{Flag.NO_END_QUOTE}")
    unexplained = ~defined & ~why
    bad = not_exact | off | unexplained
    columns = ["order_id", "implementation_shortfall", "is_fees", "is_delay", "is_execution"]
    return orders.loc[bad, [*columns, "is_opportunity", "flags"]].assign(perold=perold[bad])


def order_lookahead_violations(orders: pd.DataFrame) -> pd.DataFrame:
    """Orders whose arrival or closing quote is later than the time it priced."""
    late = (orders["arrival_quote_time"] > orders["submit_time"]) | (
        orders["end_quote_time"] > orders["opportunity_time"]
    )
    columns = ["order_id", "submit_time", "arrival_quote_time", "opportunity_time"]
    return orders.loc[late, [*columns, "end_quote_time"]]


def fill_lookahead_violations(fills: pd.DataFrame) -> pd.DataFrame:
    """Fills whose quote at t, or at t + h, is later than that time."""
    late = fills["quote_time"] > fills["fill_time"]
    for h in HORIZONS_S:
        at = fills["fill_time"] + pd.Timedelta(seconds=h)
        late |= fills[f"quote_time_{horizon_label(h)}"] > at
    return fills.loc[late, ["fill_id", "fill_time", "quote_time"]]


def coverage_gaps(
    submitted: pd.Series, shipped_fills: pd.DataFrame, tca_orders: pd.Series, tca_fills: pd.Series
) -> tuple[list[str], list[str]]:
    """(filled orders of the day without a tca_orders row, their fills without a
    tca_fills row)."""
    day_fills = shipped_fills[shipped_fills["order_id"].isin(submitted)]
    filled = set(day_fills["order_id"])
    missing_orders = sorted(filled - set(tca_orders))
    missing_fills = sorted(set(day_fills["fill_id"]) - set(tca_fills))
    return missing_orders, missing_fills


def checked_day(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> TradingDay | None:
    """The run's partition, else the newest day with TCA rows (None: no rows yet)."""
    if context.has_partition_key:
        window = PARTITIONS.time_window_for_partition_key(context.partition_key)
        return TradingDay(naive_utc(window.start), naive_utc(window.end))
    warehouse.ensure_schema([TCA_ORDERS])
    newest = warehouse.query(f"SELECT max(trading_day) AS newest FROM {TCA_ORDERS.name}")
    value = newest["newest"].iloc[0] if len(newest) else None
    if value is None or pd.isna(value):
        return None
    start = pd.Timestamp(value)
    return TradingDay(start, start + pd.Timedelta(days=1))


def _nothing_yet() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, description="no TCA rows yet")


def _result(
    day: TradingDay, passed: bool, description: str, offenders: pd.DataFrame, **metadata: Any
) -> dg.AssetCheckResult:
    meta: dict[str, Any] = {"trading_day": day.key, **metadata}
    if not passed:
        meta["offending_rows"] = markdown_preview(offenders, rows=10)
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=meta,
    )


def identity_check(multipliers: Multipliers) -> dg.AssetChecksDefinition:
    """`tca_orders_is_identity` at the contract multipliers the assets computed
    the rows with (`build_execution_quality_assets`)."""

    @dg.asset_check(
        asset=TCA_ORDERS.name,
        name="tca_orders_is_identity",
        pool=WAREHOUSE_POOL,
        description=(
            "For every order of the day: implementation_shortfall = is_fees + is_delay + "
            "is_execution + is_opportunity exactly, and equals the Perold formula to rounding; "
            "rows without a decomposition are flagged NO_ARRIVAL_QUOTE or NO_END_QUOTE."
        ),
    )
    def tca_orders_is_identity(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        day = checked_day(context, warehouse)
        if day is None:
            return _nothing_yet()
        orders = read_day(warehouse, TCA_ORDERS, day)
        bad = identity_violations(orders, multipliers)
        undefined = int(orders["implementation_shortfall"].isna().sum())
        return _result(
            day,
            bad.empty,
            "IS identity holds for every row" if bad.empty else f"{len(bad)} rows break it",
            bad,
            rows_checked=len(orders),
            rows_without_shortfall=undefined,
        )

    return tca_orders_is_identity


@dg.asset_check(
    asset=TCA_ORDERS.name,
    name="tca_orders_asof_never_looks_ahead",
    pool=WAREHOUSE_POOL,
    description="No order's arrival or closing quote is later than the time it priced.",
)
def tca_orders_asof_never_looks_ahead(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    day = checked_day(context, warehouse)
    if day is None:
        return _nothing_yet()
    orders = read_day(warehouse, TCA_ORDERS, day)
    bad = order_lookahead_violations(orders)
    return _result(
        day,
        bad.empty,
        "no lookup used a later quote" if bad.empty else f"{len(bad)} used a later quote",
        bad,
        rows_checked=len(orders),
    )


@dg.asset_check(
    asset=TCA_FILLS.name,
    name="tca_fills_asof_never_looks_ahead",
    pool=WAREHOUSE_POOL,
    description="No fill's quote at t, or at t + each horizon, is later than that time.",
)
def tca_fills_asof_never_looks_ahead(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    day = checked_day(context, warehouse)
    if day is None:
        return _nothing_yet()
    fills = read_day(warehouse, TCA_FILLS, day)
    bad = fill_lookahead_violations(fills)
    return _result(
        day,
        bad.empty,
        "no lookup used a later quote" if bad.empty else f"{len(bad)} used a later quote",
        bad,
        rows_checked=len(fills),
        lookups_checked=len(fills) * (1 + len(HORIZONS_S)),
    )


@dg.asset_check(
    asset=TCA_ORDERS.name,
    name="tca_orders_cover_filled_orders",
    pool=WAREHOUSE_POOL,
    additional_deps=[TCA_FILLS.name],
    description=(
        "Every order submitted that day with a fill in the warehouse has a tca_orders row, "
        "and each of its fills a tca_fills row."
    ),
)
def tca_orders_cover_filled_orders(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    day = checked_day(context, warehouse)
    if day is None:
        return _nothing_yet()
    submitted, shipped = _shipped(warehouse, day)
    tca_orders = read_day(warehouse, TCA_ORDERS, day)["order_id"]
    tca_fills = read_day(warehouse, TCA_FILLS, day)["fill_id"]
    missing_orders, missing_fills = coverage_gaps(submitted, shipped, tca_orders, tca_fills)
    passed = not missing_orders and not missing_fills
    offenders = pd.DataFrame(
        {
            "missing": ["order"] * len(missing_orders) + ["fill"] * len(missing_fills),
            "id": missing_orders + missing_fills,
        }
    )
    return _result(
        day,
        passed,
        "every filled order and fill has a TCA row"
        if passed
        else f"{len(missing_orders)} filled orders and {len(missing_fills)} fills lack TCA rows",
        offenders,
        orders_submitted=len(submitted),
        orders_with_tca_rows=int(np.isin(submitted, tca_orders).sum()),
        fills_shipped=int(shipped["order_id"].isin(submitted).sum()),
    )


def _shipped(warehouse: Warehouse, day: TradingDay) -> tuple[pd.Series, pd.DataFrame]:
    warehouse.ensure_schema([ORDERS, FILLS])
    since = sql_string(day.start.isoformat())
    until = sql_string(day.end.isoformat())
    kinds = ", ".join(sql_string(t) for t in SUBMITTED)
    submitted = warehouse.query(
        f"SELECT DISTINCT order_id FROM {ORDERS.name} "
        f"WHERE event_type IN ({kinds}) AND ts >= {since} AND ts < {until}"
    )["order_id"]
    fills = warehouse.query(
        f"SELECT fill_id, order_id FROM {FILLS.name} WHERE ts >= {since} AND ts < {until}"
    )
    return submitted, fills


def build_execution_quality_checks(
    multipliers: Multipliers,
) -> list[dg.AssetChecksDefinition]:
    """The group's checks, at the same `multipliers` as its assets (absent: 1x)."""
    return [
        identity_check(multipliers),
        tca_orders_asof_never_looks_ahead,
        tca_fills_asof_never_looks_ahead,
        tca_orders_cover_filled_orders,
    ]
