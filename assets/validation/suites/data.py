"""Data pipeline: GE suites over every warehouse table, row counts reconciled against
the journal, how long events wait unshipped, how fresh the market data is, and how
fresh the online features are (suites/features.py). The SQL, per dialect: queries.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from assets.resources import TableSpec
from assets.sinks.tables import SINK_TABLES
from assets.validation import queries
from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform
from assets.validation.results import CheckResult, judged, outcome
from assets.validation.suites.expectations import run_expectations
from assets.validation.suites.features import feature_freshness, instrument_symbols
from assets.warehouse.projections import PROJECTIONS
from assets.warehouse.shipping import events_in_table, shipped_through
from assets.warehouse.tables import QUOTES, SHIP_LOG, WAREHOUSE_TABLES

# The rows a table's suite reads: its newest ones, so a run stays bounded while the
# table grows (every row passes through this window when it is new).
RECENT_ROWS = 50_000
RANGED = frozenset(t.name for t in (*WAREHOUSE_TABLES, *SINK_TABLES))


def expectation_check_name(table: str) -> str:
    return f"data_pipeline_expectations_{table}"


def data_pipeline(
    platform: Platform,
    config: ValidationConfig,
    tables: Sequence[TableSpec],
    docs_dir: Path,
    now: pd.Timestamp,
) -> tuple[list[CheckResult], str | None]:
    """The results, and the data docs' index page (None when GE could not run)."""
    warehouse = platform.warehouse
    warehouse.ensure_schema([*tables, SHIP_LOG])
    frames = {t.name: (t, _recent(platform, t)) for t in tables}
    counts = _row_counts(platform, config)
    lag = _shipping_lag(platform, config, now)
    fresh = _freshness(platform, config, now)
    features = feature_freshness(platform, config, now.value, instrument_symbols())
    platform.close()  # let shipping have the file while GE works
    ge = config["data_pipeline_expectations"]
    outcomes = run_expectations(frames, docs_dir, RANGED)
    results = []
    for table in tables:
        found = outcomes[table.name]
        detail = (
            f"{found.rows} newest rows meet the suite" if found.success else "; ".join(found.failed)
        )
        results.append(
            outcome(
                ge,
                found.success,
                detail,
                name=expectation_check_name(table.name),
                extra={"rows_checked": found.rows, "data_docs_page": found.docs_page},
            )
        )
    index = docs_dir / "index.html"
    return [*results, counts, lag, fresh, features], str(index) if index.exists() else None


def _recent(platform: Platform, table: TableSpec) -> pd.DataFrame:
    warehouse = platform.warehouse
    return warehouse.query(queries.recent_rows(table, RECENT_ROWS, warehouse.dialect))


def _newest(platform: Platform, table: TableSpec) -> pd.Timestamp | None:
    """The table's newest designated timestamp; None when it has no row."""
    warehouse = platform.warehouse
    frame = warehouse.query(queries.newest_timestamp(table, warehouse.dialect))
    value = frame["newest"].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def _row_counts(platform: Platform, config: ValidationConfig) -> CheckResult:
    check = config["data_pipeline_row_counts"]
    mismatched, seen = [], {}
    for p in PROJECTIONS:
        cursor = shipped_through(platform.warehouse, p.table)
        journal = platform.journal.count(p.event_types, upto_seq=cursor) if cursor else 0
        rows = events_in_table(platform.warehouse, p)
        seen[p.table.name] = {"cursor": cursor, "journal_events": journal, "rows": rows}
        if rows != journal:
            mismatched.append(f"{p.table.name}: {rows} rows, {journal} journal events to {cursor}")
    return outcome(
        check,
        not mismatched,
        "; ".join(mismatched) or "every table's rows equal its journal events to its cursor",
        extra={"tables": seen},
    )


def _shipping_lag(platform: Platform, config: ValidationConfig, now: pd.Timestamp) -> CheckResult:
    check = config["data_pipeline_shipping_lag"]
    head = platform.journal.head_seq()
    cursors = {p.table.name: shipped_through(platform.warehouse, p.table) for p in PROJECTIONS}
    behind = min(cursors.values(), default=0)
    if behind >= head:
        return judged(check, 0.0, f"every table shipped to the journal head (seq {head})")
    last = _newest(platform, SHIP_LOG)
    if last is None:
        return outcome(check, False, f"journal head seq {head}, nothing ever shipped")
    waited = max(0.0, (now - last).total_seconds())
    return judged(
        check,
        waited,
        f"{head - behind} events behind the journal head (seq {head}); last shipped "
        f"{last.isoformat()}",
        extra={"cursors": cursors, "journal_head": head},
    )


def _freshness(platform: Platform, config: ValidationConfig, now: pd.Timestamp) -> CheckResult:
    check = config["data_pipeline_freshness"]
    newest = _newest(platform, QUOTES)
    if newest is None:
        return outcome(check, False, "no quote in the warehouse yet")
    age = max(0.0, (now - newest).total_seconds())
    return judged(check, age, f"newest quote {newest.isoformat()}")
