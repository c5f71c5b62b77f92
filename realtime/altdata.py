"""The alternative-data record, declared once: `POST /alt` validates against it and
the `alt_signals` asset loads (or quarantines) inbox files against it.

One timestamped numeric signal about one symbol, e.g. a news-sentiment score::

    {"ts": "2026-11-26T14:30:00Z", "symbol": "AAPL", "signal": "news_sentiment",
     "value": 0.42, "source": "vendor-x"}
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

import msgspec


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
