"""Tax lots from fills: relief methods, holding periods and the wash-sale rule.

Lots
----
Every fill that opens or adds to a position opens a lot (id: its fill id): a
buy opens a long lot, a sell with no long position opens a short lot. A fill
that reduces a position closes lot slices, lot by lot in the relief method's
order, until it is done or the position is flat; the rest of it (a flip
through flat) opens a lot the other way.

Relief methods: FIFO (default: the earliest purchase first), LIFO (the latest
first), HIGHEST_COST (the lot with the highest cost per share first, which
realizes the least gain; for short lots its mirror, the lowest sale price
first). Ties go to the earlier purchase.

Prices (open_price, close_price) are per unit as quoted; money (proceeds,
cost_basis, gains, fees) counts the instrument's contract multiplier k
(`assets.instruments.multiplier_of`: ESZ6 50, 1x for a symbol the instruments
config does not know), as the service's P&L does. A fill's fee is spread evenly
over its shares: it adds to a long lot's cost and to a short cover's cost, and
reduces a long sale's and a short sale's proceeds. Per closed slice of m shares,
direction d (+1 long, -1 short):

    gross_gain       d * (close_price - open_price) * m * k   (what the average-cost
                     book compares with: no fees, no wash-sale adjustment)
    gain             proceeds - cost_basis = gross_gain - fees - wash_adjustment
    disallowed_loss  the part of a loss the wash-sale rule disallows (>= 0)
    reportable_gain  gain + disallowed_loss
    days_held        close date - holding start (calendar days, trading time zone)
    term             LONG if days_held > long_term_days (default 365), else SHORT

The wash-sale rule (as applied here, exactly)
---------------------------------------------
When a lot slice closes at a loss (gain < 0), a purchase of the same symbol in
the same account within `wash_window_days` calendar days of the close date
(default 30, before or after, dates in the trading time zone), other than the
shares of the closed slice and not already used as the replacement for
another wash sale, is a replacement. The loss on min(closed quantity,
replacement quantity) shares is disallowed, added per share to the
replacement lot's cost basis, and the replacement lot's holding period
includes the closed slice's: its holding start moves back by the closed
slice's days held. Matching takes replacements in purchase order: first the
lots bought in the window before the close (earliest first), then purchases
after the close as they happen, each going to the earliest loss still
waiting for replacement shares.

Made precise where the statement leaves a choice:
* "Purchase" is a fill that opens or adds to a lot of the closed slice's
  direction; its replacement shares are those still held: shares bought before
  the close but sold before it carry no lot to adjust, so they are not
  replacements. A buy that covers a short is no purchase of a long.
* When only part of a lot replaces, the lot splits: the replacement shares
  become their own lot (id `<lot>.w<n>`) with the adjusted basis and holding
  start, the rest keeps the original's.
* The rule applies to long lots only; `wash_sale_shorts` applies it to short
  lots too, with "purchase" read as "short sale" and the disallowed loss
  lowering the replacement short lot's proceeds per share.
* Computed as of a cutoff date, a loss whose window reaches past it may still
  find replacements later: such slices are flagged `wash_pending`.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assets.instruments import NO_MULTIPLIERS, Multipliers, multiplier_of
from assets.reports.fills import SIDE_SIGN


class ReliefMethod(StrEnum):
    FIFO = "FIFO"
    LIFO = "LIFO"
    HIGHEST_COST = "HIGHEST_COST"


@dataclass(frozen=True, slots=True)
class LotRules:
    method: ReliefMethod = ReliefMethod.FIFO
    long_term_days: int = 365
    wash_window_days: int = 30
    wash_sale_shorts: bool = False
    timezone: str = "UTC"


DIRECTION: Final = {1: "LONG", -1: "SHORT"}

SLICE_COLUMNS: Final = (
    "slice_id",
    "lot_id",
    "account",
    "symbol",
    "direction",
    "quantity",
    "open_fill_id",
    "open_time",
    "open_date",
    "holding_start",
    "close_fill_id",
    "close_time",
    "close_date",
    "open_price",
    "close_price",
    "proceeds",
    "cost_basis",
    "gross_gain",
    "fees",
    "wash_adjustment",
    "gain",
    "disallowed_loss",
    "reportable_gain",
    "days_held",
    "term",
    "wash_pending",
)
LOT_COLUMNS: Final = (
    "lot_id",
    "account",
    "symbol",
    "direction",
    "quantity",
    "open_fill_id",
    "open_time",
    "open_date",
    "holding_start",
    "open_price",
    "fee_per_share",
    "wash_adjustment_per_share",
    "cost_basis",
    "replacement_for",
)
WASH_COLUMNS: Final = (
    "wash_id",
    "account",
    "symbol",
    "loss_slice_id",
    "replacement_lot_id",
    "quantity",
    "disallowed_loss",
    "loss_close_time",
    "replacement_open_time",
    "determined_time",
)


@dataclass(frozen=True)
class LotResult:
    slices: pd.DataFrame  # SLICE_COLUMNS, in close order
    open_lots: pd.DataFrame  # LOT_COLUMNS at the cutoff
    wash_sales: pd.DataFrame  # WASH_COLUMNS
    open_lots_at_checkpoint: pd.DataFrame | None  # LOT_COLUMNS at the checkpoint


def compute_lots(
    fills: pd.DataFrame,
    rules: LotRules = LotRules(),
    *,
    cutoff: pd.Timestamp | None = None,
    checkpoint: pd.Timestamp | None = None,
    since: pd.Timestamp | None = None,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> LotResult:
    """Lots, closed slices and wash sales of canonical fills (`assets.reports.fills`)
    before `cutoff` (naive UTC; default: all of them). With `checkpoint`, also the
    open lots as they stood at that instant (the start of a reported day). With
    `since` (naive UTC), only the slices closed and the wash sales determined at or
    after it are returned (the rows of the whole history are not built); every fill
    is still applied, so those rows and the open lots are what they are over the
    whole history. `multipliers`: symbol -> contract multiplier (a symbol not in it
    is 1x)."""
    if cutoff is not None:
        fills = fills[fills["ts"] < cutoff]
    local_days = _local_ordinals(fills["ts"], rules.timezone)
    engine = _Engine(rules, _FillColumns.of(fills, local_days, multipliers))
    count = len(fills)
    at_checkpoint: _OpenLots | None = None
    if checkpoint is None:
        engine.run(0, count)
    else:
        # The open lots as they stood before the first fill at or after the checkpoint.
        after = np.flatnonzero(engine.columns.ts >= np.datetime64(checkpoint.to_datetime64()))
        stop = int(after[0]) if len(after) else count
        engine.run(0, stop)
        at_checkpoint = engine.open_lots()
        engine.run(stop, count)
    if cutoff is not None:
        cutoff_day = int(_local_ordinals(pd.Series([cutoff - pd.Timedelta(1)]), rules.timezone)[0])
    elif len(local_days):
        cutoff_day = int(local_days.max())
    else:
        cutoff_day = 0
    at_cutoff = engine.open_lots()
    open_sets = [at_cutoff] if at_checkpoint is None else [at_cutoff, at_checkpoint]
    frames = _Frames(
        engine, None if since is None else np.datetime64(since.to_datetime64()), open_sets
    )
    return LotResult(
        slices=frames.slices(cutoff_day),
        open_lots=frames.lots(at_cutoff),
        wash_sales=frames.washes(),
        open_lots_at_checkpoint=None if at_checkpoint is None else frames.lots(at_checkpoint),
    )


def lots_of_day(
    fills: pd.DataFrame,
    rules: LotRules,
    start: pd.Timestamp,
    end: pd.Timestamp,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> LotResult:
    """What a reported day [start, end) (naive UTC) needs, over every fill before
    `end`: the slices closed and the wash sales determined in the day, the open lots
    at its end and at its start (the relief check's checkpoint). The `tax_lots`
    asset's call, and the one `bench.reports` times."""
    return compute_lots(
        fills, rules, cutoff=end, checkpoint=start, since=start, multipliers=multipliers
    )


@dataclass(frozen=True)
class _FillColumns:
    """The fills as plain columns: lists for the loop (a list index is the cheapest
    read CPython has), arrays for building the output frames."""

    fill_id: np.ndarray  # object
    account: np.ndarray  # object
    symbol: np.ndarray  # object
    ts: np.ndarray  # datetime64[ns]
    book: list[int]  # (account, symbol) in order of first appearance
    sign: list[int]
    quantity: list[int]
    price: list[float]
    fee_ps: list[float]  # the fill's fee per share
    day: list[int]  # local date ordinal
    multiplier: list[float]
    books: int
    days_in_order: bool  # dates never go back from one fill to the next

    @classmethod
    def of(
        cls, fills: pd.DataFrame, local_days: np.ndarray, multipliers: Multipliers
    ) -> _FillColumns:
        account = fills["account"].to_numpy(dtype=object)
        symbol = fills["symbol"].to_numpy(dtype=object)
        account_code, _ = pd.factorize(account)
        symbol_code, symbol_names = pd.factorize(symbol)
        book, unique_books = pd.factorize(account_code * (len(symbol_names) + 1) + symbol_code)
        quantity = fills["quantity"].to_numpy(dtype=np.int64)
        sign = fills["side"].map(SIDE_SIGN).to_numpy(dtype=np.int64)
        per_symbol = np.asarray(
            [multiplier_of(multipliers, str(s)) for s in symbol_names], dtype=np.float64
        )
        return cls(
            fill_id=fills["fill_id"].to_numpy(dtype=object),
            account=account,
            symbol=symbol,
            ts=fills["ts"].to_numpy(dtype="datetime64[ns]"),
            book=book.tolist(),
            sign=sign.tolist(),
            quantity=quantity.tolist(),
            price=fills["price"].to_numpy(dtype=np.float64).tolist(),
            fee_ps=(fills["fee"].to_numpy(dtype=np.float64) / quantity).tolist(),
            day=local_days.tolist(),
            multiplier=per_symbol[symbol_code].tolist() if len(symbol_code) else [],
            books=len(unique_books),
            days_in_order=bool(np.all(np.diff(local_days) >= 0)),
        )


@dataclass(frozen=True)
class _OpenLots:
    """Open lots at one instant: lot numbers and the mutable fields as they stood."""

    lot: list[int]
    quantity: list[int]
    holding_start: list[int]
    adj_ps: list[float]
    replacement_for: list[int]  # slice number, -1 for none


class _Engine:
    """The rule in the module docstring, computed in one pass over the fills.

    State is parallel lists indexed by number, not objects: a lot is a number into
    the `lot_*` lists (its opening fill, split number, and the fields that change:
    quantity, holding start, wash adjustment per share, the slice it replaces); a
    closed slice and a wash sale are numbers into their own lists, holding only
    what the loop decides (which lot, which fill, how many shares, the lot's holding
    start and adjustment at the close). Prices, gains, ids and dates are derived
    from those afterwards, column by column (`_Frames`), with the same arithmetic
    in the same order, so the figures are the ones the loop tested for a loss.

    Per book (account, symbol):
    * `lots`: open lot numbers in purchase order (a split's replacement shares sit
      just before the rest of their lot), what the relief method picks from;
    * `candidates`: lots that may still replace a loss (open, not yet a
      replacement), in purchase order. Matching takes them from the front only:
      each one it reaches is either used up (it becomes a replacement) or splits
      and satisfies the loss, so a lot is never rescanned. With dates in fill
      order, a lot that is too old for one close is too old for every later
      one and leaves the front too;
    * `waiting`: losses still waiting for replacement shares purchased later, per
      direction, in close order; their windows end in that order, so an expired
      one is at the front.
    When dates are not in fill order (fills out of time order), too-old candidates
    are skipped instead of dropped and expired losses filtered out as a whole,
    which gives the same result."""

    def __init__(self, rules: LotRules, columns: _FillColumns) -> None:
        self.rules = rules
        self.columns = columns
        books = columns.books
        self.lots: list[list[int]] = [[] for _ in range(books)]
        self.candidates: list[deque[int]] = [deque() for _ in range(books)]
        # waiting[book][direction]: index 1 long, -1 (the last) short
        self.waiting: list[list[deque[int]]] = [[deque(), deque(), deque()] for _ in range(books)]
        self.direction: list[int] = [0] * books
        # Millions of lots, slices and wash sales: their numbers live in typed arrays
        # (8 bytes each, read without a copy at the end), not as Python objects in
        # lists (about 40 bytes each): on a machine where touching fresh memory is
        # slow, the footprint is much of the cost. Lists only where the values are
        # objects the loop has anyway (fill numbers, small split numbers).
        self.lot_fill: list[int] = []  # the opening fill
        # > 0: a split's replacement shares, its number n (id `<lot>.w<n>`);
        # <= 0: an original lot, minus the number of splits taken from it so far
        self.lot_split: list[int] = []
        self.lot_quantity = array("q")
        self.lot_holding = array("q")
        self.lot_adj = array("d")
        self.lot_replaces = array("q")  # the slice it replaces for, -1 for none
        self.slice_lot = array("q")
        self.slice_fill = array("q")
        self.slice_quantity = array("q")
        self.slice_holding = array("q")
        self.slice_adj = array("d")
        self.wash_slice = array("q")
        self.wash_lot = array("q")
        self.wash_quantity = array("q")
        # Losses waiting for replacement shares purchased later.
        self.wait_slice = array("q")
        self.wait_loss_ps = array("d")
        self.wait_remaining = array("q")
        self.wait_last_day = array("q")
        self.wait_days_held = array("q")

    def run(self, start: int, stop: int) -> None:
        """Apply fills start..stop-1. One function with its state in locals and bound
        `append`s: the loop body runs millions of times and a method call or
        attribute read per slice is most of its cost."""
        c = self.columns
        book_of, sign_of, quantity_of = c.book, c.sign, c.quantity
        price_of, fee_ps_of, day_of, multiplier_of_fill = c.price, c.fee_ps, c.day, c.multiplier
        all_lots, all_candidates, all_waiting, direction = (
            self.lots,
            self.candidates,
            self.waiting,
            self.direction,
        )
        lot_fill, lot_split, lot_quantity = self.lot_fill, self.lot_split, self.lot_quantity
        lot_holding, lot_adj, lot_replaces = self.lot_holding, self.lot_adj, self.lot_replaces
        new_fill, new_split, new_quantity = lot_fill.append, lot_split.append, lot_quantity.append
        new_holding, new_adj, new_replaces = (
            lot_holding.append,
            lot_adj.append,
            lot_replaces.append,
        )
        slice_lot = self.slice_lot
        add_lot, add_fill, add_quantity = (
            slice_lot.append,
            self.slice_fill.append,
            self.slice_quantity.append,
        )
        add_holding, add_adj = self.slice_holding.append, self.slice_adj.append
        wash_slice, wash_lot, wash_quantity = (
            self.wash_slice.append,
            self.wash_lot.append,
            self.wash_quantity.append,
        )
        wait_slice, wait_loss_ps, wait_remaining = (
            self.wait_slice,
            self.wait_loss_ps,
            self.wait_remaining,
        )
        wait_last_day, wait_days_held = self.wait_last_day, self.wait_days_held
        method = self.rules.method
        fifo = method is ReliefMethod.FIFO
        lifo = method is ReliefMethod.LIFO
        window = self.rules.wash_window_days
        wash_shorts = self.rules.wash_sale_shorts
        in_order = c.days_in_order

        for i in range(start, stop):
            b = book_of[i]
            sign = sign_of[i]
            remaining = quantity_of[i]
            lots = all_lots[b]
            day = day_of[i]
            if lots and direction[b] != sign:
                d = -sign
                k = multiplier_of_fill[i]
                close_eff = price_of[i] * k - d * fee_ps_of[i]
                washes = d > 0 or wash_shorts
                while remaining and lots:
                    if fifo:
                        index = 0
                    elif lifo:
                        index = len(lots) - 1
                    else:
                        index, best = 0, -np.inf
                        for n, lot in enumerate(lots):
                            root = lot_fill[lot]
                            cost = d * (price_of[root] * k + d * (fee_ps_of[root] + lot_adj[lot]))
                            if cost > best:  # strictly greater: ties keep the earlier purchase
                                index, best = n, cost
                    lot = lots[index]
                    held = lot_quantity[lot]
                    if held <= remaining:
                        taken = held
                        lot_quantity[lot] = 0
                        del lots[index]
                    else:
                        taken = remaining
                        lot_quantity[lot] = held - remaining
                    remaining -= taken
                    root = lot_fill[lot]
                    adj = lot_adj[lot]
                    holding = lot_holding[lot]
                    s = len(slice_lot)
                    add_lot(lot)
                    add_fill(i)
                    add_quantity(taken)
                    add_holding(holding)
                    add_adj(adj)
                    open_eff = price_of[root] * k + d * (fee_ps_of[root] + adj)
                    gain = (close_eff - open_eff if d > 0 else open_eff - close_eff) * taken
                    if gain >= 0 or not washes:
                        continue
                    # A loss: replacements bought in the window before the close, in
                    # purchase order. A candidate is never a replacement already (it
                    # leaves the candidates when it becomes one), so only closed and,
                    # with dates in order, too old ones are dropped on the way.
                    loss_ps = -gain / taken
                    days_held = day - holding
                    want = taken
                    first_day = day - window
                    candidates = all_candidates[b]
                    at = 0
                    while want and candidates:
                        if at:
                            if at == len(candidates):
                                break
                            cand = candidates[at]
                        else:
                            cand = candidates[0]
                        shares = lot_quantity[cand]
                        if not shares:
                            del candidates[at]
                            continue
                        if day_of[lot_fill[cand]] < first_day:
                            if in_order:
                                del candidates[at]
                            else:
                                at += 1
                            continue
                        if want < shares:
                            # The lot splits: the replacement shares become their own lot.
                            split = 1 - lot_split[cand]
                            lot_split[cand] = -split
                            replacement = len(lot_fill)
                            new_fill(lot_fill[cand])
                            new_split(split)
                            new_quantity(want)
                            new_holding(lot_holding[cand] - days_held)
                            new_adj(lot_adj[cand] + loss_ps)
                            new_replaces(s)
                            lot_quantity[cand] = shares - want
                            lots.insert(lots.index(cand), replacement)
                            wash_slice(s)
                            wash_lot(replacement)
                            wash_quantity(want)
                            want = 0
                            break
                        lot_adj[cand] += loss_ps
                        lot_holding[cand] -= days_held
                        lot_replaces[cand] = s
                        del candidates[at]
                        want -= shares
                        wash_slice(s)
                        wash_lot(cand)
                        wash_quantity(shares)
                    if want:
                        all_waiting[b][d].append(len(wait_slice))
                        wait_slice.append(s)
                        wait_loss_ps.append(loss_ps)
                        wait_remaining.append(want)
                        wait_last_day.append(day + window)
                        wait_days_held.append(days_held)
                if not remaining:
                    continue
            # What is left opens a lot.
            lot = len(lot_fill)
            new_fill(i)
            new_split(0)
            new_quantity(remaining)
            new_holding(day)
            new_adj(0.0)
            new_replaces(-1)
            lots.append(lot)
            direction[b] = sign
            waiting_by_direction = all_waiting[b]
            waiting = waiting_by_direction[sign]
            if in_order:
                while waiting and wait_last_day[waiting[0]] < day:
                    waiting.popleft()
            elif waiting or waiting_by_direction[-sign]:
                for w in (1, -1):
                    waiting_by_direction[w] = deque(
                        p
                        for p in waiting_by_direction[w]
                        if wait_remaining[p] and wait_last_day[p] >= day
                    )
                waiting = waiting_by_direction[sign]
            # A purchase after earlier losses replaces for the earliest waiting loss first.
            while waiting:
                p = waiting[0]
                want = wait_remaining[p]
                s = wait_slice[p]
                shares = lot_quantity[lot]
                if want < shares:
                    split = 1 - lot_split[lot]
                    lot_split[lot] = -split
                    replacement = len(lot_fill)
                    new_fill(i)
                    new_split(split)
                    new_quantity(want)
                    new_holding(day - wait_days_held[p])
                    new_adj(wait_loss_ps[p])
                    new_replaces(s)
                    lot_quantity[lot] = shares - want
                    lots.insert(len(lots) - 1, replacement)
                    wait_remaining[p] = 0
                    waiting.popleft()
                    wash_slice(s)
                    wash_lot(replacement)
                    wash_quantity(want)
                    continue
                # The whole (rest of the) lot replaces: it can replace nothing else.
                lot_adj[lot] += wait_loss_ps[p]
                lot_holding[lot] -= wait_days_held[p]
                lot_replaces[lot] = s
                wait_remaining[p] = want - shares
                if want == shares:
                    waiting.popleft()
                wash_slice(s)
                wash_lot(lot)
                wash_quantity(shares)
                break
            else:
                all_candidates[b].append(lot)

    def open_lots(self) -> _OpenLots:
        lots = [lot for book in self.lots for lot in book]
        return _OpenLots(
            lot=lots,
            quantity=[self.lot_quantity[lot] for lot in lots],
            holding_start=[self.lot_holding[lot] for lot in lots],
            adj_ps=[self.lot_adj[lot] for lot in lots],
            replacement_for=[self.lot_replaces[lot] for lot in lots],
        )


class _Rows:
    """A sorted set of row numbers (slices or lots) the output needs, and where a row
    sits in it. `everything` (the whole history) skips the lookups."""

    def __init__(self, rows: np.ndarray, everything: bool) -> None:
        self.rows = rows
        self.everything = everything

    @classmethod
    def of(cls, count: int, needed: list[np.ndarray | list[int]] | None) -> _Rows:
        if needed is None:
            return cls(np.arange(count, dtype=np.int64), True)
        # A mark per row of the history, not np.unique: one pass, no sort or hash.
        marked = np.zeros(count, dtype=bool)
        for part in needed:
            marked[np.asarray(part, dtype=np.int64)] = True
        return cls(np.flatnonzero(marked), False)

    def at(self, rows: np.ndarray) -> np.ndarray:
        """Positions of `rows` (each one in the set) in the set."""
        if self.everything:
            return rows
        positions: np.ndarray = np.searchsorted(self.rows, rows)
        return positions

    def take(self, values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """`values` (one per row of the set) for `rows`; None: every row of the whole
        history, only when the set is everything (then no copy)."""
        if rows is None:
            assert self.everything, "rows=None needs the whole history"
            return values
        taken: np.ndarray = values[self.at(rows)]
        return taken


class _Frames:
    """The engine's numbers turned into the output frames, column by column.

    With `since`, only the slices closed and the wash sales determined at or after it
    become rows (the reported day's: the asset keeps no others), and the figures and
    ids are derived only for those and for what they refer to (an earlier loss slice
    a wash sale names, a lot's replacement_for); the open lots are always complete.
    Without it, every slice and wash sale of the history. The figures are the same
    element by element either way."""

    def __init__(
        self, engine: _Engine, since: np.datetime64 | None, open_sets: list[_OpenLots]
    ) -> None:
        self.engine = engine
        c = engine.columns
        self.fill_id = c.fill_id
        self.account = c.account
        self.symbol = c.symbol
        self.ts = c.ts
        self.sign = np.asarray(c.sign, dtype=np.int64)
        self.price = np.asarray(c.price, dtype=np.float64)
        self.fee_ps = np.asarray(c.fee_ps, dtype=np.float64)
        self.day = np.asarray(c.day, dtype=np.int64)
        self.multiplier = np.asarray(c.multiplier, dtype=np.float64)
        self.lot_fill = np.asarray(engine.lot_fill, dtype=np.int64)
        self.lot_split = np.asarray(engine.lot_split, dtype=np.int64)
        self.slice_lot = _view(engine.slice_lot, np.int64)
        self.slice_fill = _view(engine.slice_fill, np.int64)
        self.slice_quantity = _view(engine.slice_quantity, np.int64)
        self.slice_holding = _view(engine.slice_holding, np.int64)
        self.slice_adj = _view(engine.slice_adj, np.float64)
        wash_slice = _view(engine.wash_slice, np.int64)
        wash_lot = _view(engine.wash_lot, np.int64)
        wash_quantity = _view(engine.wash_quantity, np.int64)
        slice_count, lot_count = len(self.slice_fill), len(self.lot_fill)
        if since is None:
            self.kept = np.arange(slice_count, dtype=np.int64)
        else:
            # A wash sale is determined when both its loss and its replacement exist;
            # every wash sale of a kept slice is determined after its close, so kept too.
            self.kept = np.flatnonzero(self.ts[self.slice_fill] >= since)
            close = self.ts[self.slice_fill[wash_slice]]
            opened = self.ts[self.lot_fill[wash_lot]]
            kept_washes = np.flatnonzero(np.maximum(close, opened) >= since)
            wash_slice = wash_slice[kept_washes]
            wash_lot = wash_lot[kept_washes]
            wash_quantity = wash_quantity[kept_washes]
        self.wash_slice, self.wash_lot, self.wash_quantity = wash_slice, wash_lot, wash_quantity
        replaces = [np.asarray(o.replacement_for, dtype=np.int64) for o in open_sets]
        self.slice_rows = _Rows.of(
            slice_count,
            None if since is None else [self.kept, wash_slice, *(r[r >= 0] for r in replaces)],
        )
        self.lot_rows = _Rows.of(
            lot_count,
            None
            if since is None
            else [self.slice_lot[self.slice_rows.rows], wash_lot, *(o.lot for o in open_sets)],
        )
        self._ids: tuple[np.ndarray, np.ndarray, pa.Array, pa.Array] | None = None
        self._per_share_cache: dict[str, np.ndarray] | None = None

    def ids(self) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
        """The ids of the lots and slices the output needs (`lot_rows`, `slice_rows`):
        a lot's is `<opening fill id>`, or `<opening fill id>.w<n>` for a split's
        replacement shares, a slice's `<lot id>:<closing fill id>`; as Python strings
        and as Arrow strings. Up to millions of them: joined by Arrow, each string
        made once and shared by every column that shows it."""
        if self._ids is None:
            lots, slices = self.lot_rows.rows, self.slice_rows.rows
            fills = pa.array(self.fill_id, type=pa.string())
            lot_fill, lot_split = self.lot_fill[lots], self.lot_split[lots]
            splits = np.maximum(lot_split, 0)
            top = int(splits.max()) if len(splits) else 0
            suffix = pa.array(["" if n == 0 else f".w{n}" for n in range(top + 1)])
            lot_ids = pc.binary_join_element_wise(fills.take(lot_fill), suffix.take(splits), "")
            slice_ids = pc.binary_join_element_wise(
                lot_ids.take(self.lot_rows.at(self.slice_lot[slices])),
                fills.take(self.slice_fill[slices]),
                ":",
            )
            # An original lot's id is its fill's: that string, not a new one.
            lot_objects = self.fill_id[lot_fill]
            split = lot_split > 0
            if split.any():
                lot_objects[split] = _objects(lot_ids.filter(pa.array(split)))
            self._ids = (lot_objects, _objects(slice_ids), lot_ids, slice_ids)
        return self._ids

    def lot_ids(self, lots: np.ndarray) -> np.ndarray:
        return self.lot_rows.take(self.ids()[0], lots)

    def slice_ids(self, slices: np.ndarray) -> np.ndarray:
        return self.slice_rows.take(self.ids()[1], slices)

    def wash_ids(self) -> np.ndarray:
        _, _, lot_ids, slice_ids = self.ids()
        return _objects(
            pc.binary_join_element_wise(
                slice_ids.take(self.slice_rows.at(self.wash_slice)),
                lot_ids.take(self.lot_rows.at(self.wash_lot)),
                ">",
            )
        )

    def _per_share(self) -> dict[str, np.ndarray]:
        """Per slice of `slice_rows`, the figures `_Engine.run` computes, with the same
        operations in the same order (so the same floats), done in place where they
        can be: a temporary of millions of rows is fresh memory, and touching that is
        slow."""
        if self._per_share_cache is None:
            self._per_share_cache = self._compute_per_share(self.slice_rows.rows)
        return self._per_share_cache

    def _compute_per_share(self, slices: np.ndarray) -> dict[str, np.ndarray]:
        everything = self.slice_rows.everything
        root = self.lot_fill[self.slice_lot[slices]]
        fill = self.slice_fill if everything else self.slice_fill[slices]
        taken = self.slice_quantity if everything else self.slice_quantity[slices]
        adj = self.slice_adj if everything else self.slice_adj[slices]
        d = self.sign[root]
        k = self.multiplier[fill]
        close_price, open_price = self.price[fill], self.price[root]
        close_fee, open_fee = self.fee_ps[fill], self.fee_ps[root]
        close_eff = close_price * k
        close_eff -= close_fee * d  # price * k - d * fee_ps
        open_eff = open_fee + adj
        open_eff *= d
        open_eff += open_price * k  # price * k + d * (fee_ps + adj_ps)
        long = d > 0
        proceeds = np.where(long, close_eff, open_eff)
        cost = np.where(long, open_eff, close_eff)
        del close_eff, open_eff
        gain = proceeds - cost
        gain *= taken
        proceeds *= taken
        cost *= taken
        gross = close_price - open_price
        gross *= d
        gross *= taken
        gross *= k  # d * (close - open) * m * k
        fees = close_fee
        fees += open_fee  # (open fee_ps + close fee_ps) * m
        fees *= taken
        return {
            "root": root,
            "d": d,
            "open_price": open_price,
            "close_price": close_price,
            "proceeds": proceeds,
            "cost_basis": cost,
            "gross_gain": gross,
            "fees": fees,
            "wash_adjustment": adj * taken,
            "gain": gain,
        }

    def disallowed_per_wash(self) -> np.ndarray:
        at = self.slice_rows.at(self.wash_slice)
        loss_ps = -self._per_share()["gain"][at] / self.slice_quantity[self.wash_slice]
        disallowed: np.ndarray = np.multiply(loss_ps, self.wash_quantity)
        return disallowed

    def slices(self, cutoff_day: int) -> pd.DataFrame:
        e = self.engine
        # None: every slice of the history, taken without copies.
        kept = None if self.slice_rows.everything else self.kept

        def pick(values: np.ndarray) -> np.ndarray:
            return values if kept is None else values[kept]

        figures = {name: self.slice_rows.take(v, kept) for name, v in self._per_share().items()}
        root, d, gain = figures["root"], figures["d"], figures["gain"]
        fill = pick(self.slice_fill)
        taken = pick(self.slice_quantity)
        # Added wash by wash in the order they were found, as a running sum (every wash
        # sale of a kept slice is kept, in that order).
        disallowed = np.zeros(len(gain))
        reportable = gain.copy()
        per_wash = self.disallowed_per_wash()
        if kept is None:
            rows, washes = self.wash_slice, per_wash
        else:
            to_row = np.searchsorted(kept, self.wash_slice)
            of_kept = to_row < len(kept)
            of_kept[of_kept] = kept[to_row[of_kept]] == self.wash_slice[of_kept]
            rows, washes = to_row[of_kept], per_wash[of_kept]
        np.add.at(disallowed, rows, washes)
        np.add.at(reportable, rows, washes)
        holding = pick(self.slice_holding)
        close_day = self.day[fill]
        days_held = close_day - holding
        # A loss slice still short of replacement shares whose window reaches past
        # the cutoff may be washed by a purchase not seen yet.
        pending = np.zeros(len(self.slice_fill), dtype=bool)
        remaining = _view(e.wait_remaining, np.int64)
        last_day = _view(e.wait_last_day, np.int64)
        waiting = _view(e.wait_slice, np.int64)
        pending[waiting[(remaining > 0) & (last_day > cutoff_day)]] = True
        slice_numbers = self.kept if kept is None else kept
        columns = {
            "slice_id": self.slice_rows.take(self.ids()[1], kept),
            "lot_id": self.lot_ids(self.slice_lot[slice_numbers]),
            "account": self.account[fill],
            "symbol": self.symbol[fill],
            "direction": _directions(d),
            "quantity": taken,
            "open_fill_id": self.fill_id[root],
            "open_time": self.ts[root],
            "open_date": _day_array(self.day[root]),
            "holding_start": _day_array(holding),
            "close_fill_id": self.fill_id[fill],
            "close_time": self.ts[fill],
            "close_date": _day_array(close_day),
            **{
                name: figures[name]
                for name in (
                    "open_price",
                    "close_price",
                    "proceeds",
                    "cost_basis",
                    "gross_gain",
                    "fees",
                    "wash_adjustment",
                    "gain",
                )
            },
            "disallowed_loss": disallowed,
            "reportable_gain": reportable,
            "days_held": days_held,
            "term": _labels(days_held > self.engine.rules.long_term_days, "LONG", "SHORT"),
            "wash_pending": pick(pending),
        }
        return _frame(columns, SLICE_COLUMNS)

    def washes(self) -> pd.DataFrame:
        fill = self.slice_fill[self.wash_slice]
        lot = self.wash_lot
        close_time = self.ts[fill]
        open_time = self.ts[self.lot_fill[lot]]
        columns = {
            "wash_id": self.wash_ids(),
            "account": self.account[fill],
            "symbol": self.symbol[fill],
            "loss_slice_id": self.slice_ids(self.wash_slice),
            "replacement_lot_id": self.lot_ids(lot),
            "quantity": self.wash_quantity,
            "disallowed_loss": self.disallowed_per_wash(),
            "loss_close_time": close_time,
            "replacement_open_time": open_time,
            "determined_time": np.maximum(close_time, open_time),
        }
        return _frame(columns, WASH_COLUMNS)

    def lots(self, open_lots: _OpenLots) -> pd.DataFrame:
        lot = np.asarray(open_lots.lot, dtype=np.int64)
        root = self.lot_fill[lot]
        d = self.sign[root]
        quantity = np.asarray(open_lots.quantity, dtype=np.int64)
        adj = np.asarray(open_lots.adj_ps, dtype=np.float64)
        replaces = np.asarray(open_lots.replacement_for, dtype=np.int64)
        replacement_for = np.full(len(lot), "", dtype=object)
        if (replaces >= 0).any():
            replacement_for[replaces >= 0] = self.slice_ids(replaces[replaces >= 0])
        open_eff = self.price[root] * self.multiplier[root] + d * (self.fee_ps[root] + adj)
        columns = {
            "lot_id": self.lot_ids(lot),
            "account": self.account[root],
            "symbol": self.symbol[root],
            "direction": _directions(d),
            "quantity": quantity,
            "open_fill_id": self.fill_id[root],
            "open_time": self.ts[root],
            "open_date": _day_array(self.day[root]),
            "holding_start": _day_array(np.asarray(open_lots.holding_start, dtype=np.int64)),
            "open_price": self.price[root],
            "fee_per_share": self.fee_ps[root],
            "wash_adjustment_per_share": adj,
            "cost_basis": open_eff * quantity,
            "replacement_for": replacement_for,
        }
        return _frame(columns, LOT_COLUMNS)


def _view(values: array[Any], dtype: type[np.generic]) -> np.ndarray:
    """An engine array as numpy, without a copy (the engine appends no more)."""
    return np.frombuffer(values, dtype=dtype) if len(values) else np.zeros(0, dtype=dtype)


def _objects(strings: pa.Array) -> np.ndarray:
    """Arrow strings as an object column of Python strings (the frames' type)."""
    return np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)


def _frame(columns: dict[str, np.ndarray], names: tuple[str, ...]) -> pd.DataFrame:
    # copy=False: the arrays are new and owned here; it also keeps pandas from
    # consolidating them into 2-D blocks, a copy of the whole frame (seconds at 5M rows).
    return pd.DataFrame({name: columns[name] for name in names}, copy=False)


def _labels(is_first: np.ndarray, first: str, second: str) -> np.ndarray:
    """`first` where `is_first`, else `second`: an object column of two shared strings
    (not one new string per row)."""
    return np.asarray([second, first], dtype=object)[is_first.astype(np.intp)]


def _directions(d: np.ndarray) -> np.ndarray:
    return _labels(d > 0, DIRECTION[1], DIRECTION[-1])


_DAY_NS: Final = 86_400 * 10**9


def _day_array(ordinals: np.ndarray) -> np.ndarray:
    """Date ordinals as datetime64[ns] midnights."""
    return ((ordinals - _EPOCH_ORDINAL) * _DAY_NS).view("datetime64[ns]")


def open_basis(lots: pd.DataFrame) -> pd.Series:
    """Signed unadjusted basis of open lots per (account, symbol): sum of
    d * quantity * open_price (price terms: the relief reconciliation applies the
    contract multiplier), the lot side of the relief reconciliation."""
    if lots.empty:
        empty = pd.MultiIndex.from_tuples([], names=["account", "symbol"])
        return pd.Series(dtype=np.float64, index=empty)
    sign = np.where(lots["direction"] == "LONG", 1.0, -1.0)
    value = sign * lots["quantity"].to_numpy(np.float64) * lots["open_price"].to_numpy(np.float64)
    return (
        pd.Series(value, index=pd.MultiIndex.from_frame(lots[["account", "symbol"]]))
        .groupby(level=["account", "symbol"])
        .sum()
    )


def _local_ordinals(ts: pd.Series, timezone: str) -> np.ndarray:
    """Calendar date (proleptic ordinal) of each naive-UTC stamp in `timezone`."""
    if len(ts) == 0:
        return np.zeros(0, dtype=np.int64)
    stamps = pd.DatetimeIndex(pd.to_datetime(ts.to_numpy()))
    if timezone != "UTC":
        stamps = stamps.tz_localize("UTC").tz_convert(timezone).tz_localize(None)
    days = stamps.normalize().to_numpy().astype("datetime64[D]").astype(np.int64)
    return days + _EPOCH_ORDINAL


_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()


def _dates(ordinals: pd.Series) -> pd.Series:
    if ordinals.empty:
        return pd.Series([], dtype="datetime64[ns]", index=ordinals.index)
    days = ordinals.to_numpy(dtype=np.int64) - _EPOCH_ORDINAL
    return pd.Series(days.astype("datetime64[D]").astype("datetime64[ns]"), index=ordinals.index)
