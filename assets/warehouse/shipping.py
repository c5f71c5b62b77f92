"""Shipping journal events into the warehouse tables, incrementally and exactly once.

The journal is read once per run for all the tables being shipped: each batch
of events is verified and decoded once, and every table takes the events of
its types past its own cursor.

A table's cursor is the last journal seq its ship_log rows cover
(`shipped_through`); it lives in the warehouse, next to the rows.
Each batch writes, per table, its rows and then its ship_log row, all in one
`write_frames` call:

* DuckDB commits the whole batch in one transaction: a run that dies
  mid-batch leaves none of it, and the retry ships the batch once.
* QuestDB commits table by table, in that order; a run that dies between a
  table's rows and its ship_log row leaves rows without a cursor, the retry
  sends them again and DEDUP UPSERT KEYS keeps one copy.

Either way a cursor never runs ahead of the rows it covers, and rows written
twice replace themselves, so every event lands exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import dagster as dg
import pandas as pd

from assets.metadata import markdown_preview, time_range, utc_range
from assets.resources import JournalSource, SqlDialect, TableSpec, Warehouse, sql_string
from assets.warehouse.projections import Projection
from assets.warehouse.tables import SHIP_LOG


class ShippingError(RuntimeError):
    """The warehouse and the journal disagree in a way shipping must not paper over."""


@dataclass
class ShipReport:
    """What one run shipped into one table, for the asset's metadata."""

    table: TableSpec
    cursor_before: int
    journal_head: int
    cursor_after: int
    rows: int = 0
    batches: int = 0
    min_ts: pd.Timestamp | None = None
    max_ts: pd.Timestamp | None = None
    tail: pd.DataFrame = field(default_factory=pd.DataFrame)
    elapsed_s: float = 0.0
    lag_events: int = 0
    table_rows: int = 0

    def add(self, last_seq: int, frame: pd.DataFrame) -> None:
        self.batches += 1
        self.cursor_after = last_seq
        if frame.empty:
            return
        self.rows += len(frame)
        low, high = frame["ts"].min(), frame["ts"].max()
        self.min_ts = low if self.min_ts is None else min(self.min_ts, low)
        self.max_ts = high if self.max_ts is None else max(self.max_ts, high)
        self.tail = frame.tail(5)

    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "rows_written": dg.MetadataValue.int(self.rows),
            "batches": dg.MetadataValue.int(self.batches),
            "seq_range": dg.MetadataValue.text(
                f"{self.cursor_before + 1} .. {self.cursor_after}"
                if self.cursor_after > self.cursor_before
                else "nothing new"
            ),
            "shipped_through_seq": dg.MetadataValue.int(self.cursor_after),
            "journal_head_seq": dg.MetadataValue.int(self.journal_head),
            "time_range": dg.MetadataValue.text(
                utc_range(self.min_ts, self.max_ts)
                if self.min_ts is not None and self.max_ts is not None
                else "-"
            ),
            # Events of this table's types that reached the journal after this run read it.
            "lag_events": dg.MetadataValue.int(self.lag_events),
            "rows_per_second": dg.MetadataValue.float(
                round(self.rows / self.elapsed_s, 1) if self.elapsed_s > 0 else 0.0
            ),
            "dagster/row_count": dg.MetadataValue.int(self.table_rows),
            "preview": markdown_preview(self.tail),
        }
        if self.max_ts is not None:
            # How old the newest shipped event was when it landed.
            age = time.time() - self.max_ts.tz_localize("UTC").timestamp()
            metadata["lag_seconds"] = dg.MetadataValue.float(round(age, 3))
        return metadata


def ship(
    projections: Sequence[Projection],
    journal: JournalSource,
    warehouse: Warehouse,
    *,
    run_id: str,
    log: Any = None,
) -> dict[str, ShipReport]:
    """Ship every event past each table's cursor; one report per table."""
    started = time.perf_counter()
    warehouse.ensure_schema([*(p.table for p in projections), SHIP_LOG])
    head = journal.head_seq()
    cursors = {p.table.name: shipped_through(warehouse, p.table) for p in projections}
    ahead = {name: cursor for name, cursor in cursors.items() if cursor > head}
    if ahead:
        raise ShippingError(
            f"tables {ahead} were shipped past journal seq {head}, where the journal at "
            f"{journal.path} ends: it was replaced or truncated. Refusing to ship so that no "
            "event is skipped; point TRADEPIPE_JOURNAL at the right file, or clear those "
            "tables and their ship_log rows."
        )
    reports = {
        p.table.name: ShipReport(
            table=p.table,
            cursor_before=cursors[p.table.name],
            journal_head=head,
            cursor_after=cursors[p.table.name],
        )
        for p in projections
    }
    types = frozenset().union(*(p.event_types for p in projections))
    for batch in journal.batches(types, after_seq=min(cursors.values()), upto_seq=head):
        frames: list[tuple[TableSpec, pd.DataFrame]] = []
        shipped: list[tuple[Projection, pd.DataFrame]] = []
        for projection in projections:
            name = projection.table.name
            cursor = cursors[name]
            if batch.last_seq <= cursor:
                continue
            frame = projection.to_frame(batch.select(projection.event_types, after_seq=cursor))
            first_seq = max(batch.after_seq, cursor) + 1
            frames += [
                (projection.table, frame),
                (
                    SHIP_LOG,
                    ship_log_row(projection.table, first_seq, batch.last_seq, frame, run_id),
                ),
            ]
            shipped.append((projection, frame))
        warehouse.write_frames(frames)
        for projection, frame in shipped:
            cursors[projection.table.name] = batch.last_seq
            reports[projection.table.name].add(batch.last_seq, frame)
            if log is not None and len(frame):
                log.info(
                    f"{projection.table.name}: shipped {len(frame)} rows up to journal seq "
                    f"{batch.last_seq}, {time_range(frame)}"
                )
    elapsed = time.perf_counter() - started
    new_head = journal.head_seq()
    for projection in projections:
        report = reports[projection.table.name]
        report.elapsed_s = elapsed
        report.lag_events = journal.count(projection.event_types, after_seq=head, upto_seq=new_head)
        report.table_rows = warehouse.row_count(projection.table)
    return reports


def shipped_through(warehouse: Warehouse, table: TableSpec) -> int:
    """The shipping cursor: the last journal seq shipped into `table` (0 if none).

    It lives in the warehouse (the ship_log), written after (QuestDB) or with
    (DuckDB) the rows it covers, so it never runs ahead of them.
    """
    frame = warehouse.query(
        f"SELECT max(last_seq) AS last_seq FROM {SHIP_LOG.name} "
        f"WHERE table_name = {sql_string(table.name)}"
    )
    value = frame.iat[0, 0] if len(frame) else None
    return 0 if value is None or pd.isna(value) else int(cast(int, value))


def events_in_table(warehouse: Warehouse, projection: Projection) -> int:
    """How many journal events the table holds rows of: its row count, or its distinct
    seqs where one event is several rows (`Projection.rows`)."""
    if projection.one_row_per_event:
        return warehouse.row_count(projection.table)
    frame = warehouse.query(distinct_seqs_sql(projection.table, warehouse.dialect))
    value = frame.iat[0, 0] if len(frame) else None
    return 0 if value is None or pd.isna(value) else int(cast(int, value))


def distinct_seqs_sql(table: TableSpec, dialect: SqlDialect) -> str:
    """One row, `n`: how many distinct journal seqs the table holds. QuestDB has an
    aggregate for it (`count_distinct`, for long columns among others: its Aggregate
    functions page); DuckDB counts a DISTINCT subquery."""
    if dialect is SqlDialect.QUESTDB:
        return f"SELECT count_distinct(seq) AS n FROM {table.name}"
    return f"SELECT count(*) AS n FROM (SELECT DISTINCT seq FROM {table.name})"


def ship_log_row(
    table: TableSpec, first_seq: int, last_seq: int, frame: pd.DataFrame, run_id: str
) -> pd.DataFrame:
    empty = frame.empty
    return pd.DataFrame(
        {
            "ts": [pd.Timestamp.now("UTC").tz_localize(None)],
            "table_name": [table.name],
            "first_seq": [first_seq],
            "last_seq": [last_seq],
            "row_count": [len(frame)],
            "min_event_ts": pd.Series(
                [pd.NaT if empty else frame["ts"].min()], dtype="datetime64[ns]"
            ),
            "max_event_ts": pd.Series(
                [pd.NaT if empty else frame["ts"].max()], dtype="datetime64[ns]"
            ),
            "run_id": [run_id],
        }
    )


def ship_log_summary(warehouse: Warehouse, journal: JournalSource) -> dict[str, Any]:
    """The ship_log as a person wants it: each table's cursor and lag, the newest batches."""
    warehouse.ensure_schema([SHIP_LOG])
    head = journal.head_seq()
    cursors = warehouse.query(
        f"SELECT table_name, max(last_seq) AS shipped_through_seq, count(*) AS batches, "
        f"sum(row_count) AS rows_shipped, max(ts) AS last_shipped_at FROM {SHIP_LOG.name} "
        "GROUP BY table_name ORDER BY table_name"
    )
    cursors["events_behind_head"] = head - cursors["shipped_through_seq"].astype("int64")
    newest = warehouse.query(
        f"SELECT ts, table_name, first_seq, last_seq, row_count, run_id FROM {SHIP_LOG.name} "
        "ORDER BY ts DESC, table_name LIMIT 10"
    )
    return {
        "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(SHIP_LOG)),
        "journal_head_seq": dg.MetadataValue.int(head),
        "cursors": markdown_preview(cursors, rows=len(cursors) or 1),
        "newest_batches": markdown_preview(newest, rows=10),
        "warehouse": dg.MetadataValue.text(warehouse.location),
    }
