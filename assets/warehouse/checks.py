"""Checks of each shipped table; `ship_journal` runs them in its step."""

from typing import Any

import dagster as dg
import pandas as pd

from assets.checks import (
    CheckOutcome,
    TableCheck,
    monotonic_ts_check,
    non_negative_check,
    unique_keys_check,
)
from assets.metadata import markdown_preview
from assets.resources import JournalSource, Warehouse, sql_string
from assets.warehouse.projections import (
    FILLS_PROJECTION,
    ORDERS_PROJECTION,
    PROJECTIONS,
    QUOTES_PROJECTION,
    TRADES_PROJECTION,
    Projection,
)
from assets.warehouse.tables import SHIP_LOG

RECONCILED_BATCHES = 100


def shipped_ranges_gaps(ranges: pd.DataFrame) -> list[tuple[int, int]]:
    """Journal seq ranges (first, last) no shipped batch covered, below the cursor.

    Batches cover (first_seq .. last_seq); the same range twice is a harmless
    re-ship (QuestDB after a crash), a hole between two batches is not.
    """
    gaps: list[tuple[int, int]] = []
    expected = 1
    for first, last in sorted(zip(ranges["first_seq"], ranges["last_seq"], strict=True)):
        if first > expected:
            gaps.append((expected, int(first) - 1))
        expected = max(expected, int(last) + 1)
    return gaps


def no_seq_gaps_check(projection: Projection) -> TableCheck:
    table = projection.table
    description = (
        "The shipped batches cover the journal from seq 1 to the cursor without holes, "
        f"and over the last {RECONCILED_BATCHES} batches the table holds exactly as many "
        "rows as the journal has events of its types."
    )

    def _check(warehouse: Warehouse, journal: JournalSource | None) -> CheckOutcome:
        assert journal is not None, "the seq reconciliation reads the journal"
        warehouse.ensure_schema([table, SHIP_LOG])
        ranges = warehouse.query(
            f"SELECT DISTINCT first_seq, last_seq FROM {SHIP_LOG.name} "
            f"WHERE table_name = {sql_string(table.name)}"
        )
        cursor = int(ranges["last_seq"].max()) if len(ranges) else 0
        gaps = shipped_ranges_gaps(ranges)
        # Reconcile the newest batches only: both counts are then bounded seq-range
        # scans, not a pass over the whole journal after every run.
        recent = ranges.nlargest(RECONCILED_BATCHES, "last_seq")
        since = int(recent["first_seq"].min()) - 1 if len(recent) else 0
        in_range = f"FROM {table.name} WHERE seq > {since} AND seq <= {cursor}"
        # A table with several rows per event holds one distinct seq per event.
        rows = warehouse.query(
            f"SELECT count(*) AS n {in_range}"
            if projection.one_row_per_event
            else f"SELECT count(*) AS n FROM (SELECT DISTINCT seq {in_range})"
        )
        stored = int(rows["n"].iloc[0])
        expected = (
            journal.count(projection.event_types, after_seq=since, upto_seq=cursor) if cursor else 0
        )
        passed = not gaps and stored == expected
        metadata: dict[str, Any] = {
            "shipped_through_seq": cursor,
            "reconciled_seq_range": f"{since + 1} .. {cursor}",
            "rows_in_table": stored,
            "events_in_journal": expected,
            "gaps": len(gaps),
        }
        if gaps:
            metadata["first_gaps"] = markdown_preview(
                pd.DataFrame(gaps[:10], columns=["from_seq", "to_seq"]), rows=10
            )
        empty = passed and not stored and not warehouse.row_count(table)
        if empty and not cursor:
            outcome = "no rows yet: nothing shipped"
        elif empty:
            outcome = f"no rows yet: the journal has no {table.name} events through seq {cursor}"
        elif passed:
            outcome = f"seq 1..{cursor} shipped without gaps"
        elif gaps:
            outcome = f"{len(gaps)} gap(s) in the shipped seq ranges"
        else:
            outcome = (
                f"{stored} rows but the journal has {expected} events in seq {since + 1}..{cursor}"
            )
        return CheckOutcome(passed, outcome, dg.AssetCheckSeverity.ERROR, metadata)

    # Not `table=`: an empty table is a failure here when the journal has its events.
    return TableCheck(table.name, f"{table.name}_no_seq_gaps", description, _check)


def _checks() -> list[TableCheck]:
    orders, fills = ORDERS_PROJECTION.table, FILLS_PROJECTION.table
    quotes, trades = QUOTES_PROJECTION.table, TRADES_PROJECTION.table
    return [
        *(unique_keys_check(p.table.name, p.table, p.table.keys) for p in PROJECTIONS),
        *(no_seq_gaps_check(p) for p in PROJECTIONS),
        unique_keys_check(fills.name, fills, ("fill_id",), property_name="unique_fill_ids"),
        monotonic_ts_check(quotes.name, quotes, ("symbol",), "seq"),
        monotonic_ts_check(trades.name, trades, ("symbol",), "seq"),
        non_negative_check(quotes.name, quotes, ("bid", "ask", "bid_size", "ask_size")),
        non_negative_check(trades.name, trades, ("price", "size")),
        non_negative_check(fills.name, fills, ("quantity", "price")),
        non_negative_check(
            orders.name, orders, ("quantity", "limit_price", "reference_price", "fill_price")
        ),
    ]


WAREHOUSE_CHECKS = _checks()
