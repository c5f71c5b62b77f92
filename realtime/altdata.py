"""Alternative data: the record, declared once, and the ingest of `POST /alt`.

`POST /alt` validates deliveries against `AltRecord` and writes them to the inbox;
the `alt_signals` asset loads (or quarantines) inbox files against the same type.

One timestamped numeric signal about one symbol, e.g. a news-sentiment score::

    {"ts": "2026-11-26T14:30:00Z", "symbol": "AAPL", "signal": "news_sentiment",
     "value": 0.42, "source": "vendor-x"}
"""

from __future__ import annotations

import math
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec

from realtime.json_input import Flaw, NotJson, array_elements, parse_json


class AltRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # A naive time is ambiguous, so an offset is required.
    ts: Annotated[datetime, msgspec.Meta(tz=True)]
    symbol: Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,15}$")]
    signal: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
    value: float
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


def record_problem(raw: Any) -> str | None:
    """Why `raw` (one decoded JSON value) is not a valid AltRecord, or None."""
    try:
        record = msgspec.convert(raw, AltRecord)
    except msgspec.ValidationError as exc:
        return str(exc)
    if not math.isfinite(record.value):
        return "value must be a finite number"
    return None


# --- ingest: POST /alt -----------------------------------------------------------------


class AltBodyRefused(Exception):
    """A delivery refused as a whole (nothing is stored), with its status and stable code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code = status, code


SHOWN_PROBLEMS = 5


def parse_alt_body(data: bytes, *, lines: bool) -> list[Any]:
    """The records of a delivery: a JSON object, a JSON array of objects, or (lines=True)
    JSON lines, each a valid AltRecord.

    All or nothing: one bad record refuses the delivery, so the client learns at once
    and nothing half-delivered reaches the inbox. Records are numbered from 0 (the
    array index, or the index among the non-blank lines). Files dropped in the inbox by
    other means are checked by the `alt_signals` asset, which quarantines bad records."""
    if not data.strip():
        raise AltBodyRefused(400, "MALFORMED_JSON", "the request body is empty")
    records = _decode_lines(data) if lines else _decode_document(data)
    if not records:
        raise AltBodyRefused(422, "INVALID_ALT_RECORD", "no records in the body")
    problems = [
        f"record {n}: {problem}"
        for n, problem in ((n, record_problem(r)) for n, r in enumerate(records))
        if problem is not None
    ]
    if problems:
        shown = "; ".join(problems[:SHOWN_PROBLEMS])
        more = len(problems) - SHOWN_PROBLEMS
        raise AltBodyRefused(
            422,
            "INVALID_ALT_RECORD",
            f"nothing stored: {shown}" + (f"; and {more} more" if more > 0 else ""),
        )
    return records


def _decode_lines(data: bytes) -> list[Any]:
    records = []
    for n, line in enumerate(line for line in data.splitlines() if line.strip()):
        try:
            records.append(parse_json(line))
        except NotJson as exc:
            raise _refusal(n, exc) from None
    return records


def _decode_document(data: bytes) -> list[Any]:
    try:
        decoded = parse_json(data)
    except NotJson as exc:
        raise _refusal(_unreadable_element(data), exc) from None
    return decoded if isinstance(decoded, list) else [decoded]


def _unreadable_element(data: bytes) -> int:
    """Which element of an array body cannot be read (0 for a single object)."""
    for n, element in enumerate(array_elements(data) or ()):
        try:
            parse_json(element)
        except NotJson:
            return n
    return 0


def _refusal(n: int, exc: NotJson) -> AltBodyRefused:
    if exc.flaw is Flaw.SYNTAX:
        return AltBodyRefused(400, "MALFORMED_JSON", f"nothing stored: record {n}: {exc}")
    # Readable as far as the JSON grammar goes, but not as a record: a record's own fault.
    return AltBodyRefused(422, "INVALID_ALT_RECORD", f"nothing stored: record {n}: {exc}")


def write_inbox_file(inbox: Path, stem: str, records: list[Any]) -> Path:
    """Write atomically: the batch pipeline must never pick up a half-written file."""
    inbox.mkdir(parents=True, exist_ok=True)
    final = inbox / f"{stem}.jsonl"
    temporary = inbox / f".{stem}.jsonl.tmp"
    with temporary.open("wb") as fh:
        for record in records:
            fh.write(msgspec.json.encode(record))
            fh.write(b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, final)
    return final
