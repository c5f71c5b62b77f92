"""Metadata helpers: what a person sees about a table in the Dagster UI."""

from __future__ import annotations

from typing import Any, Final

import dagster as dg
import pandas as pd

from assets.resources import ColumnType, TableSpec

_UI_TYPES = {
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.SYMBOL: "symbol",
    ColumnType.VARCHAR: "string",
    ColumnType.LONG: "int64",
    ColumnType.DOUBLE: "float64",
}


def table_definition_metadata(table: TableSpec) -> dict[str, Any]:
    """Static metadata of a table asset: its columns and keys."""
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn(name=c.name, type=_UI_TYPES[c.type], description=c.description)
                for c in table.columns
            ]
        ),
        "table": dg.MetadataValue.text(table.name),
        "upsert_keys": dg.MetadataValue.text(", ".join(table.upsert_keys)),
    }


def markdown_preview(frame: pd.DataFrame, rows: int = 5) -> dg.MetadataValue:
    if frame.empty:
        return dg.MetadataValue.md("_no rows_")
    return dg.MetadataValue.md(frame.tail(rows).to_markdown(index=False))


def utc_range(low: pd.Timestamp, high: pd.Timestamp) -> str:
    """A time range that says its zone: the warehouse's timestamps are naive UTC, so
    both ends are shown as ISO-8601 with +00:00 (never as a bare local-looking time)."""
    return f"{_as_utc(low).isoformat()} .. {_as_utc(high).isoformat()} (UTC)"


def _as_utc(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def time_range(frame: pd.DataFrame, column: str = "ts") -> str:
    if frame.empty:
        return "-"
    return utc_range(frame[column].min(), frame[column].max())


_BAR_CHARS: Final = 30


def bar_chart(counts: pd.DataFrame, label: str, value: str, *, empty: str = "_no rows_") -> str:
    """A markdown table with a bar per row, scaled to the largest count (the UI
    renders markdown, and a bar reads faster than a column of numbers)."""
    if counts.empty:
        return empty
    largest = max(int(counts[value].max()), 1)
    lines = [f"| {label} | {value} | |", "| --- | ---: | --- |"]
    for name, count in zip(counts[label], counts[value], strict=True):
        bar = "█" * max(1, round(_BAR_CHARS * int(count) / largest))
        lines.append(f"| {name} | {int(count)} | {bar} |")
    return "\n".join(lines)
