"""The tick file format: quotes and trades in CSV or Parquet, one parser for every reader.

The replay feed (`TRADEPIPE_FEED=<file>`) and the tick inbox (the `sink_ticks`
Dagster asset, `data/inbox/ticks`) both read files with `read_tick_file`, so a
file one of them accepts the other accepts too, with the same rules. This module
imports neither Dagster nor the service; pandas and pyarrow only.

Columns, by name, in any order (other columns are ignored):

    ts                               integer nanoseconds since the Unix epoch (UTC),
                                     or ISO-8601 with a UTC offset: 2026-11-26T14:30:00.5Z,
                                     2026-11-26T09:30:00-05:00
    symbol                           the instrument
    bid, ask, bid_size, ask_size     a quote
    price, size                      a trade
    kind                             quote or trade: needed only when a file has both

A file with the quote columns and no trade columns holds quotes; with the trade
columns only, trades; with both, the `kind` column says what each row is (and
the other kind's columns stay empty on that row).

A time without a UTC offset is refused: whether it was local or UTC would be a
guess, and a guess off by hours corrupts a replay silently. In Parquet, a
timestamp column must carry a time zone (pandas: `tz_localize("UTC")`).

Each row is checked on its own; a bad row is refused with its line (CSV: the
physical line, header = 1; Parquet: the row, from 1) and the first rule it
breaks: BAD_TIMESTAMP, MISSING_SYMBOL, BAD_KIND, BAD_NUMBER (a price or size
missing or not finite), BAD_SIZE (not whole), NEGATIVE_VALUE, ZERO_PRICE,
CROSSED_QUOTE (bid above ask), MALFORMED_ROW (wrong number of CSV fields).
Blank lines are not records. A file that cannot be read as ticks at all is
refused whole, as line 0: EMPTY_FILE, BINARY_FILE, NOT_UTF8, UNREADABLE,
UNKNOWN_LAYOUT, UNSUPPORTED_FORMAT.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from realtime.text_file import not_text

SUFFIXES: Final = (".csv", ".parquet")
QUOTE_PRICES: Final = ("bid", "ask")
QUOTE_SIZES: Final = ("bid_size", "ask_size")
TRADE_PRICES: Final = ("price",)
TRADE_SIZES: Final = ("size",)
QUOTE_COLUMNS: Final = ("ts", "symbol", *QUOTE_PRICES, *QUOTE_SIZES)
TRADE_COLUMNS: Final = ("ts", "symbol", *TRADE_PRICES, *TRADE_SIZES)
_ALL_COLUMNS: Final = ("ts", "symbol", "kind", *QUOTE_PRICES, *QUOTE_SIZES, "price", "size")
_BATCH_ROWS: Final = 65_536
_OFFSET_SUFFIX: Final = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RefusedRow:
    line_no: int  # 0: the whole file
    code: str
    reason: str
    record: str  # the offending row as text (for a whole file: its first bytes)


@dataclass
class TickBatch:
    """Good quotes and trades of a stretch of the file, and the rows refused in it.

    quotes: ts_ns, symbol, bid, ask, bid_size, ask_size, line_no
    trades: ts_ns, symbol, price, size, line_no
    """

    quotes: pd.DataFrame
    trades: pd.DataFrame
    refused: list[RefusedRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Layout:
    quotes: bool
    trades: bool
    kind_column: bool

    @property
    def columns(self) -> tuple[str, ...]:
        wanted = {"ts", "symbol"}
        if self.quotes:
            wanted.update(QUOTE_COLUMNS)
        if self.trades:
            wanted.update(TRADE_COLUMNS)
        if self.kind_column:
            wanted.add("kind")
        return tuple(c for c in _ALL_COLUMNS if c in wanted)


def layout_of(columns: Iterable[str]) -> Layout | None:
    """Which kinds of tick a file with these columns holds, or None (not a tick file)."""
    names = set(columns)
    quotes = set(QUOTE_COLUMNS) <= names
    trades = set(TRADE_COLUMNS) <= names
    if quotes and trades:
        return Layout(True, True, True) if "kind" in names else None
    if quotes or trades:
        return Layout(quotes, trades, False)
    return None


def read_tick_file(
    source: Path | bytes, suffix: str, *, batch_rows: int = _BATCH_ROWS
) -> Iterator[TickBatch]:
    """The file's ticks in file order, a batch at a time (memory stays bounded by a batch).
    Never raises for bad content: a whole-file problem is a batch with one line-0 refusal."""
    suffix = suffix.lower()
    try:
        if suffix == ".csv":
            yield from _read_csv(source, batch_rows)
        elif suffix == ".parquet":
            yield from _read_parquet(source, batch_rows)
        else:
            yield _refused_whole(
                "UNSUPPORTED_FORMAT", f"tick files must end in {', '.join(SUFFIXES)}", source
            )
    except OSError as exc:
        yield _refused_whole("UNREADABLE", f"cannot read the file: {exc}", b"")


# --- reading ------------------------------------------------------------------------------


def _chunks(source: Path | bytes, size: int = 1 << 20) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    with source.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


def _head(source: Path | bytes) -> bytes:
    return next(_chunks(source, 200), b"")


def _text_problem(source: Path | bytes) -> RefusedRow | None:
    problem = not_text(_chunks(source))
    return None if problem is None else _refusal(*problem, source)


def _read_csv(source: Path | bytes, batch_rows: int) -> Iterator[TickBatch]:
    if (problem := _text_problem(source)) is not None:
        yield _batch([problem])
        return
    header_line = _head_line(source)
    header = [name.strip() for name in next(csv.reader([header_line]), [])]
    layout = layout_of(header)
    if layout is None:
        yield _unknown_layout(header)
        return
    columns = list(layout.columns)
    invalid: list[RefusedRow] = []

    def on_invalid_row(row: Any) -> str:
        invalid.append(
            RefusedRow(
                int(row.number),
                "MALFORMED_ROW",
                f"{row.actual_columns} fields where the header has {row.expected_columns}",
                str(row.text),
            )
        )
        return "skip"

    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        reader = pa_csv.open_csv(
            stream,
            # One thread and strings only: row numbers are known only when parsing in
            # order, and a type guessed from the first block would fail on a later one.
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 20),
            parse_options=pa_csv.ParseOptions(
                invalid_row_handler=on_invalid_row, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=columns,
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, ValueError) as exc:
        yield _refused_whole("UNREADABLE", f"not a readable CSV file: {exc}", source)
        return
    next_line = 2  # the header is line 1
    reported = 0
    while True:
        try:
            record_batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowException, ValueError) as exc:
            refused = [*invalid[reported:], _line_refusal(next_line, exc)]
            yield _batch(refused)
            return
        # Physical lines of this batch's rows: the next ones not skipped as invalid. The
        # handler has seen every invalid row up to the end of this batch by now.
        skipped = np.array([r.line_no for r in invalid[reported:]], dtype=np.int64)
        rows = record_batch.num_rows
        candidates = np.arange(next_line, next_line + rows + len(skipped), dtype=np.int64)
        lines = candidates[~np.isin(candidates, skipped)][:rows]
        next_line = int(lines[-1]) + 1 if rows else next_line
        done = [r for r in invalid[reported:] if r.line_no < next_line]
        reported += len(done)
        for start in range(0, record_batch.num_rows, batch_rows):
            part = record_batch.slice(start, batch_rows)
            yield _validate(part, lines[start : start + batch_rows], layout, done)
            done = []
    yield _batch(invalid[reported:])


def _head_line(source: Path | bytes) -> str:
    first = b""
    for chunk in _chunks(source, 64 * 1024):
        first += chunk
        if b"\n" in chunk:
            break
    return first.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")


def _line_refusal(line: int, exc: Exception) -> RefusedRow:
    return RefusedRow(line, "UNREADABLE", f"cannot read on from here: {exc}", "")


def _read_parquet(source: Path | bytes, batch_rows: int) -> Iterator[TickBatch]:
    try:
        parquet = pa_parquet.ParquetFile(
            pa.BufferReader(source) if isinstance(source, bytes) else source
        )
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield _refused_whole("UNREADABLE", f"not a readable Parquet file: {exc}", source)
        return
    schema = parquet.schema_arrow
    layout = layout_of(schema.names)
    if layout is None:
        yield _unknown_layout(schema.names)
        return
    ts_type = schema.field("ts").type
    if pa.types.is_timestamp(ts_type) and ts_type.tz is None:
        yield _refused_whole(
            "BAD_TIMESTAMP",
            "the ts column is a timestamp without a time zone (UTC or local is a guess): "
            "store it with a zone, e.g. UTC, or as integer epoch nanoseconds",
            source,
        )
        return
    row = 1
    try:
        for record_batch in parquet.iter_batches(
            batch_size=batch_rows, columns=list(layout.columns)
        ):
            lines = np.arange(row, row + record_batch.num_rows, dtype=np.int64)
            row += record_batch.num_rows
            yield _validate(record_batch, lines, layout, [])
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield _batch([_line_refusal(row, exc)])


# --- validation ---------------------------------------------------------------------------


def _validate(
    record_batch: Any, line_nos: Ints, layout: Layout, refused: list[RefusedRow]
) -> TickBatch:
    """Column-wise checks; each row gets the first rule it breaks, or none."""
    raw = {name: record_batch.column(name) for name in layout.columns}
    rows = len(line_nos)
    blank: Mask = np.ones(rows, dtype=bool)  # every column empty: a blank line, not a record
    for column in raw.values():
        blank &= _mask(column.is_null())
    reason = np.full(rows, None, dtype=object)
    unflagged = ~blank  # a row keeps the first rule it breaks

    def flag(mask: Mask, code: str, detail: str) -> None:
        fresh = mask & unflagged
        reason[fresh] = f"{code}|{detail}"
        unflagged[fresh] = False

    ts_ns, ts_ok, offset_missing = _timestamps(raw["ts"])
    flag(offset_missing, "BAD_TIMESTAMP", "ts has no UTC offset (add Z or +HH:MM)")
    flag(~ts_ok, "BAD_TIMESTAMP", "ts is not ISO-8601 with a UTC offset or epoch nanoseconds")
    symbol = _strings(raw["symbol"])
    flag(pd.isna(symbol) | (symbol == ""), "MISSING_SYMBOL", "no symbol")
    if layout.kind_column:
        kind = np.char.lower(_strings(raw["kind"]).astype(str))
        is_quote: Mask = kind == "quote"
        is_trade: Mask = kind == "trade"
        flag(~is_quote & ~is_trade, "BAD_KIND", "kind must be quote or trade")
    else:
        is_quote = np.full(rows, layout.quotes, dtype=bool)
        is_trade = np.full(rows, layout.trades, dtype=bool)
    prices: dict[str, tuple[Floats, Mask]] = {
        name: (_numbers(raw[name]), is_quote if name in QUOTE_PRICES else is_trade)
        for name in (*QUOTE_PRICES, *TRADE_PRICES)
        if name in raw
    }
    sizes: dict[str, tuple[Floats, Mask]] = {
        name: (_numbers(raw[name]), is_quote if name in QUOTE_SIZES else is_trade)
        for name in (*QUOTE_SIZES, *TRADE_SIZES)
        if name in raw
    }
    for name, (values, applies) in (prices | sizes).items():
        flag(
            applies & ~np.isfinite(values),
            "BAD_NUMBER",
            f"{name} is missing or not a finite number",
        )
    for name, (values, applies) in sizes.items():
        flag(applies & np.isfinite(values) & (values % 1 != 0), "BAD_SIZE", f"{name} is not whole")
    for name, (values, applies) in (prices | sizes).items():
        flag(applies & (values < 0), "NEGATIVE_VALUE", f"{name} is negative")
    for name, (values, applies) in prices.items():
        flag(applies & (values == 0), "ZERO_PRICE", f"{name} is zero")
    if layout.quotes:
        bid, ask = prices["bid"][0], prices["ask"][0]
        flag(is_quote & (bid > ask), "CROSSED_QUOTE", "bid is above ask")

    bad = np.flatnonzero(~unflagged & ~blank)
    if len(bad):
        texts = _record_texts(raw, bad)
        for index, text in zip(bad, texts, strict=True):
            code, _, detail = str(reason[index]).partition("|")
            refused.append(RefusedRow(int(line_nos[index]), code, detail, text))
        refused.sort(key=lambda r: r.line_no)
    good = unflagged
    quotes = good & is_quote
    trades = good & is_trade
    return TickBatch(
        quotes=_frame(quotes, ts_ns, symbol, line_nos, prices, sizes, QUOTE_PRICES, QUOTE_SIZES)
        if layout.quotes
        else _empty(QUOTE_PRICES, QUOTE_SIZES),
        trades=_frame(trades, ts_ns, symbol, line_nos, prices, sizes, TRADE_PRICES, TRADE_SIZES)
        if layout.trades
        else _empty(TRADE_PRICES, TRADE_SIZES),
        refused=refused,
    )


def _frame(
    rows: Mask,
    ts_ns: Ints,
    symbol: npt.NDArray[np.object_],
    line_nos: Ints,
    prices: dict[str, tuple[Floats, Mask]],
    sizes: dict[str, tuple[Floats, Mask]],
    price_names: tuple[str, ...],
    size_names: tuple[str, ...],
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts_ns": ts_ns[rows],
            "symbol": symbol[rows],
            **{name: prices[name][0][rows] for name in price_names},
            **{name: sizes[name][0][rows].astype(np.int64) for name in size_names},
            "line_no": line_nos[rows].astype(np.int64),
        }
    )


def _empty(price_names: tuple[str, ...], size_names: tuple[str, ...]) -> pd.DataFrame:
    nothing = np.zeros(0, dtype=bool)
    return _frame(
        nothing,
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=object),
        np.zeros(0, dtype=np.int64),
        {n: (np.zeros(0), nothing) for n in price_names},
        {n: (np.zeros(0), nothing) for n in size_names},
        price_names,
        size_names,
    )


def _timestamps(column: Any) -> tuple[Ints, Mask, Mask]:
    """Epoch nanoseconds (0 where bad), whether each value is a good time, and whether a
    text value was refused only for having no UTC offset."""
    rows = len(column)
    none: Mask = np.zeros(rows, dtype=bool)
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            return np.zeros(rows, dtype=np.int64), none, np.ones(rows, dtype=bool)
        try:
            as_ns = column.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
        except pa.ArrowException:
            return np.zeros(rows, dtype=np.int64), none, none
        return _ints_or_zero(as_ns)
    if pa.types.is_integer(kind):
        return _ints_or_zero(column.cast(pa.int64()))
    if not _is_text(kind):
        return np.zeros(rows, dtype=np.int64), none, none
    text = pc.utf8_trim_whitespace(column)
    # Up to 19 digits, and no more than int64 holds (equal-length digit strings compare
    # like the numbers they spell).
    int64_max = str(np.iinfo(np.int64).max)
    digits = _mask(
        pc.and_(
            pc.match_substring_regex(text, r"^\d{1,19}$"),
            pc.or_(pc.less(pc.utf8_length(text), 19), pc.less_equal(text, int64_max)),
        )
    )
    zoned = _mask(pc.match_substring_regex(text, _OFFSET_SUFFIX)) & ~digits
    ns = np.zeros(rows, dtype=np.int64)
    ok = np.zeros(rows, dtype=bool)
    if digits.any():
        ns[digits] = _to_numpy(pc.cast(text.filter(pa.array(digits)), pa.int64()))
        ok[digits] = True
    if zoned.any():
        where = np.flatnonzero(zoned)
        parsed, good = _iso_ns(text.filter(pa.array(zoned)))
        ns[where[good]] = parsed[good]
        ok[where[good]] = True
    # Looks like a date, but has no zone: say so rather than "not a time".
    dated = _mask(pc.match_substring_regex(text, r"\d{4}-\d{2}-\d{2}"))
    return ns, ok, dated & ~digits & ~zoned


def _iso_ns(text: Any) -> tuple[Ints, Mask]:
    """Epoch ns of ISO-8601 strings with an offset, and which of them are times. Arrow's
    cast is fast but all-or-nothing; pandas takes a column with a bad value in it."""
    try:
        exact = pc.cast(text, pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    except pa.ArrowException:
        parsed = pd.to_datetime(
            pd.Series(text.to_pandas(), dtype=object), utc=True, format="ISO8601", errors="coerce"
        )
        valid = parsed.notna().to_numpy(dtype=bool)
        values = np.zeros(len(parsed), dtype=np.int64)
        values[valid] = parsed[valid].astype("int64").to_numpy()
        return values, valid
    values, valid, _ = _ints_or_zero(exact)
    return values, valid


def _ints_or_zero(column: Any) -> tuple[Ints, Mask, Mask]:
    valid = ~_mask(column.is_null())
    values = np.asarray(_to_numpy(column.fill_null(0)), dtype=np.int64)
    return values, valid, np.zeros(len(values), dtype=bool)


def _numbers(column: Any) -> Floats:
    """float64, NaN where a value is missing or not a number."""
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return np.asarray(_to_numpy(column.cast(pa.float64()).fill_null(np.nan)), dtype=np.float64)
    if _is_text(kind):
        try:  # all-or-nothing, and fast; pandas sorts out a column with a bad value in it
            return np.asarray(
                _to_numpy(pc.cast(column, pa.float64()).fill_null(np.nan)), dtype=np.float64
            )
        except pa.ArrowException:
            values = pd.to_numeric(pd.Series(column.to_pandas(), dtype=object), errors="coerce")
            return np.asarray(values, dtype=np.float64)
    return np.full(len(column), np.nan)


def _strings(column: Any) -> npt.NDArray[np.object_]:
    """Stripped text, None where missing."""
    if not _is_text(column.type):
        column = column.cast(pa.string())
    return np.asarray(_to_numpy(pc.utf8_trim_whitespace(column)), dtype=np.object_)


def _is_text(kind: Any) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _mask(booleans: Any) -> Mask:
    """An Arrow boolean array as a numpy mask, null counting as False."""
    return np.asarray(_to_numpy(booleans.fill_null(False)), dtype=bool)


def _to_numpy(array: Any) -> Any:
    return array.to_numpy(zero_copy_only=False)


def _record_texts(raw: dict[str, Any], indexes: npt.NDArray[np.intp]) -> list[str]:
    picked = {name: column.take(pa.array(indexes)).to_pylist() for name, column in raw.items()}
    return [
        ",".join("" if values[i] is None else str(values[i]) for values in picked.values())
        for i in range(len(indexes))
    ]


# --- whole-file refusals --------------------------------------------------------------------


def _batch(refused: list[RefusedRow]) -> TickBatch:
    return TickBatch(
        quotes=_empty(QUOTE_PRICES, QUOTE_SIZES),
        trades=_empty(TRADE_PRICES, TRADE_SIZES),
        refused=refused,
    )


def _refusal(code: str, reason: str, source: Path | bytes) -> RefusedRow:
    return RefusedRow(0, code, reason, _head(source).decode("utf-8", "backslashreplace"))


def _refused_whole(code: str, reason: str, source: Path | bytes) -> TickBatch:
    return _batch([_refusal(code, reason, source)])


def _unknown_layout(columns: Iterable[str]) -> TickBatch:
    names = list(columns)
    return _batch(
        [
            RefusedRow(
                0,
                "UNKNOWN_LAYOUT",
                f"columns {names} hold neither quotes ({','.join(QUOTE_COLUMNS)}) nor trades "
                f"({','.join(TRADE_COLUMNS)}), or both without a kind column",
                ",".join(names),
            )
        ]
    )
