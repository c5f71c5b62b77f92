"""How each warehouse table is cut out of the journal's events.

A projection names the event types a table ships and maps those events,
decoded (`EventBatch.select`: seq, ts_ns, event_type and the payload fields,
flattened: `request.symbol`), onto the table's columns. Everything is
column-wise pandas; no per-event Python, except where one event becomes several
rows (`Projection.rows`: FeatureLimitsChanged, a rare event). Prices and money are
rounded as the API rounds them (`realtime.presentation`), so a fill reads the same in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from assets.resources import TableSpec
from assets.warehouse.tables import (
    FEATURE_LIMIT_CHANGES,
    FILLS,
    ORDERS,
    QUOTES,
    RISK_CONTROL_CHANGES,
    RISK_REJECTIONS,
    TRADES,
)
from realtime import events as ev
from realtime.presentation import round_money_column, round_warehouse_prices

Columns = Callable[[pd.DataFrame], dict[str, object]]
Rows = Callable[[pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Projection:
    table: TableSpec
    event_types: frozenset[str]
    columns: Columns
    # Where one event is several rows: events -> one row per item, each with its
    # event's seq and ts_ns. None: one row per event.
    rows: Rows | None = None

    @property
    def one_row_per_event(self) -> bool:
        """Whether the table's row count is its event count (else: its distinct seqs)."""
        return self.rows is None

    def to_frame(self, events: pd.DataFrame) -> pd.DataFrame:
        """The table's rows for `events` (as `EventBatch.select` returns them)."""
        if events.empty:
            return pd.DataFrame(columns=list(self.table.column_names))
        if self.rows is not None:
            events = self.rows(events)
        # The stores keep microseconds; truncate here, where it is one integer division.
        micros = events["ts_ns"].to_numpy() // 1000 * 1000
        return pd.DataFrame(
            {
                "ts": micros.view("datetime64[ns]"),
                "seq": events["seq"].to_numpy(),
                **self.columns(events),
            }
        )


def _names(*classes: type[ev.Event]) -> frozenset[str]:
    return frozenset(cls.__name__ for cls in classes)


def _quote_columns(p: pd.DataFrame) -> dict[str, object]:
    return {
        "symbol": p["symbol"],
        "bid": round_warehouse_prices(p["bid"]),
        "ask": round_warehouse_prices(p["ask"]),
        "bid_size": p["bid_size"],
        "ask_size": p["ask_size"],
    }


def _trade_columns(p: pd.DataFrame) -> dict[str, object]:
    return {"symbol": p["symbol"], "price": round_warehouse_prices(p["price"]), "size": p["size"]}


def _fill_columns(p: pd.DataFrame) -> dict[str, object]:
    return {
        "fill_id": p["fill_id"],
        "order_id": p["order_id"],
        "account": p["account"],
        "symbol": p["symbol"],
        "side": p["side"],
        "quantity": p["quantity"],
        "price": round_warehouse_prices(p["price"]),
        "notional": round_money_column(p["quantity"] * p["price"]),
        "liquidity": p["liquidity"],
        # As journaled: the venue bills cents, and the reports sum exactly what the
        # service booked (rounding here would drift from it on older journals).
        "fee": p["fee"],
    }


def _first(p: pd.DataFrame, *names: str) -> pd.Series:
    """Per row, the first of these payload fields that is set (they never overlap)."""
    columns = [_plain(p[name]) for name in names]
    values = columns[0]
    for other in columns[1:]:
        values = values.where(values.notna(), other)
    return values


def _plain(values: pd.Series) -> pd.Series:
    # Decoded strings arrive as categoricals, whose categories differ per field.
    return values.astype(object) if isinstance(values.dtype, pd.CategoricalDtype) else values


def _price(values: pd.Series) -> pd.Series:
    """A nullable price column, rounded like the API's prices."""
    rounded: pd.Series = round_warehouse_prices(values.astype("Float64"))
    return rounded


def _or_none(values: pd.Series) -> pd.Series:
    """Missing values as None, which every store client reads as NULL (NaN may not be)."""
    out = values.astype(object)
    out[values.isna().to_numpy()] = None
    return out


SUBMISSION_TYPES: Final = _names(ev.OrderAccepted, ev.OrderRejected)
_RISK_DECISION: Final = {
    "OrderAccepted": "ACCEPTED",
    "OrderRejected": "REJECTED",
    "ReplaceRiskRejected": "REJECTED",
    "DuplicateOrderRejected": "REJECTED",
}
# Payload fields the order and risk columns read; a batch may lack the types carrying some.
_ORDER_FIELDS: Final = frozenset(
    {"order_id", "account", "symbol", "side", "quantity", "price", "limit_price"}
    | {"reference_price", "decision_price", "fill_id", "liquidity", "reason", "detail"}
    | {f"request.{f}" for f in ("client_order_id", "symbol", "side", "quantity")}
    | {f"request.{f}" for f in ("order_type", "time_in_force", "limit_price")}
    | {"request.decision_price"}
)
_RISK_FIELDS: Final = frozenset(
    {"account", "state", "actor", "reason", "digest", "source", "limits_json"}
)


def _order_columns(p: pd.DataFrame) -> dict[str, object]:
    p = p.reindex(columns=sorted(set(p.columns) | _ORDER_FIELDS))  # absent types: nulls
    is_fill = (p["event_type"] == "OrderFilled").to_numpy()
    return {
        "event_type": _or_none(p["event_type"]),
        "order_id": _or_none(p["order_id"]),
        "account": _or_none(p["account"]),
        "client_order_id": _or_none(p["request.client_order_id"]),
        "symbol": _or_none(_first(p, "request.symbol", "symbol")),
        "side": _or_none(_first(p, "request.side", "side")),
        "order_type": _or_none(p["request.order_type"]),
        "time_in_force": _or_none(p["request.time_in_force"]),
        "quantity": _first(p, "request.quantity", "quantity").astype("Int64"),
        "limit_price": _price(_first(p, "request.limit_price", "limit_price")),
        "reference_price": _price(p["reference_price"]),
        "decision_price": _price(p["decision_price"]),
        "decision_price_source": _or_none(_decision_source(p)),
        "fill_id": _or_none(p["fill_id"]),
        "fill_price": _price(p["price"].where(is_fill)),
        "liquidity": _or_none(p["liquidity"]),
        "risk_decision": _or_none(p["event_type"].map(_RISK_DECISION)),
        "reason": _or_none(p["reason"]),
        "detail": _or_none(p["detail"]),
    }


def _decision_source(p: pd.DataFrame) -> pd.Series:
    """CLIENT when the request named its decision price, ARRIVAL_MID when the engine
    recorded the arrival mid instead (null on other events, and without any price)."""
    submitted = p["event_type"].isin(list(SUBMISSION_TYPES)) & p["decision_price"].notna()
    given = p["request.decision_price"].notna()
    source = pd.Series(None, index=p.index, dtype=object)
    source[(submitted & given).to_numpy()] = "CLIENT"
    source[(submitted & ~given).to_numpy()] = "ARRIVAL_MID"
    return source


_REJECTION_FIELDS: Final = frozenset(
    {"order_id", "account", "quantity", "limit_price", "reason", "detail"}
    | {f"request.{f}" for f in ("client_order_id", "symbol", "side", "order_type")}
    | {f"request.{f}" for f in ("quantity", "limit_price")}
)


def _rejection_columns(p: pd.DataFrame) -> dict[str, object]:
    p = p.reindex(columns=sorted(set(p.columns) | _REJECTION_FIELDS))
    return {
        "event_type": _or_none(p["event_type"]),
        "order_id": _or_none(p["order_id"]),
        "account": _or_none(p["account"]),
        "client_order_id": _or_none(p["request.client_order_id"]),
        "symbol": _or_none(p["request.symbol"]),
        "side": _or_none(p["request.side"]),
        "order_type": _or_none(p["request.order_type"]),
        "quantity": _first(p, "request.quantity", "quantity").astype("Int64"),
        "limit_price": _price(_first(p, "request.limit_price", "limit_price")),
        "reason": _or_none(p["reason"]),
        "detail": _or_none(p["detail"]),
    }


def _risk_columns(p: pd.DataFrame) -> dict[str, object]:
    p = p.reindex(columns=sorted(set(p.columns) | _RISK_FIELDS))
    return {
        "event_type": _or_none(p["event_type"]),
        "account": _or_none(p["account"]),
        "state": _or_none(p["state"]),
        "actor": _or_none(p["actor"]),
        "reason": _or_none(p["reason"]),
        "limits_digest": _or_none(p["digest"]),
        "limits_source": _or_none(p["source"]),
        "limits_json": _or_none(p["limits_json"]),
    }


def _scale_rows(p: pd.DataFrame) -> pd.DataFrame:
    """One row per (event, symbol) of FeatureLimitsChanged.scales, decoded as a list of
    (symbol, scale) pairs per event (`journal_payloads`). Python per symbol: the event
    comes once per feature refresh at most, naming only the symbols that changed."""
    pairs = p["scales"].to_numpy()
    index = np.repeat(np.arange(len(p)), [len(x) for x in pairs])
    scales = [scale for x in pairs for _, scale in x]

    def field(name: str, dtype: str) -> pd.Series:
        return pd.Series([s[name] for s in scales], dtype=dtype)

    feature_ts = _micros_or_nat([s["feature_ts_ns"] for s in scales])
    return pd.DataFrame(
        {
            "seq": p["seq"].to_numpy()[index],
            "ts_ns": p["ts_ns"].to_numpy()[index],
            "symbol": [symbol for x in pairs for symbol, _ in x],
            "collar_scale": field("collar_scale", "float64"),
            "notional_scale": field("notional_scale", "float64"),
            "volatility": field("volatility", "Float64"),
            "feature_ts": feature_ts,
            "reason": [s["reason"] for s in scales],
            "source": _plain(p["source"]).to_numpy()[index],
        }
    )


def _micros_or_nat(values: list[int | None]) -> np.ndarray:
    """Nanosecond times (None: none) as datetime64, truncated to the microseconds the
    stores keep, as the event times are. Integer arithmetic throughout: through a float
    (what pandas does with a nullable column) a time can move by a microsecond."""
    missing = np.array([v is None for v in values], dtype=bool)
    ns = np.array([0 if v is None else v for v in values], dtype=np.int64) // 1000 * 1000
    times = ns.view("datetime64[ns]")
    times[missing] = np.datetime64("NaT")
    return times


def _scale_columns(p: pd.DataFrame) -> dict[str, object]:
    return {
        "symbol": p["symbol"].to_numpy(),
        "collar_scale": p["collar_scale"].to_numpy(),
        "notional_scale": p["notional_scale"].to_numpy(),
        "volatility": _or_none(p["volatility"]).to_numpy(),
        "feature_ts": p["feature_ts"].to_numpy(),
        "reason": p["reason"].to_numpy(),
        "source": p["source"].to_numpy(),
    }


ORDER_EVENT_TYPES: Final = ev.ORDER_EVENT_TYPES

ORDERS_PROJECTION: Final = Projection(ORDERS, ORDER_EVENT_TYPES, _order_columns)
FILLS_PROJECTION: Final = Projection(FILLS, _names(ev.OrderFilled), _fill_columns)
QUOTES_PROJECTION: Final = Projection(QUOTES, _names(ev.PriceSampled), _quote_columns)
TRADES_PROJECTION: Final = Projection(TRADES, _names(ev.TradePrinted), _trade_columns)
RISK_CONTROL_CHANGES_PROJECTION: Final = Projection(
    RISK_CONTROL_CHANGES, _names(ev.TradingStateChanged, ev.RiskLimitsChanged), _risk_columns
)
RISK_REJECTIONS_PROJECTION: Final = Projection(
    RISK_REJECTIONS, _names(ev.OrderRejected, ev.ReplaceRiskRejected), _rejection_columns
)
FEATURE_LIMIT_CHANGES_PROJECTION: Final = Projection(
    FEATURE_LIMIT_CHANGES, _names(ev.FeatureLimitsChanged), _scale_columns, rows=_scale_rows
)

PROJECTIONS: Final = (
    ORDERS_PROJECTION,
    FILLS_PROJECTION,
    QUOTES_PROJECTION,
    TRADES_PROJECTION,
    RISK_CONTROL_CHANGES_PROJECTION,
    RISK_REJECTIONS_PROJECTION,
    FEATURE_LIMIT_CHANGES_PROJECTION,
)
