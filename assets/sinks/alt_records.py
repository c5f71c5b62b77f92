"""Alternative data: the parser of alt inbox files.

A record is one timestamped numeric signal about one symbol, e.g. a news
sentiment score, as declared by `realtime.altdata.AltRecord` (which `POST /alt`
validates against too). Files are JSON lines (`.jsonl`, `.ndjson`: one JSON
object per line) or CSV (`.csv`, header `ts,symbol,signal,value[,source]`):

    {"ts": "2026-11-26T14:30:00Z", "symbol": "AAPL", "signal": "news_sentiment",
     "value": 0.42, "source": "vendor-x"}

ts      RFC 3339 date-time with a UTC offset (naive times are refused: ambiguous)
symbol  upper-case ticker, 1-16 of A-Z 0-9 . _ -
signal  snake_case name, 1-63 chars
value   a finite number
source  optional producer name, 1-64 chars

Every line ends up somewhere: loaded, or quarantined with a reason code
(MALFORMED_JSON, SCHEMA_VIOLATION, NON_FINITE_VALUE, MALFORMED_ROW,
DUPLICATE_KEY), or, if the file cannot be read as such at all, the whole
file is quarantined (EMPTY_FILE, BINARY_FILE, NOT_UTF8, MISSING_COLUMNS,
UNKNOWN_COLUMNS, UNSUPPORTED_FORMAT).
"""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime
from typing import Final

import msgspec
import pandas as pd

from assets.sinks.files import InboxFile, ParsedFile
from assets.sinks.tables import ALT_SIGNALS
from assets.sinks.text import text_or_refusal
from realtime.altdata import AltRecord

JSON_SUFFIXES: Final = (".jsonl", ".ndjson")
CSV_SUFFIXES: Final = (".csv",)
REQUIRED_COLUMNS: Final = ("ts", "symbol", "signal", "value")
OPTIONAL_COLUMNS: Final = ("source",)


_json_decoder: Final = msgspec.json.Decoder(AltRecord)


def parse_alt_file(file: InboxFile) -> ParsedFile:
    data = file.read()
    suffix = file.path.suffix.lower()
    if suffix not in JSON_SUFFIXES + CSV_SUFFIXES:
        return ParsedFile.refused_whole(
            "UNSUPPORTED_FORMAT",
            f"alt files must end in {', '.join(JSON_SUFFIXES + CSV_SUFFIXES)}",
            data,
        )
    text = text_or_refusal(data)
    if isinstance(text, ParsedFile):
        return text
    parsed = ParsedFile()
    lines = _json_lines(text, parsed) if suffix in JSON_SUFFIXES else _csv_rows(text, parsed)
    if lines is None:
        return parsed
    records = _drop_superseded(lines, parsed)
    parsed.rows[ALT_SIGNALS.name] = _frame(file, records)
    return parsed


def _json_lines(text: str, parsed: ParsedFile) -> list[tuple[int, AltRecord]]:
    records: list[tuple[int, AltRecord]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = _json_decoder.decode(line)
        except msgspec.ValidationError as exc:
            parsed.refuse(line_no, "SCHEMA_VIOLATION", str(exc), line)
            continue
        except msgspec.DecodeError as exc:
            parsed.refuse(line_no, "MALFORMED_JSON", str(exc), line)
            continue
        if _finite_or_refuse(record, line_no, line, parsed):
            records.append((line_no, record))
    return records


def _csv_rows(text: str, parsed: ParsedFile) -> list[tuple[int, AltRecord]] | None:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or ()]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        code = "MISSING_COLUMNS" if missing else "UNKNOWN_COLUMNS"
        detail = f"missing {missing}" if missing else f"unknown {unknown}"
        parsed.refuse(0, code, f"CSV header {header}: {detail}", text.partition("\n")[0])
        return None
    reader.fieldnames = header
    lines = text.splitlines()
    records: list[tuple[int, AltRecord]] = []
    for row in reader:
        line_no = reader.line_num
        raw = lines[line_no - 1] if line_no <= len(lines) else ""
        if None in row or any(v is None for v in row.values()):
            parsed.refuse(line_no, "MALFORMED_ROW", "wrong number of fields", raw)
            continue
        values = {k: v.strip() for k, v in row.items() if k is not None}
        if not values.get("source"):
            values.pop("source", None)
        try:
            record = msgspec.convert(values, AltRecord, strict=False)
        except msgspec.ValidationError as exc:
            parsed.refuse(line_no, "SCHEMA_VIOLATION", str(exc), raw)
            continue
        if _finite_or_refuse(record, line_no, raw, parsed):
            records.append((line_no, record))
    return records


def _finite_or_refuse(record: AltRecord, line_no: int, raw: str, parsed: ParsedFile) -> bool:
    if math.isfinite(record.value):
        return True
    parsed.refuse(line_no, "NON_FINITE_VALUE", f"value {record.value} is not finite", raw)
    return False


def _drop_superseded(
    records: list[tuple[int, AltRecord]], parsed: ParsedFile
) -> list[tuple[int, AltRecord]]:
    """One value per (ts, symbol, signal): a later line corrects an earlier one, and
    the earlier one is quarantined as superseded rather than vanishing."""
    last: dict[tuple[datetime, str, str], int] = {}
    for index, (_, record) in enumerate(records):
        last[(record.ts, record.symbol, record.signal)] = index
    kept: list[tuple[int, AltRecord]] = []
    for index, (line_no, record) in enumerate(records):
        winner = last[(record.ts, record.symbol, record.signal)]
        if winner == index:
            kept.append((line_no, record))
        else:
            parsed.refuse(
                line_no,
                "DUPLICATE_KEY",
                f"superseded by line {records[winner][0]} (same ts, symbol, signal)",
                msgspec.json.encode(record).decode(),
            )
    return kept


def _frame(file: InboxFile, records: list[tuple[int, AltRecord]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.Series(
                [r.ts.astimezone(UTC).replace(tzinfo=None) for _, r in records],
                dtype="datetime64[ns]",
            ),
            "symbol": [r.symbol for _, r in records],
            "signal": [r.signal for _, r in records],
            "value": pd.Series([r.value for _, r in records], dtype="float64"),
            "source": [r.source for _, r in records],
            "file_sha256": file.sha256,
            "line_no": pd.Series([n for n, _ in records], dtype="int64"),
            "received_at": pd.Series([file.received_at] * len(records), dtype="datetime64[ns]"),
        }
    )
