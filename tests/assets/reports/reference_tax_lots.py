"""The tax-lot engine as it was before the rewrite for speed (issue 11, BENCHMARKS
section 19): one object per lot, a rescan of the book per loss, rows built as lists.
Kept only as the reference the differential test compares the engine with; the
rule it implements is the one stated in `assets.reports.tax_lots`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.instruments import NO_MULTIPLIERS, Multipliers, multiplier_of
from assets.reports.fills import SIDE_SIGN
from assets.reports.tax_lots import (
    DIRECTION,
    LOT_COLUMNS,
    SLICE_COLUMNS,
    WASH_COLUMNS,
    LotResult,
    LotRules,
    ReliefMethod,
    _dates,
    _local_ordinals,
)


@dataclass(slots=True)
class _Lot:
    lot_id: str
    direction: int
    rank: tuple[int, int]  # purchase order: (opening seq, split number)
    open_fill_id: str
    open_ts: np.datetime64
    purchase_day: int  # date ordinal
    holding_start: int
    quantity: int
    price: float
    fee_ps: float
    adj_ps: float = 0.0
    replacement_for: str = ""
    splits: int = 0
    multiplier: float = 1.0  # contract multiplier: money per price point per share

    @property
    def open_eff(self) -> float:
        """Cost per share (long) or proceeds per share (short) in money, fees and wash
        adjustment in."""
        return self.price * self.multiplier + self.direction * (self.fee_ps + self.adj_ps)


@dataclass(slots=True)
class _Pending:
    """A loss slice still looking for replacement shares purchased after its close."""

    slice_index: int
    loss_ps: float
    remaining: int
    last_day: int  # last purchase date (ordinal) inside the window
    days_held: int
    close_ts: np.datetime64


@dataclass(slots=True)
class _Book:
    lots: list[_Lot] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)


def reference_lots(
    fills: pd.DataFrame,
    rules: LotRules,
    *,
    cutoff: pd.Timestamp | None = None,
    checkpoint: pd.Timestamp | None = None,
    multipliers: Multipliers = NO_MULTIPLIERS,
) -> LotResult:
    """Lots, closed slices and wash sales of canonical fills (`assets.reports.fills`)
    before `cutoff` (naive UTC; default: all of them). With `checkpoint`, also the
    open lots as they stood at that instant (the start of a reported day).
    `multipliers`: symbol -> contract multiplier (a symbol not in it is 1x)."""
    if cutoff is not None:
        fills = fills[fills["ts"] < cutoff]
    engine = _Engine(rules, multipliers)
    local_days = _local_ordinals(fills["ts"], rules.timezone)
    columns = (
        fills["seq"].to_numpy(dtype=np.int64).tolist(),
        fills["ts"].to_numpy(dtype="datetime64[ns]"),
        local_days.tolist(),
        fills["fill_id"].to_numpy(),
        fills["account"].to_numpy(),
        fills["symbol"].to_numpy(),
        fills["side"].to_numpy(),
        fills["quantity"].to_numpy(dtype=np.int64).tolist(),
        fills["price"].to_numpy(dtype=np.float64).tolist(),
        fills["fee"].to_numpy(dtype=np.float64).tolist(),
    )
    at_checkpoint: list[tuple[str, str, _Lot]] | None = None
    mark = np.datetime64(checkpoint.to_datetime64()) if checkpoint is not None else None
    for seq, ts, day, fill_id, account, symbol, side, quantity, price, fee in zip(
        *columns, strict=True
    ):
        if mark is not None and at_checkpoint is None and ts >= mark:
            at_checkpoint = engine.open_lots()
        engine.fill(seq, ts, day, fill_id, account, symbol, SIDE_SIGN[side], quantity, price, fee)
    if mark is not None and at_checkpoint is None:
        at_checkpoint = engine.open_lots()
    if cutoff is not None:
        cutoff_day = int(_local_ordinals(pd.Series([cutoff - pd.Timedelta(1)]), rules.timezone)[0])
    elif len(local_days):
        cutoff_day = int(local_days.max())
    else:
        cutoff_day = 0
    return LotResult(
        slices=engine.slice_frame(cutoff_day),
        open_lots=_lot_frame(engine.open_lots()),
        wash_sales=engine.wash_frame(),
        open_lots_at_checkpoint=None if at_checkpoint is None else _lot_frame(at_checkpoint),
    )


class _Engine:
    def __init__(self, rules: LotRules, multipliers: Multipliers) -> None:
        self.rules = rules
        self.multipliers = multipliers
        self.books: dict[tuple[str, str], _Book] = {}
        self.slices: list[list[object]] = []
        self.washes: list[tuple[object, ...]] = []
        self.window = rules.wash_window_days

    def fill(
        self,
        seq: int,
        ts: np.datetime64,
        day: int,
        fill_id: str,
        account: str,
        symbol: str,
        sign: int,
        quantity: int,
        price: float,
        fee: float,
    ) -> None:
        key = (account, symbol)
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = _Book()
        fee_ps = fee / quantity
        remaining = quantity
        lots = book.lots
        while remaining and lots and lots[0].direction == -sign:
            index = self._pick(lots)
            lot = lots[index]
            taken = min(lot.quantity, remaining)
            lot.quantity -= taken
            if lot.quantity == 0:
                del lots[index]
            remaining -= taken
            self._close(book, key, lot, taken, ts, day, fill_id, price, fee_ps)
        if remaining:
            lot = _Lot(
                lot_id=fill_id,
                direction=sign,
                rank=(seq, 0),
                open_fill_id=fill_id,
                open_ts=ts,
                purchase_day=day,
                holding_start=day,
                quantity=remaining,
                price=price,
                fee_ps=fee_ps,
                multiplier=multiplier_of(self.multipliers, symbol),
            )
            lots.append(lot)
            if book.pending:
                self._replace_later(book, key, lot, day)

    def _pick(self, lots: list[_Lot]) -> int:
        method = self.rules.method
        if method is ReliefMethod.FIFO:
            return 0
        if method is ReliefMethod.LIFO:
            return len(lots) - 1
        best, best_key = 0, -np.inf
        for i, lot in enumerate(lots):
            cost = lot.direction * lot.open_eff
            if cost > best_key:  # strictly greater: ties keep the earlier purchase
                best, best_key = i, cost
        return best

    def _close(
        self,
        book: _Book,
        key: tuple[str, str],
        lot: _Lot,
        taken: int,
        ts: np.datetime64,
        day: int,
        fill_id: str,
        price: float,
        fee_ps: float,
    ) -> None:
        d = lot.direction
        close_eff = price * lot.multiplier - d * fee_ps
        open_eff = lot.open_eff
        gross = d * (price - lot.price) * taken * lot.multiplier
        fees = (lot.fee_ps + fee_ps) * taken
        adjustment = lot.adj_ps * taken
        proceeds, cost = (close_eff, open_eff) if d > 0 else (open_eff, close_eff)
        gain = (proceeds - cost) * taken
        days_held = day - lot.holding_start
        slice_id = f"{lot.lot_id}:{fill_id}"
        index = len(self.slices)
        self.slices.append(
            [
                slice_id,
                lot.lot_id,
                key[0],
                key[1],
                DIRECTION[d],
                taken,
                lot.open_fill_id,
                lot.open_ts,
                lot.purchase_day,
                lot.holding_start,
                fill_id,
                ts,
                day,
                lot.price,
                price,
                proceeds * taken,
                cost * taken,
                gross,
                fees,
                adjustment,
                gain,
                0.0,  # disallowed_loss, filled in by matching
                gain,
                days_held,
                "LONG" if days_held > self.rules.long_term_days else "SHORT",
                False,
            ]
        )
        if gain >= 0 or (d < 0 and not self.rules.wash_sale_shorts):
            return
        loss_ps = -gain / taken
        pending = _Pending(index, loss_ps, taken, day + self.window, days_held, ts)
        # Replacements bought in the window before the close, in purchase order
        # (the lots list is in purchase order; splits sit next to their lot).
        first_day = day - self.window
        i = 0
        while pending.remaining and i < len(book.lots):
            candidate = book.lots[i]
            if (
                candidate.direction == d
                and not candidate.replacement_for
                and candidate.purchase_day >= first_day
            ):
                i += self._match(book, key, pending, i)
            i += 1
        if pending.remaining:
            book.pending.append(pending)

    def _replace_later(self, book: _Book, key: tuple[str, str], lot: _Lot, day: int) -> None:
        """A purchase after earlier losses: it replaces for the earliest waiting loss first."""
        book.pending = [p for p in book.pending if p.remaining and p.last_day >= day]
        index = len(book.lots) - 1
        for pending in book.pending:
            if book.lots[index].replacement_for:
                break
            direction = 1 if self.slices[pending.slice_index][4] == "LONG" else -1
            if direction != lot.direction:
                continue
            index += self._match(book, key, pending, index)
        book.pending = [p for p in book.pending if p.remaining]

    def _match(self, book: _Book, key: tuple[str, str], pending: _Pending, index: int) -> int:
        """Make (part of) lots[index] the replacement of a pending loss. Returns 1 if
        the lot was split (the replacement shares are inserted before the rest),
        so the caller's index moves past the inserted lot, else 0."""
        lot = book.lots[index]
        shares = min(pending.remaining, lot.quantity)
        split = shares < lot.quantity
        if split:
            lot.splits += 1
            replacement = _Lot(
                lot_id=f"{lot.lot_id}.w{lot.splits}",
                direction=lot.direction,
                rank=(lot.rank[0], lot.splits),
                open_fill_id=lot.open_fill_id,
                open_ts=lot.open_ts,
                purchase_day=lot.purchase_day,
                holding_start=lot.holding_start,
                quantity=shares,
                price=lot.price,
                fee_ps=lot.fee_ps,
                adj_ps=lot.adj_ps,
                multiplier=lot.multiplier,
            )
            lot.quantity -= shares
            book.lots.insert(index, replacement)
        else:
            replacement = lot
        loss_slice = self.slices[pending.slice_index]
        replacement.adj_ps += pending.loss_ps
        replacement.holding_start -= pending.days_held
        replacement.replacement_for = str(loss_slice[0])
        disallowed = pending.loss_ps * shares
        loss_slice[21] = float(loss_slice[21]) + disallowed  # type: ignore[arg-type]
        loss_slice[22] = float(loss_slice[22]) + disallowed  # type: ignore[arg-type]
        pending.remaining -= shares
        self.washes.append(
            (
                f"{loss_slice[0]}>{replacement.lot_id}",
                key[0],
                key[1],
                loss_slice[0],
                replacement.lot_id,
                shares,
                disallowed,
                pending.close_ts,
                replacement.open_ts,
                max(pending.close_ts, replacement.open_ts),
            )
        )
        return 1 if split else 0

    def open_lots(self) -> list[tuple[str, str, _Lot]]:
        return [
            (account, symbol, _copy(lot))
            for (account, symbol), book in self.books.items()
            for lot in book.lots
        ]

    def slice_frame(self, cutoff_day: int) -> pd.DataFrame:
        # A loss slice still short of replacement shares whose window reaches past
        # the cutoff may be washed by a purchase not seen yet.
        for book in self.books.values():
            for pending in book.pending:
                if pending.remaining and pending.last_day > cutoff_day:
                    self.slices[pending.slice_index][25] = True
        frame = pd.DataFrame(self.slices, columns=list(SLICE_COLUMNS))
        for column in ("open_date", "holding_start", "close_date"):
            frame[column] = _dates(frame[column])
        for column in ("open_time", "close_time"):
            frame[column] = frame[column].astype("datetime64[ns]")
        return frame.astype(
            {"quantity": np.int64, "days_held": np.int64, "wash_pending": bool}
            | {
                c: np.float64
                for c in (
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
                )
            }
        )

    def wash_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.washes, columns=list(WASH_COLUMNS))
        for column in ("loss_close_time", "replacement_open_time", "determined_time"):
            frame[column] = frame[column].astype("datetime64[ns]")
        return frame.astype({"quantity": np.int64, "disallowed_loss": np.float64})


def _copy(lot: _Lot) -> _Lot:
    return _Lot(
        lot.lot_id,
        lot.direction,
        lot.rank,
        lot.open_fill_id,
        lot.open_ts,
        lot.purchase_day,
        lot.holding_start,
        lot.quantity,
        lot.price,
        lot.fee_ps,
        lot.adj_ps,
        lot.replacement_for,
        lot.splits,
        lot.multiplier,
    )


def _lot_frame(lots: list[tuple[str, str, _Lot]]) -> pd.DataFrame:
    rows = [
        (
            lot.lot_id,
            account,
            symbol,
            DIRECTION[lot.direction],
            lot.quantity,
            lot.open_fill_id,
            lot.open_ts,
            lot.purchase_day,
            lot.holding_start,
            lot.price,
            lot.fee_ps,
            lot.adj_ps,
            lot.open_eff * lot.quantity,
            lot.replacement_for,
        )
        for account, symbol, lot in lots
    ]
    frame = pd.DataFrame(rows, columns=list(LOT_COLUMNS))
    frame["open_time"] = frame["open_time"].astype("datetime64[ns]")
    for column in ("open_date", "holding_start"):
        frame[column] = _dates(frame[column])
    return frame.astype(
        {
            "quantity": np.int64,
            "open_price": np.float64,
            "fee_per_share": np.float64,
            "wash_adjustment_per_share": np.float64,
            "cost_basis": np.float64,
        }
    )
