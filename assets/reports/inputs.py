"""From the warehouse's shipped tables to the report libraries' input frames.

Every read goes through the `Warehouse` resource's `query` verb with portable
SQL (plain SELECT/JOIN/GROUP BY, ISO timestamp literals), as in
`assets.execution_quality.inputs`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.reports.fills import canonical_fills
from assets.resources import Warehouse, sql_string
from assets.timestamps import timestamp_literal
from assets.warehouse.tables import FILLS, ORDERS, QUOTES


def fills_before(warehouse: Warehouse, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Every fill before `cutoff`, canonical (fee 0 where the table has none)."""
    warehouse.ensure_schema([FILLS])
    frame = warehouse.query(f"SELECT * FROM {FILLS.name} WHERE ts < {timestamp_literal(cutoff)}")
    return canonical_fills(frame)


def last_mids(warehouse: Warehouse, cutoff: pd.Timestamp) -> dict[str, float]:
    """Each symbol's mid at its last quote before `cutoff` (the newest seq wins a tie)."""
    warehouse.ensure_schema([QUOTES])
    until = timestamp_literal(cutoff)
    frame = warehouse.query(
        f"SELECT q.symbol, q.seq, q.bid, q.ask FROM {QUOTES.name} q JOIN ("
        f"SELECT symbol, max(ts) AS last_ts FROM {QUOTES.name} WHERE ts < {until} "
        f"GROUP BY symbol) p ON q.symbol = p.symbol AND q.ts = p.last_ts"
    )
    if frame.empty:
        return {}
    frame = frame.sort_values("seq").drop_duplicates("symbol", keep="last")
    mids = (frame["bid"].to_numpy(np.float64) + frame["ask"].to_numpy(np.float64)) / 2.0
    return dict(zip(frame["symbol"], mids.tolist(), strict=True))


def quotes_between(
    warehouse: Warehouse, start: pd.Timestamp, end: pd.Timestamp, symbols: list[str]
) -> pd.DataFrame:
    """Quotes of `symbols` in [start, end): columns ts, seq, symbol, bid, ask."""
    warehouse.ensure_schema([QUOTES])
    if not symbols:
        return pd.DataFrame(
            {
                "ts": pd.Series(dtype="datetime64[ns]"),
                "seq": pd.Series(dtype=np.int64),
                "symbol": pd.Series(dtype=object),
                "bid": pd.Series(dtype=np.float64),
                "ask": pd.Series(dtype=np.float64),
            }
        )
    wanted = ", ".join(sql_string(s) for s in symbols)
    frame = warehouse.query(
        f"SELECT ts, seq, symbol, bid, ask FROM {QUOTES.name} "
        f"WHERE ts >= {timestamp_literal(start)} AND ts < {timestamp_literal(end)} "
        f"AND symbol IN ({wanted})"
    )
    frame["ts"] = frame["ts"].astype("datetime64[ns]")
    return frame.sort_values(["ts", "seq"], kind="stable").reset_index(drop=True)


def order_events_between(
    warehouse: Warehouse, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Rows of the warehouse `orders` table (one per order event) in [start, end)."""
    warehouse.ensure_schema([ORDERS])
    frame = warehouse.query(
        f"SELECT * FROM {ORDERS.name} "
        f"WHERE ts >= {timestamp_literal(start)} AND ts < {timestamp_literal(end)}"
    )
    frame["ts"] = frame["ts"].astype("datetime64[ns]")
    return frame.sort_values("seq", kind="stable").reset_index(drop=True)


def fills_since(warehouse: Warehouse, cutoff: pd.Timestamp) -> int:
    """How many fills the warehouse holds at or after `cutoff`."""
    warehouse.ensure_schema([FILLS])
    frame = warehouse.query(
        f"SELECT count(*) AS n FROM {FILLS.name} WHERE ts >= {timestamp_literal(cutoff)}"
    )
    return int(str(frame.iat[0, 0])) if len(frame) else 0
