"""Replay files of ticks: quotes or trades as CSV or Parquet, dropped in the tick inbox.

The layout is recognised by the columns (extra columns are ignored):

quotes  ts, symbol, bid, ask, bid_size, ask_size
trades  ts, symbol, price, size

ts is an ISO-8601 time (naive means UTC) or integer epoch nanoseconds.
Validation is column-wise; a row that fails is quarantined with its line (CSV,
header = line 1) or row (Parquet, from 1) and the first reason found:
BAD_TIMESTAMP, MISSING_SYMBOL, BAD_NUMBER, BAD_SIZE, NEGATIVE_VALUE,
MALFORMED_ROW (wrong number of CSV fields). A file that cannot be read at
all is quarantined whole (EMPTY_FILE, BINARY_FILE, NOT_UTF8, UNREADABLE,
UNKNOWN_LAYOUT, UNSUPPORTED_FORMAT).
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet

from assets.sinks.files import InboxFile, ParsedFile
from assets.sinks.tables import REPLAY_QUOTES, REPLAY_TRADES
from assets.sinks.text import text_or_refusal
from orchestration.resources import TableSpec

SUFFIXES: Final = (".csv", ".parquet")

_LAYOUTS: Final[dict[str, tuple[TableSpec, tuple[str, ...], tuple[str, ...]]]] = {
    # table, price columns, size columns
    "quotes": (REPLAY_QUOTES, ("bid", "ask"), ("bid_size", "ask_size")),
    "trades": (REPLAY_TRADES, ("price",), ("size",)),
}


def parse_tick_file(file: InboxFile) -> ParsedFile:
    data = file.read()
    suffix = file.path.suffix.lower()
    parsed = ParsedFile()
    if suffix == ".parquet":
        frame, line_nos = _read_parquet(data, parsed)
    elif suffix == ".csv":
        text = text_or_refusal(data)
        if isinstance(text, ParsedFile):
            return text
        frame, line_nos = _read_csv(data, parsed)
    else:
        return ParsedFile.refused_whole(
            "UNSUPPORTED_FORMAT", f"tick files must end in {', '.join(SUFFIXES)}", data
        )
    if frame is None:
        return parsed
    layout = _layout(frame.columns)
    if layout is None:
        parsed.refuse(
            0,
            "UNKNOWN_LAYOUT",
            f"columns {list(frame.columns)} are neither quotes "
            "(ts,symbol,bid,ask,bid_size,ask_size) nor trades (ts,symbol,price,size)",
            ",".join(map(str, frame.columns)),
        )
        return parsed
    table, prices, sizes = _LAYOUTS[layout]
    parsed.rows[table.name] = _validated(file, frame, line_nos, prices, sizes, parsed)
    return parsed


def _read_parquet(data: bytes, parsed: ParsedFile) -> tuple[pd.DataFrame | None, np.ndarray]:
    try:
        frame = pa_parquet.read_table(io.BytesIO(data)).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        parsed.refuse(0, "UNREADABLE", f"not a readable Parquet file: {exc}", repr(data[:200]))
        return None, np.empty(0, dtype=np.int64)
    return frame, np.arange(1, len(frame) + 1, dtype=np.int64)


def _read_csv(data: bytes, parsed: ParsedFile) -> tuple[pd.DataFrame | None, np.ndarray]:
    invalid: list[int] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        invalid.append(row.number)
        parsed.refuse(
            row.number,
            "MALFORMED_ROW",
            f"{row.actual_columns} fields where the header has {row.expected_columns}",
            row.text,
        )
        return "skip"

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            # One thread: row numbers are only known when parsing in order.
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(
                invalid_row_handler=on_invalid_row, ignore_empty_lines=False
            ),
        )
    except (pa.ArrowException, ValueError) as exc:
        parsed.refuse(0, "UNREADABLE", f"not a readable CSV file: {exc}", repr(data[:200]))
        return None, np.empty(0, dtype=np.int64)
    # Physical line of each parsed row: header is line 1, skipped rows keep their line.
    skipped = set(invalid)
    lines = [n for n in range(2, 2 + table.num_rows + len(invalid)) if n not in skipped]
    return table.to_pandas(), np.array(lines, dtype=np.int64)


def _layout(columns: pd.Index) -> str | None:
    names = set(columns)
    matches = [
        kind
        for kind, (table, _, _) in _LAYOUTS.items()
        if set(table.column_names) - {"file_sha256", "line_no", "received_at"} <= names
    ]
    return matches[0] if len(matches) == 1 else None


def _validated(
    file: InboxFile,
    frame: pd.DataFrame,
    line_nos: np.ndarray,
    prices: tuple[str, ...],
    sizes: tuple[str, ...],
    parsed: ParsedFile,
) -> pd.DataFrame:
    columns = ["ts", "symbol", *prices, *sizes]
    frame = frame[columns].reset_index(drop=True)
    blank = frame.isna().all(axis=1).to_numpy()  # an empty line is not a record
    reason = np.full(len(frame), None, dtype=object)

    def flag(mask: np.ndarray, code: str, detail: str) -> None:
        fresh = mask & (reason == None) & ~blank  # noqa: E711 - element-wise on objects
        reason[fresh] = f"{code}|{detail}"

    ts = _timestamps(frame["ts"])
    flag(ts.isna().to_numpy(), "BAD_TIMESTAMP", "ts is not ISO-8601 or epoch nanoseconds")
    symbol = frame["symbol"].astype("string").str.strip()
    flag((symbol.isna() | (symbol == "")).to_numpy(dtype=bool), "MISSING_SYMBOL", "no symbol")
    numbers: dict[str, pd.Series] = {}
    for name in (*prices, *sizes):
        values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        flag(~np.isfinite(values.to_numpy()), "BAD_NUMBER", f"{name} is not a finite number")
        numbers[name] = values
    for name in sizes:
        size = numbers[name].to_numpy()
        flag(np.isfinite(size) & (size % 1 != 0), "BAD_SIZE", f"{name} is not whole")
    for name in (*prices, *sizes):
        flag(numbers[name].to_numpy() < 0, "NEGATIVE_VALUE", f"{name} is negative")

    bad = np.flatnonzero(reason != None)  # noqa: E711
    for index in bad:
        code, _, detail = str(reason[index]).partition("|")
        record = ",".join("" if pd.isna(v) else str(v) for v in frame.iloc[index])
        parsed.refuse(int(line_nos[index]), code, detail, record)
    good = (reason == None) & ~blank  # noqa: E711
    out = pd.DataFrame(
        {
            "ts": ts[good].to_numpy(dtype="datetime64[ns]"),
            "symbol": symbol[good].astype(object).to_numpy(),
            **{name: numbers[name][good].to_numpy() for name in prices},
            **{name: numbers[name][good].to_numpy().astype(np.int64) for name in sizes},
            "file_sha256": file.sha256,
            "line_no": line_nos[good],
        }
    )
    out["received_at"] = pd.Series([file.received_at] * len(out), dtype="datetime64[ns]")
    return out


def _timestamps(values: pd.Series) -> pd.Series:
    """UTC naive datetime64[ns]; NaT where a value is not a time."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        utc: pd.Series = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return utc.astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.astype("datetime64[ns]")
    if pd.api.types.is_integer_dtype(values.dtype):
        return pd.to_datetime(values, unit="ns", errors="coerce")
    text = values.astype("string").str.strip()
    digits = text.str.fullmatch(r"\d{1,19}").fillna(False).to_numpy(dtype=bool)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if digits.any():
        numbers = pd.to_numeric(text[digits], errors="coerce")
        result[digits] = pd.to_datetime(numbers, unit="ns", errors="coerce")
    rest = ~digits & text.notna().to_numpy(dtype=bool)
    if rest.any():
        parsed = pd.to_datetime(text[rest], utc=True, format="ISO8601", errors="coerce")
        result[rest] = parsed.dt.tz_localize(None)
    return result
