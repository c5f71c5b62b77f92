"""Feature sources: warehouse rows in, hourly parquet files of feature rows out.

Incremental: a refresh recomputes from the newest hour file already written (it may
have been cut short by the last run) up to the newest complete minute of the inputs;
each hour's file is written whole and replaces the one before (write, then rename),
so a re-run of the same window leaves exactly one copy of each row.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from assets.features import compute
from assets.resources import TableSpec, Warehouse
from assets.sinks.tables import ALT_SIGNALS
from assets.timestamps import timestamp_literal
from assets.warehouse.tables import FILLS, ORDERS, QUOTES, TRADES
from realtime.feature_schema import (
    ACCOUNT_ACTIVITY,
    DATA_TS,
    EVENT_TS,
    SYMBOL_ALT,
    SYMBOL_MARKET,
    View,
)

HOUR_FORMAT: Final = "%Y-%m-%dT%H"


@dataclass(frozen=True)
class SourceSpec:
    view: View
    tables: tuple[TableSpec, ...]  # the warehouse tables read; the first bounds the window
    lookback: pd.Timedelta  # inputs needed before a window's start
    compute: Callable[[Warehouse, pd.Timestamp, pd.Timestamp, pd.Timestamp], pd.DataFrame]


@dataclass(frozen=True)
class RefreshReport:
    view: str
    rows: int
    hours: list[str]
    start: pd.Timestamp | None  # rows are for event times in (start, end]
    end: pd.Timestamp | None
    preview: pd.DataFrame


def _select(warehouse: Warehouse, table: str, since: pd.Timestamp, until: pd.Timestamp):  # type: ignore[no-untyped-def]
    return warehouse.query(
        f"SELECT * FROM {table} WHERE ts > {timestamp_literal(since)} "
        f"AND ts <= {timestamp_literal(until)}"
    )


def _market(warehouse: Warehouse, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp):  # type: ignore[no-untyped-def]
    since = start - MARKET.lookback
    return compute.market_features(
        _select(warehouse, QUOTES.name, since, end),
        _select(warehouse, TRADES.name, since, end),
        start,
        end,
        now,
    )


def _alt(warehouse: Warehouse, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp):  # type: ignore[no-untyped-def]
    return compute.alt_features(
        _select(warehouse, ALT_SIGNALS.name, start - ALT.lookback, end), start, end, now
    )


def _accounts(warehouse: Warehouse, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp):  # type: ignore[no-untyped-def]
    day = start.floor("D") - pd.Timedelta(microseconds=1)
    fills = warehouse.query(
        f"SELECT * FROM {FILLS.name} WHERE ts <= {timestamp_literal(end)}"
    )  # the whole history: average cost carries over from earlier days
    return compute.account_features(
        _select(warehouse, ORDERS.name, day, end), fills, start, end, now
    )


MARKET: Final = SourceSpec(SYMBOL_MARKET, (QUOTES, TRADES), pd.Timedelta(minutes=35), _market)
ALT: Final = SourceSpec(SYMBOL_ALT, (ALT_SIGNALS,), pd.Timedelta(SYMBOL_ALT.ttl), _alt)
ACCOUNTS: Final = SourceSpec(ACCOUNT_ACTIVITY, (ORDERS, FILLS), pd.Timedelta(0), _accounts)
SOURCES: Final = (MARKET, ALT, ACCOUNTS)


def hour_files(folder: Path) -> dict[pd.Timestamp, Path]:
    found = {}
    for path in folder.glob("*.parquet"):
        try:
            found[pd.Timestamp(pd.to_datetime(path.stem, format=HOUR_FORMAT))] = path
        except ValueError:
            continue  # not ours
    return dict(sorted(found.items()))


def input_bounds(
    warehouse: Warehouse, spec: SourceSpec
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(oldest, newest) input timestamp of the source's first table, or None if empty."""
    frame = warehouse.query(f"SELECT min(ts) AS lo, max(ts) AS hi FROM {spec.tables[0].name}")
    if frame.empty or pd.isna(frame.iat[0, 0]):
        return None
    return compute._naive_ts(frame.iat[0, 0]), compute._naive_ts(frame.iat[0, 1])


def refresh(
    spec: SourceSpec,
    warehouse: Warehouse,
    folder: Path,
    *,
    computed_at: pd.Timestamp,
    full: bool = False,
) -> RefreshReport:
    """Recompute the source's rows since its newest hour file (all of them if `full`)
    up to the newest complete minute of its inputs, and replace those hours' files."""
    warehouse.ensure_schema(spec.tables)
    bounds = input_bounds(warehouse, spec)
    if bounds is None:
        return RefreshReport(spec.view.name, 0, [], None, None, pd.DataFrame())
    oldest, newest = bounds
    # the newest minute whose inputs are all in: a later input of the same minute may
    # still be on its way (the next run recomputes that hour anyway)
    end = newest.floor("min")
    existing = hour_files(folder)
    if existing and not full:
        start = max(existing)
    else:
        start = (oldest - pd.Timedelta(microseconds=1)).floor("min") - pd.Timedelta(minutes=1)
    if end <= start:
        return RefreshReport(spec.view.name, 0, [], start, end, pd.DataFrame())
    rows = spec.compute(warehouse, start, end, computed_at)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    stamps = rows[EVENT_TS].dt.tz_localize(None) if len(rows) else pd.Series(dtype="object")
    for hour in compute.hours(start, end):
        in_hour = rows[(stamps > hour) & (stamps <= hour + pd.Timedelta(hours=1))]
        path = folder / f"{hour.strftime(HOUR_FORMAT)}.parquet"
        if in_hour.empty:
            continue
        temporary = path.with_suffix(".parquet.tmp")
        in_hour.to_parquet(temporary, index=False)
        os.replace(temporary, path)
        written.append(path.stem)
    return RefreshReport(spec.view.name, len(rows), written, start, end, rows.tail(5))


def read_rows(folder: Path) -> pd.DataFrame:
    """Every row of a source (for its checks)."""
    files = list(hour_files(folder).values())
    if not files:
        return pd.DataFrame(columns=[EVENT_TS, DATA_TS])
    return pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)
