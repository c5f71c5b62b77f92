"""Transaction cost analysis: pure functions over pandas frames.

Call `compute_tca(orders, fills, quotes, trades)` on your own data; nothing
here touches Dagster, a database or the network. Every as-of lookup is one
vectorised `pandas.merge_asof` per call (by symbol, exact matches allowed),
never a Python loop per row.

Inputs
------
Times are `datetime64` columns (naive = UTC; tz-aware ones are converted),
compared at nanosecond resolution. Extra columns are ignored.

orders, one row per order:
    order_id        str, unique
    account         str
    symbol          str
    side            "BUY" | "SELL"
    quantity        Q > 0, the order's quantity (after its last accepted replace)
    order_type      str, e.g. "MARKET", "LIMIT"
    decision_price  Pd, float, optional: the price when the trader decided. Absent
                    column or null value: the arrival mid M0 (then delay = 0).
    submit_time     when the order reached us
    end_time        when it became terminal; null only when end_status is OPEN
    end_status      "FILLED" | "CANCELED" | "EXPIRED" | "REJECTED" | "OPEN"
fills, one row per execution:
    fill_id         str, unique
    order_id        str, one of orders.order_id
    time            execution time
    price           P > 0
    quantity        > 0
    fee             float, optional: what the fill cost us in currency (a rebate is
                    negative). Absent column or null value: 0.
quotes, top of book:
    symbol, time, bid, ask. A quote without a positive bid and ask is skipped.
    Quotes sharing a symbol and time: the last one in frame order is the latest.
trades, the market tape:
    symbol, time, price, quantity. Prints without a positive price and quantity
    are skipped.

Conventions
-----------
s = +1 for a buy, -1 for a sell; mid = (bid + ask) / 2; bps = 1e-4.
k = the symbol's contract multiplier (`multipliers`, ESZ6 50; a symbol not in it
is 1x, `assets.instruments.multiplier_of`): prices stay per unit, every currency
amount is quantity x price x k (fees are currency already), and a figure in bps
is a currency amount over a currency notional, so k cancels in it (IS bps: its
fee part is now fees over the money notional).
The as-of mid at t is the mid of the last quote of that symbol with quote time
<= t: equality included, a later quote never used (every output row carries the
time of each quote it used, so that can be verified).
Q = order quantity, q = filled quantity, avg = sum(P * qty) / q over the order's
fills (null when q = 0), fees = sum of the fills' fees.
Positive = a cost to us, except markouts (positive = the price moved our way).

Per order (`ORDER_COLUMNS`):
    M0 arrival mid      as-of mid at submit_time; null (flag NO_ARRIVAL_QUOTE)
                        when the symbol has no quote at or before it.
    arrival slippage    s * (avg - M0) / M0 * 1e4 bps; null without fills.
    fill rate           q / Q.
    Pc                  as-of mid at the time the unfilled remainder Q - q was given
                        up: end_time (cancelled, expired, rejected); for an order
                        still OPEN, the cutoff (the end of the analysis window, by
                        default the last quote time in `quotes`), flag OPEN_AT_CUTOFF.
    implementation shortfall (Perold), currency:
        IS = fees + k * (s * q * (avg - Pd) + s * (Q - q) * (Pc - Pd))
      decomposed, each in currency and in bps of Q * Pd * k:
        delay       = s * q * (M0 - Pd) * k
        execution   = s * q * (avg - M0) * k
        opportunity = s * (Q - q) * (Pc - Pd) * k   (0 when q >= Q: fully filled)
        fees
      IS is stored as fees + delay + execution + opportunity, so the identity
      holds exactly in floating point; it equals the Perold formula to rounding.
      With q = 0, delay = execution = 0. Without M0 (and q > 0), delay and
      execution are null (flagged); IS is then null too unless Pd was given, in
      which case it is the Perold formula.
      IS bps = IS / (Q * Pd * k) * 1e4.
    window              [submit_time, window_end], both ends inclusive; window_end is
                        the last fill when FILLED, end_time when the remainder was
                        cancelled, expired or rejected, the cutoff when OPEN.
    market VWAP         sum(price * qty) / sum(qty) of the trades in the window;
                        VWAP slippage = s * (avg - VWAP) / VWAP * 1e4 bps.
    TWAP                the time-weighted mean of the as-of mid over the window,
                        (1 / (b - a)) * integral_a^b mid(t) dt (the mid at a when
                        a = b); TWAP slippage = s * (avg - TWAP) / TWAP * 1e4 bps.
    participation rate  q / market volume in the window (null when no volume:
                        flag NO_MARKET_VOLUME).

Per fill (`fill_columns(horizons)`), with M_t the as-of mid at the fill time and
M_{t+h} the as-of mid at fill time + h, for each horizon h (1, 5, 30, 60 s by
default; any positive whole number of milliseconds):
    effective spread    2 * s * (P - M_t), price units; in bps: / M_t * 1e4
    realized spread(h)  2 * s * (P - M_{t+h}), price units
    price impact(h)     s * (M_{t+h} - M_t) / M_t * 1e4 bps
    markout(h)          s * (M_{t+h} - P) / P * 1e4 bps (negative = adverse selection)
    so effective = realized(h) + 2 * impact(h) * M_t / 1e4.

Edge cases give values, not exceptions: an order without fills (avg, slippages,
VWAP/TWAP slippage null; fill rate 0; IS = opportunity + fees; flag NO_FILLS);
no quote before the submit (null arrival, flag NO_ARRIVAL_QUOTE); a quote
exactly at a lookup time is the as-of quote; a quote 1 us after the submit is
not the arrival quote. Malformed input (missing columns, unknown side, a fill
of an unknown order, ...) raises `TcaInputError` with a stable `code`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from assets.instruments import NO_MULTIPLIERS, Multipliers, multipliers_of

FloatArray = npt.NDArray[np.floating[Any]]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_HORIZONS_S: Final[tuple[float, ...]] = (1, 5, 30, 60)
BPS: Final = 1e4

BUY, SELL = "BUY", "SELL"
FILLED, CANCELED, EXPIRED, REJECTED, OPEN = "FILLED", "CANCELED", "EXPIRED", "REJECTED", "OPEN"
END_STATUSES: Final = frozenset({FILLED, CANCELED, EXPIRED, REJECTED, OPEN})
DECISION_FROM_ORDER, DECISION_FROM_ARRIVAL = "ORDER", "ARRIVAL_MID"

ORDER_INPUT: Final = (
    "order_id",
    "account",
    "symbol",
    "side",
    "quantity",
    "order_type",
    "decision_price",
    "submit_time",
    "end_time",
    "end_status",
)
FILL_INPUT: Final = ("fill_id", "order_id", "time", "price", "quantity", "fee")
QUOTE_INPUT: Final = ("symbol", "time", "bid", "ask")
TRADE_INPUT: Final = ("symbol", "time", "price", "quantity")
OPTIONAL_INPUT: Final = frozenset({"decision_price", "fee"})


class Flag:
    """Codes in the `flags` column (comma-separated, in this order)."""

    NO_ARRIVAL_QUOTE = "NO_ARRIVAL_QUOTE"  # no quote at or before submit_time
    NO_FILLS = "NO_FILLS"
    OPEN_AT_CUTOFF = "OPEN_AT_CUTOFF"  # still working at the cutoff: Pc taken there
    NO_END_QUOTE = "NO_END_QUOTE"  # an unfilled remainder but no quote for Pc
    FILLED_SHORT = "FILLED_SHORT"  # end_status FILLED but q < Q
    OVERFILLED = "OVERFILLED"  # q > Q: no opportunity term
    NO_MARKET_VOLUME = "NO_MARKET_VOLUME"  # no trades in the window
    NO_QUOTE = "NO_QUOTE"  # (fills) no quote at or before the fill time


ORDER_COLUMNS: Final = (
    "order_id",
    "account",
    "symbol",
    "side",
    "side_sign",  # s
    "order_type",
    "quantity",  # Q
    "submit_time",
    "end_time",
    "end_status",
    "filled_quantity",  # q
    "fill_count",
    "avg_price",  # avg
    "fill_rate",  # q / Q
    "fees",
    "decision_price",  # Pd as used
    "decision_price_source",  # ORDER or ARRIVAL_MID
    "arrival_bid",
    "arrival_ask",
    "arrival_mid",  # M0
    "arrival_quote_time",  # time of the quote M0 came from (<= submit_time)
    "arrival_spread_bps",  # (ask - bid) / M0 * 1e4 at arrival
    "arrival_slippage_bps",
    "opportunity_time",  # when Pc was taken (null: no unfilled remainder)
    "end_mid",  # Pc
    "end_quote_time",  # time of the quote Pc came from (<= opportunity_time)
    "is_delay",
    "is_execution",
    "is_opportunity",
    "is_fees",
    "implementation_shortfall",  # IS, currency
    "is_bps",
    "is_delay_bps",
    "is_execution_bps",
    "is_opportunity_bps",
    "is_fees_bps",
    "window_start",
    "window_end",
    "market_volume",
    "market_vwap",
    "vwap_slippage_bps",
    "twap_mid",
    "twap_slippage_bps",
    "participation_rate",
    "flags",
)


def horizon_label(horizon_s: float) -> str:
    """Column suffix of a horizon: 1 -> "1s", 0.25 -> "250ms"."""
    millis = _horizon_ms(horizon_s)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def horizon_columns(horizon_s: float) -> tuple[str, ...]:
    label = horizon_label(horizon_s)
    return (
        f"mid_{label}",  # M_{t+h}
        f"quote_time_{label}",  # time of its quote (<= fill time + h)
        f"realized_spread_{label}",
        f"price_impact_bps_{label}",
        f"markout_bps_{label}",
    )


def fill_columns(horizons_s: Sequence[float] = DEFAULT_HORIZONS_S) -> tuple[str, ...]:
    """The columns `compute_tca(...).fills` has for these horizons."""
    return (
        "fill_id",
        "order_id",
        "account",
        "symbol",
        "side",
        "side_sign",
        "order_type",
        "fill_time",
        "price",  # P
        "quantity",
        "fee",
        "notional",  # P * quantity * k, currency
        "bid",
        "ask",
        "mid",  # M_t
        "quote_time",  # time of its quote (<= fill_time)
        "effective_spread",
        "effective_spread_bps",
        *(c for h in horizons_s for c in horizon_columns(h)),
        "flags",
    )


class TcaInputError(ValueError):
    """Input the library cannot analyse; `code` is stable, the message says where."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class TcaResult:
    orders: pd.DataFrame  # ORDER_COLUMNS, one row per input order, in input order
    fills: pd.DataFrame  # fill_columns(horizons), one row per input fill, in input order
    quotes_skipped: int  # quotes without a positive bid and ask
    trades_skipped: int  # prints without a positive price and quantity


def compute_tca(
    orders: pd.DataFrame,
    fills: pd.DataFrame,
    quotes: pd.DataFrame,
    trades: pd.DataFrame,
    *,
    horizons_s: Sequence[float] = DEFAULT_HORIZONS_S,
    cutoff: pd.Timestamp | None = None,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> TcaResult:
    """Every per-order and per-fill metric of the module docstring.

    `cutoff` ends the analysis window of orders still OPEN (their Pc and their
    VWAP/TWAP window end); None: the last quote time in `quotes`. `multipliers`:
    symbol -> contract multiplier k (a symbol not in it is 1x).
    """
    horizons = _check_horizons(horizons_s)
    order_in = _orders(orders)
    fill_in = _fills(fills, order_in)
    _require(quotes, QUOTE_INPUT, "quotes")
    _require(trades, TRADE_INPUT, "trades")
    (order_code, quote_code, trade_code), n_symbols = _encode_symbols(
        order_in["symbol"], quotes["symbol"], trades["symbol"]
    )
    book = QuoteBook.from_frame(quotes, quote_code, n_symbols)
    tape = TradeTape.from_frame(trades, trade_code, n_symbols)
    cutoff_ns = _cutoff_ns(cutoff, book)
    k = multipliers_of(multipliers, order_in["symbol"])
    order_out = _order_metrics(order_in, order_code, fill_in, book, tape, cutoff_ns, k)
    fill_out = _fill_metrics(order_in, order_code, fill_in, book, horizons, k)
    return TcaResult(order_out, fill_out, book.skipped, tape.skipped)


def asof_mid(quotes: pd.DataFrame, symbols: Sequence[str], times: Sequence[object]) -> pd.DataFrame:
    """The as-of quote for each (symbol, time): columns mid, bid, ask, quote_time
    (null where the symbol has no quote at or before the time)."""
    _require(quotes, QUOTE_INPUT, "quotes")
    wanted = pd.Series(list(symbols), dtype=object)
    (codes, quote_code), n_symbols = _encode_symbols(wanted, quotes["symbol"])
    book = QuoteBook.from_frame(quotes, quote_code, n_symbols)
    index = book.lookup(codes, _ns(pd.Series(list(times)), "times", "time"))
    return pd.DataFrame(
        {
            "mid": book.take(book.mid, index),
            "bid": book.take(book.bid, index),
            "ask": book.take(book.ask, index),
            "quote_time": _to_times(book.take_time(index)),
        }
    )


# --- market data, prepared once for many lookups ------------------------------------

Codes = npt.NDArray[np.int32]


@dataclass(frozen=True)
class QuoteBook:
    """Quotes sorted by time, with each symbol's running integral of its mid.

    `integral[i]` is the integral of (mid - ref) dt, in price x ns, from the
    symbol's first quote to quote i, where ref is the symbol's first mid (taking
    ref out keeps the running sums small, so differences of them stay exact to
    about 1e-13 of a price over a day). The integral up to any t is then
    integral[k] + (mid[k] - ref) * (t - time[k]) with k the as-of quote at t, so
    a TWAP needs only the as-of quotes at the window's two ends.
    """

    code: Codes
    time: IntArray
    bid: FloatArray
    ask: FloatArray
    mid: FloatArray
    integral: FloatArray
    ref: FloatArray  # by symbol code; NaN for a symbol without quotes
    skipped: int

    @classmethod
    def from_frame(cls, quotes: pd.DataFrame, code: Codes, n_symbols: int) -> QuoteBook:
        """`code`: the symbol code of each row of `quotes` (`_encode_symbols`)."""
        bid = _floats(quotes["bid"])
        ask = _floats(quotes["ask"])
        time = _ns(quotes["time"], "quotes", "time", allow_null=True)
        valid = (bid > 0) & (ask > 0) & (time != _NAT)  # NaN compares False
        if not valid.all():
            bid, ask, time, code = bid[valid], ask[valid], time[valid], code[valid]
        if len(time) > 1 and not bool(np.all(time[1:] >= time[:-1])):
            order = np.argsort(time, kind="stable")
            bid, ask, time, code = bid[order], ask[order], time[order], code[order]
        mid = (bid + ask) / 2.0
        integral, ref = _running_integral(code, time, mid, n_symbols)
        return cls(code, time, bid, ask, mid, integral, ref, int((~valid).sum()))

    def lookup(self, codes: Codes, times: IntArray) -> IntArray:
        """Index of the as-of quote per (code, time), -1 where there is none."""
        return _asof_index(self.code, self.time, codes, times)

    def take(self, values: FloatArray, index: IntArray) -> FloatArray:
        out = values[np.maximum(index, 0)] if len(values) else np.full(len(index), np.nan)
        return np.where(index >= 0, out, np.nan)

    def take_time(self, index: IntArray) -> IntArray:
        out = self.time[np.maximum(index, 0)] if len(self.time) else np.full(len(index), _NAT)
        return np.where(index >= 0, out, _NAT)

    def integral_at(self, codes: Codes, times: IntArray, index: IntArray) -> FloatArray:
        """integral of (mid - ref) dt from the symbol's first quote to each time,
        given `index`, the as-of quote at that time."""
        if not len(self.time):
            return np.full(len(index), np.nan)
        k = np.maximum(index, 0)
        held = (self.mid[k] - self.ref[np.maximum(codes, 0)]) * (times - self.time[k])
        return np.where(index >= 0, self.integral[k] + held, np.nan)

    def twap(
        self, codes: Codes, start: IntArray, end: IntArray, at_start: IntArray, at_end: IntArray
    ) -> FloatArray:
        """Time-weighted as-of mid over [start, end] (as-of quotes `at_start`,
        `at_end`); the as-of mid at start if start == end; NaN without a quote at
        or before start."""
        span = (end - start).astype(np.float64)
        area = self.integral_at(codes, end, at_end) - self.integral_at(codes, start, at_start)
        ref = self.ref[np.maximum(codes, 0)] if len(self.ref) else np.full(len(codes), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = ref + area / span
        twap = np.where(span > 0, mean, self.take(self.mid, at_start))
        return np.where(at_start >= 0, twap, np.nan)


@dataclass(frozen=True)
class TradeTape:
    """Market prints sorted by time with running volume and notional per symbol."""

    code: Codes
    time: IntArray
    cum_qty: FloatArray  # inclusive running sum of quantity, per symbol
    cum_excess: FloatArray  # inclusive running sum of (price - ref) * quantity
    ref: FloatArray  # by symbol code: its first print's price
    skipped: int

    @classmethod
    def from_frame(cls, trades: pd.DataFrame, code: Codes, n_symbols: int) -> TradeTape:
        price = _floats(trades["price"])
        qty = _floats(trades["quantity"])
        time = _ns(trades["time"], "trades", "time", allow_null=True)
        valid = (price > 0) & (qty > 0) & (time != _NAT)
        if not valid.all():
            price, qty, time, code = price[valid], qty[valid], time[valid], code[valid]
        if len(time) > 1 and not bool(np.all(time[1:] >= time[:-1])):
            order = np.argsort(time, kind="stable")
            price, qty, time, code = price[order], qty[order], time[order], code[order]
        order, first = _by_symbol(code, n_symbols)
        c, p, q = code[order], price[order], qty[order]
        ref = np.full(n_symbols, np.nan)
        ref[c[first]] = p[first]
        cum_qty, cum_excess = np.empty(len(c)), np.empty(len(c))
        cum_qty[order] = _running_sum(q, c)
        cum_excess[order] = _running_sum((p - ref[c]) * q, c)
        return cls(code, time, cum_qty, cum_excess, ref, int((~valid).sum()))

    def window(self, codes: Codes, start: IntArray, end: IntArray) -> tuple[FloatArray, FloatArray]:
        """(volume, VWAP) of the prints with start <= time <= end, per row."""
        # Both ends in one lookup: "time < start" is "time <= start - 1 ns".
        before_start = np.where(start == _NAT, _NAT, start - 1)
        found = _asof_index(
            self.code, self.time, np.tile(codes, 2), np.concatenate([end, before_start])
        ).reshape(2, len(codes))
        volume = self._at(self.cum_qty, found[0]) - self._at(self.cum_qty, found[1])
        excess = self._at(self.cum_excess, found[0]) - self._at(self.cum_excess, found[1])
        ref = self.ref[np.maximum(codes, 0)] if len(self.ref) else np.full(len(codes), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = np.where(volume > 0, ref + excess / volume, np.nan)
        return volume, vwap

    @staticmethod
    def _at(values: FloatArray, index: IntArray) -> FloatArray:
        if not len(values):
            return np.zeros(len(index))
        return np.where(index >= 0, values[np.maximum(index, 0)], 0.0)


def _by_symbol(code: Codes, n_symbols: int) -> tuple[IntArray, BoolArray]:
    """The order that groups rows by symbol, keeping time order within each (a
    stable sort), and which sorted rows start a symbol's group."""
    # numpy sorts 16-bit keys stably by radix sort, several times faster than int32.
    key = code.astype(np.int16) if n_symbols < 2**15 else code
    order = np.argsort(key, kind="stable").astype(np.int64)
    c = code[order]
    first = np.ones(len(c), dtype=bool)
    first[1:] = c[1:] != c[:-1]
    return order, first


def _running_sum(values: FloatArray, grouped_codes: Codes) -> FloatArray:
    """Inclusive running sum within each group of rows already grouped by code."""
    summed = pd.Series(values).groupby(grouped_codes, sort=False).cumsum()
    return summed.to_numpy(dtype=np.float64)


def _running_integral(
    code: Codes, time: IntArray, mid: FloatArray, n_symbols: int
) -> tuple[FloatArray, FloatArray]:
    ref = np.full(n_symbols, np.nan)
    if not len(code):
        return np.zeros(0), ref
    # Per symbol, in time order: segment i holds mid[i] from time[i] to the symbol's
    # next quote; the integral at quote i is the sum of the segments before it.
    order, first = _by_symbol(code, n_symbols)
    c, t, m = code[order], time[order], mid[order]
    ref[c[first]] = m[first]
    dt = np.zeros(len(c))
    dt[:-1] = np.where(first[1:], 0.0, (t[1:] - t[:-1]).astype(np.float64))
    segment = (m - ref[c]) * dt
    integral = np.empty(len(c))
    integral[order] = _running_sum(segment, c) - segment
    return integral, ref


def _asof_index(book_code: Codes, book_time: IntArray, codes: Codes, times: IntArray) -> IntArray:
    """Per probe (code, time): index of the last book row of that code with time <=
    the probe's (equality included), or -1. One merge_asof for all the probes."""
    out = np.full(len(times), -1, dtype=np.int64)
    usable = (times != _NAT) & (codes >= 0)
    if not len(book_time) or not usable.any():
        return out
    probe_rows = np.flatnonzero(usable)
    order = probe_rows[np.argsort(times[probe_rows], kind="stable")]
    left = pd.DataFrame({"t": times[order], "c": codes[order]})
    right = pd.DataFrame(
        {"t": book_time, "c": book_code, "row": np.arange(len(book_time), dtype=np.int64)}
    )
    matched = pd.merge_asof(
        left, right, on="t", by="c", allow_exact_matches=True, direction="backward"
    )["row"]
    out[order] = matched.fillna(-1).to_numpy(dtype=np.int64)
    return out


# --- per-order metrics ----------------------------------------------------------------


def _order_metrics(
    orders: pd.DataFrame,
    code: Codes,
    fills: pd.DataFrame,
    book: QuoteBook,
    tape: TradeTape,
    cutoff_ns: int,
    k: FloatArray,
) -> pd.DataFrame:
    """`k`: each order's contract multiplier (currency per price point per unit)."""
    n = len(orders)
    s = np.where(orders["side"].to_numpy() == BUY, 1.0, -1.0)
    big_q = orders["quantity"].to_numpy(dtype=np.float64)
    submit = _ns(orders["submit_time"], "orders", "submit_time")
    end = _ns(orders["end_time"], "orders", "end_time", allow_null=True)
    status = orders["end_status"].to_numpy(dtype=object)
    is_open = status == OPEN

    position = fills["_order_pos"].to_numpy()
    fill_qty = fills["quantity"].to_numpy(dtype=np.float64)
    q = np.bincount(position, weights=fill_qty, minlength=n)
    notional = np.bincount(position, weights=fill_qty * fills["price"].to_numpy(), minlength=n)
    fees = np.bincount(position, weights=fills["fee"].to_numpy(dtype=np.float64), minlength=n)
    fill_count = np.bincount(position, minlength=n).astype(np.int64)
    last_fill = np.full(n, _NAT, dtype=np.int64)
    np.maximum.at(last_fill, position, _ns(fills["time"], "fills", "time"))
    has_fills = q > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(has_fills, notional / np.where(has_fills, q, 1.0), np.nan)

    # Where the remainder was given up, and where the benchmark window ends.
    remainder = np.maximum(big_q - q, 0.0)
    has_remainder = remainder > 0
    closed_at = np.where(is_open, cutoff_ns, end)
    opportunity_time = np.where(has_remainder, closed_at, _NAT)
    filled_short = (status == FILLED) & has_remainder
    window_end = np.where((status == FILLED) & has_fills, last_fill, closed_at)
    window_end = np.where(window_end == _NAT, submit, np.maximum(window_end, submit))

    # Every as-of quote an order needs, in one lookup.
    found = book.lookup(
        np.tile(code, 3), np.concatenate([submit, opportunity_time, window_end])
    ).reshape(3, n)
    arrival, closing, at_window_end = found
    m0 = book.take(book.mid, arrival)
    arrival_bid, arrival_ask = book.take(book.bid, arrival), book.take(book.ask, arrival)

    given_pd = orders["decision_price"].to_numpy(dtype=np.float64)
    pd_from_order = np.isfinite(given_pd)
    p_d = np.where(pd_from_order, given_pd, m0)

    p_c = book.take(book.mid, closing)

    delay = np.where(has_fills, s * q * (m0 - p_d) * k, 0.0)
    execution = np.where(has_fills, s * q * (avg - m0) * k, 0.0)
    opportunity = np.where(has_remainder, s * remainder * (p_c - p_d) * k, 0.0)
    shortfall = fees + delay + execution + opportunity
    # Without M0 the decomposition is unknown, but a given Pd still prices the order.
    perold = fees + np.where(has_fills, s * q * (avg - p_d) * k, 0.0) + opportunity
    shortfall = np.where(np.isnan(m0) & pd_from_order, perold, shortfall)
    paper = big_q * p_d * k

    volume, vwap = tape.window(code, submit, window_end)
    twap = book.twap(code, submit, window_end, arrival, at_window_end)

    with np.errstate(invalid="ignore", divide="ignore"):
        arrival_slippage = s * (avg - m0) / m0 * BPS
        vwap_slippage = s * (avg - vwap) / vwap * BPS
        twap_slippage = s * (avg - twap) / twap * BPS
        participation = np.where(volume > 0, q / volume, np.nan)
        spread_bps = (arrival_ask - arrival_bid) / m0 * BPS

        def bps(amount: npt.NDArray[Any]) -> FloatArray:
            return np.asarray(amount / paper * BPS, dtype=np.float64)

        frame = pd.DataFrame(
            {
                "order_id": orders["order_id"].to_numpy(dtype=object),
                "account": orders["account"].to_numpy(dtype=object),
                "symbol": orders["symbol"].to_numpy(dtype=object),
                "side": orders["side"].to_numpy(dtype=object),
                "side_sign": s.astype(np.int64),
                "order_type": orders["order_type"].to_numpy(dtype=object),
                "quantity": orders["quantity"].to_numpy(dtype=np.int64),
                "submit_time": _to_times(submit),
                "end_time": _to_times(end),
                "end_status": status,
                "filled_quantity": q.astype(np.int64),
                "fill_count": fill_count,
                "avg_price": avg,
                "fill_rate": q / big_q,
                "fees": fees,
                "decision_price": p_d,
                "decision_price_source": np.where(
                    pd_from_order, DECISION_FROM_ORDER, DECISION_FROM_ARRIVAL
                ).astype(object),
                "arrival_bid": arrival_bid,
                "arrival_ask": arrival_ask,
                "arrival_mid": m0,
                "arrival_quote_time": _to_times(book.take_time(arrival)),
                "arrival_spread_bps": spread_bps,
                "arrival_slippage_bps": arrival_slippage,
                "opportunity_time": _to_times(opportunity_time),
                "end_mid": p_c,
                "end_quote_time": _to_times(book.take_time(closing)),
                "is_delay": delay,
                "is_execution": execution,
                "is_opportunity": opportunity,
                "is_fees": fees,
                "implementation_shortfall": shortfall,
                "is_bps": bps(shortfall),
                "is_delay_bps": bps(delay),
                "is_execution_bps": bps(execution),
                "is_opportunity_bps": bps(opportunity),
                "is_fees_bps": bps(fees),
                "window_start": _to_times(submit),
                "window_end": _to_times(window_end),
                "market_volume": volume,
                "market_vwap": vwap,
                "vwap_slippage_bps": vwap_slippage,
                "twap_mid": twap,
                "twap_slippage_bps": twap_slippage,
                "participation_rate": participation,
            }
        )
    frame["flags"] = _flags(
        n,
        [
            (Flag.NO_ARRIVAL_QUOTE, np.isnan(m0)),
            (Flag.NO_FILLS, ~has_fills),
            (Flag.OPEN_AT_CUTOFF, is_open),
            (Flag.NO_END_QUOTE, has_remainder & np.isnan(p_c)),
            (Flag.FILLED_SHORT, filled_short),
            (Flag.OVERFILLED, q > big_q),
            (Flag.NO_MARKET_VOLUME, ~(volume > 0)),
        ],
    )
    return frame


# --- per-fill metrics -------------------------------------------------------------


def _fill_metrics(
    orders: pd.DataFrame,
    order_code: Codes,
    fills: pd.DataFrame,
    book: QuoteBook,
    horizons: Sequence[float],
    order_k: FloatArray,
) -> pd.DataFrame:
    n = len(fills)
    position = fills["_order_pos"].to_numpy()
    k = order_k[position]
    symbol = orders["symbol"].to_numpy(dtype=object)[position]
    side = orders["side"].to_numpy(dtype=object)[position]
    code = order_code[position]
    s = np.where(side == BUY, 1.0, -1.0)
    price = fills["price"].to_numpy(dtype=np.float64)
    qty = fills["quantity"].to_numpy(dtype=np.int64)
    t = _ns(fills["time"], "fills", "time")

    # One merge_asof for the fill times and every horizon.
    shifts = [0, *(_horizon_ms(h) * 1_000_000 for h in horizons)]
    probe_codes = np.tile(code, len(shifts))
    probe_times = np.concatenate([t + shift for shift in shifts]) if n else np.zeros(0, np.int64)
    found = book.lookup(probe_codes, probe_times).reshape(len(shifts), n)

    at_fill = found[0]
    m_t = book.take(book.mid, at_fill)
    columns: dict[str, object] = {
        "fill_id": fills["fill_id"].to_numpy(dtype=object),
        "order_id": fills["order_id"].to_numpy(dtype=object),
        "account": orders["account"].to_numpy(dtype=object)[position],
        "symbol": symbol,
        "side": side,
        "side_sign": s.astype(np.int64),
        "order_type": orders["order_type"].to_numpy(dtype=object)[position],
        "fill_time": _to_times(t),
        "price": price,
        "quantity": qty,
        "fee": fills["fee"].to_numpy(dtype=np.float64),
        "notional": price * qty * k,
        "bid": book.take(book.bid, at_fill),
        "ask": book.take(book.ask, at_fill),
        "mid": m_t,
        "quote_time": _to_times(book.take_time(at_fill)),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        effective = 2.0 * s * (price - m_t)
        columns["effective_spread"] = effective
        columns["effective_spread_bps"] = effective / m_t * BPS
        for h, index in zip(horizons, found[1:], strict=True):
            mid_h, time_h, realized, impact, markout = horizon_columns(h)
            m_h = book.take(book.mid, index)
            columns[mid_h] = m_h
            columns[time_h] = _to_times(book.take_time(index))
            columns[realized] = 2.0 * s * (price - m_h)
            columns[impact] = s * (m_h - m_t) / m_t * BPS
            columns[markout] = s * (m_h - price) / price * BPS
    frame = pd.DataFrame(columns)
    frame["flags"] = _flags(n, [(Flag.NO_QUOTE, np.isnan(m_t))])
    return frame


# --- input checks -------------------------------------------------------------------

_NAT: Final = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns and c not in OPTIONAL_INPUT]
    if missing:
        raise TcaInputError("MISSING_COLUMNS", f"{name} lacks columns {missing}")


def _orders(orders: pd.DataFrame) -> pd.DataFrame:
    _require(orders, ORDER_INPUT, "orders")
    out = orders.reset_index(drop=True)
    if "decision_price" not in out.columns:
        out = out.assign(decision_price=np.nan)
    ids = out["order_id"]
    if ids.isna().any():
        raise TcaInputError("MISSING_ORDER_ID", "orders.order_id has nulls")
    if ids.duplicated().any():
        dupes = sorted(ids[ids.duplicated()].astype(str).unique())[:5]
        raise TcaInputError("DUPLICATE_ORDER_ID", f"orders repeat order_id {dupes}")
    _one_of(out, "side", frozenset({BUY, SELL}), "BAD_SIDE", "orders")
    _one_of(out, "end_status", END_STATUSES, "BAD_END_STATUS", "orders")
    quantity = pd.to_numeric(out["quantity"], errors="coerce")
    if not bool((quantity > 0).all()) or not bool((quantity % 1 == 0).all()):
        raise TcaInputError("BAD_QUANTITY", "orders.quantity must be whole numbers > 0")
    out["decision_price"] = _floats(out["decision_price"])
    if bool((out["decision_price"] <= 0).any()):
        raise TcaInputError("BAD_PRICE", "orders.decision_price must be > 0 when given")
    submit = _ns(out["submit_time"], "orders", "submit_time")
    end = _ns(out["end_time"], "orders", "end_time", allow_null=True)
    missing_end = (end == _NAT) & (out["end_status"].to_numpy() != OPEN)
    if missing_end.any():
        raise TcaInputError("BAD_TIME", "orders.end_time is null on a terminal order")
    if bool(((end != _NAT) & (end < submit)).any()):
        raise TcaInputError("BAD_TIME", "orders.end_time is before submit_time")
    return out


def _fills(fills: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    _require(fills, FILL_INPUT, "fills")
    out = fills.reset_index(drop=True)
    out = out.assign(fee=_floats(out["fee"]) if "fee" in out.columns else 0.0)
    out["fee"] = out["fee"].fillna(0.0)
    if out["fill_id"].isna().any() or out["fill_id"].duplicated().any():
        raise TcaInputError("DUPLICATE_FILL_ID", "fills.fill_id must be unique and set")
    position = pd.Index(orders["order_id"]).get_indexer(out["order_id"])
    if (position < 0).any():
        unknown = sorted(out.loc[position < 0, "order_id"].astype(str).unique())[:5]
        raise TcaInputError("UNKNOWN_ORDER", f"fills of orders not in orders: {unknown}")
    out["_order_pos"] = position.astype(np.int64)
    if not bool((_floats(out["price"]) > 0).all()):
        raise TcaInputError("BAD_PRICE", "fills.price must be > 0")
    if not bool((_floats(out["quantity"]) > 0).all()):
        raise TcaInputError("BAD_QUANTITY", "fills.quantity must be > 0")
    _ns(out["time"], "fills", "time")
    return out


def _one_of(
    frame: pd.DataFrame, column: str, allowed: frozenset[str], code: str, name: str
) -> None:
    values = frame[column]
    bad = ~values.isin(list(allowed))
    if bad.any():
        seen = sorted(values[bad].astype(str).unique())[:5]
        raise TcaInputError(code, f"{name}.{column} must be one of {sorted(allowed)}: {seen}")


def _check_horizons(horizons_s: Sequence[float]) -> tuple[float, ...]:
    horizons = tuple(horizons_s)
    labels = [horizon_label(h) for h in horizons]
    if len(set(labels)) != len(labels):
        raise TcaInputError("BAD_HORIZON", f"horizons repeat: {horizons}")
    return horizons


def _horizon_ms(horizon_s: float) -> int:
    millis = float(horizon_s) * 1000.0
    if not millis > 0 or abs(millis - round(millis)) > 1e-6:
        raise TcaInputError(
            "BAD_HORIZON", f"a horizon is a positive whole number of ms, got {horizon_s} s"
        )
    return round(millis)


def _floats(values: pd.Series) -> FloatArray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _ns(values: pd.Series, name: str, column: str, *, allow_null: bool = False) -> IntArray:
    """Times as int64 ns since the epoch, UTC (NaT as _NAT)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(values.dtype):
        if values.isna().all():
            values = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        else:
            raise TcaInputError("BAD_TIME", f"{name}.{column} must be datetime64")
    out = values.astype("datetime64[ns]").to_numpy().view(np.int64)
    if not allow_null and bool((out == _NAT).any()):
        raise TcaInputError("BAD_TIME", f"{name}.{column} has nulls")
    return out


def _to_times(ns: IntArray) -> npt.NDArray[np.datetime64]:
    return np.asarray(ns, dtype=np.int64).view("datetime64[ns]")


def _encode_symbols(*columns: pd.Series) -> tuple[list[Codes], int]:
    """One integer code per symbol across all the columns (-1 for a null), and
    how many symbols there are. Each column is hashed once."""
    local: list[tuple[npt.NDArray[Any], npt.NDArray[np.object_]]] = []
    for values in columns:
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()
            uniques = np.asarray(values.cat.categories, dtype=object)
        else:
            codes, found = pd.factorize(values.to_numpy(dtype=object))
            uniques = np.asarray(found, dtype=object)
        local.append((codes, uniques))
    every = np.concatenate([u for _, u in local]) if local else np.zeros(0, dtype=object)
    universe = pd.Index(pd.unique(every))
    encoded = []
    for codes, uniques in local:
        mapping = universe.get_indexer(pd.Index(uniques)).astype(np.int32)
        mapped = mapping[np.maximum(codes, 0)] if len(mapping) else np.full(len(codes), -1)
        encoded.append(np.where(codes >= 0, mapped, -1).astype(np.int32))
    return encoded, len(universe)


def _cutoff_ns(cutoff: pd.Timestamp | None, book: QuoteBook) -> int:
    if cutoff is None:
        return int(book.time[-1]) if len(book.time) else int(_NAT)
    stamp = pd.Timestamp(cutoff)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.value)


def _flags(n: int, conditions: Sequence[tuple[str, BoolArray]]) -> npt.NDArray[np.object_]:
    out = np.full(n, "", dtype=object)
    for code, mask in conditions:
        if mask.any():
            out[mask] = out[mask] + (code + ",")
    return np.array([f[:-1] if f else f for f in out], dtype=object)
