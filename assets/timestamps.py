"""Timestamps as the warehouse stores and compares them: naive UTC.

The warehouse tables hold naive UTC timestamps; partition windows and configured time
zones hand us aware ones. These two functions are the one conversion both the
execution-quality and the reports assets use."""

from __future__ import annotations

from typing import Any

import pandas as pd

from assets.resources import sql_string


def naive_utc(stamp: Any) -> pd.Timestamp:
    """`stamp` as a naive UTC timestamp (an aware one is converted, a naive one kept)."""
    value = pd.Timestamp(stamp)
    return value.tz_convert("UTC").tz_localize(None) if value.tzinfo is not None else value


def timestamp_literal(stamp: pd.Timestamp) -> str:
    """An ISO-8601 literal, which DuckDB and QuestDB both compare with a timestamp."""
    return sql_string(naive_utc(stamp).isoformat(timespec="microseconds"))
