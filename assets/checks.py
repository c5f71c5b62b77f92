"""Asset checks shared by the warehouse and sink tables: cheap invariants in SQL.

Each check runs one portable query through the `Warehouse` resource and
reports the offending rows (a few) as metadata. Named `<asset>_<property>`.

A `TableCheck` is a check spec and its evaluation. The asset that writes the
table declares the specs (`check_specs`) and evaluates the selected checks in
its own step, right after writing: with the multiprocess executor every
separate check would be a process of its own (Python and Dagster start-up,
seconds each), which made a QuestDB shipping run take minutes.

The checks run after every shipping run (every minute by default), so they
look at the newest day of data (by the designated timestamp), where new rows
land, rather than scanning a table that only grows. Every row passes through
that window, and a duplicate of a row has the same timestamp as the row.
"""

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from assets.metadata import markdown_preview
from assets.resources import JournalSource, TableSpec, Warehouse, sql_string

_SAMPLE = 10
SENSOR_TAG = "dagster/sensor_name"  # Dagster sets it on every run a sensor requests
# What a check of an empty table reports: nothing was checked, which is not a pass
# over data (a fresh install, or a table its sources never fed).
NO_ROWS_YET = "no rows yet: nothing to check"
WINDOW = pd.Timedelta(days=1)


Evaluate = Callable[[Warehouse, JournalSource | None], "CheckOutcome"]


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    description: str
    severity: dg.AssetCheckSeverity
    metadata: dict[str, Any]


@dataclass(frozen=True)
class TableCheck:
    """One asset check, evaluated in the step of the asset it checks."""

    asset: str
    name: str
    description: str
    evaluate: Evaluate
    # The table the check reads: while it holds no rows the check says so instead
    # of passing as if it had looked at something.
    table: TableSpec | None = None

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=self.asset, description=self.description)

    def result(self, warehouse: Warehouse, journal: JournalSource | None) -> dg.AssetCheckResult:
        outcome = self._empty_outcome(warehouse) or self.evaluate(warehouse, journal)
        return dg.AssetCheckResult(
            asset_key=self.asset,
            check_name=self.name,
            passed=outcome.passed,
            severity=outcome.severity,
            description=outcome.description,
            metadata=outcome.metadata,
        )

    def _empty_outcome(self, warehouse: Warehouse) -> CheckOutcome | None:
        if self.table is None:
            return None
        warehouse.ensure_schema([self.table])
        if warehouse.row_count(self.table):
            return None
        return CheckOutcome(
            True,
            NO_ROWS_YET,
            dg.AssetCheckSeverity.WARN,
            {"checked": dg.MetadataValue.text(NO_ROWS_YET), "rows_in_table": 0},
        )


def run_selected(
    context: dg.AssetExecutionContext,
    checks: Iterable[TableCheck],
    warehouse: Warehouse,
    journal: JournalSource | None = None,
    *,
    unchanged: Collection[str] = (),
) -> Iterator[dg.AssetCheckResult]:
    """The results of the checks this run selected, in declaration order, except
    those of `unchanged` tables (selected, but the run wrote nothing to them and
    did not materialise them: their last results still stand)."""
    selected = context.selected_asset_check_keys
    for check in checks:
        if check.asset in unchanged:
            continue
        if dg.AssetCheckKey(dg.AssetKey(check.asset), check.name) in selected:
            yield check.result(warehouse, journal)


def requested_by_sensor(context: dg.AssetExecutionContext) -> bool:
    """Whether a sensor asked for this run. Such a run materialises only the tables
    it wrote rows to, so that an hour of quiet adds no empty materialisations that
    would hide how stale a table really is; a run a person asked for materialises
    everything it was asked for, rows or not."""
    return SENSOR_TAG in context.run.tags


def recent_rows(warehouse: Warehouse, table: TableSpec) -> tuple[str, str]:
    """A WHERE condition for the table's newest day of rows, and a description."""
    newest = warehouse.query(f"SELECT max({table.timestamp}) AS newest FROM {table.name}")
    high = newest["newest"].iloc[0] if len(newest) else None
    if high is None or pd.isna(high):
        return "1 = 1", NO_ROWS_YET
    since = (pd.Timestamp(high) - WINDOW).isoformat()
    # An ISO-8601 literal compares with a timestamp column in DuckDB and QuestDB alike.
    return f"{table.timestamp} >= {sql_string(since)}", f"rows since {since}"


def _result(
    passed: bool,
    description: str,
    offenders: pd.DataFrame,
    severity: dg.AssetCheckSeverity,
    scope: str,
    **metadata: Any,
) -> CheckOutcome:
    meta: dict[str, Any] = {"checked": dg.MetadataValue.text(scope), **metadata}
    if not passed:
        meta["offending_rows"] = markdown_preview(offenders, rows=_SAMPLE)
    return CheckOutcome(passed, description, severity, meta)


def unique_keys_check(
    asset: str, table: TableSpec, keys: Sequence[str], property_name: str = "unique_keys"
) -> TableCheck:
    columns = ", ".join(keys)

    name = f"{asset}_{property_name}"
    description = f"No two rows of {table.name} share ({columns}) (newest day of data)."

    def _check(warehouse: Warehouse, journal: JournalSource | None) -> CheckOutcome:
        warehouse.ensure_schema([table])
        where, scope = recent_rows(warehouse, table)
        duplicates = warehouse.query(
            f"SELECT * FROM (SELECT {columns}, count(*) AS copies FROM {table.name} "
            f"WHERE {where} GROUP BY {columns}) WHERE copies > 1 "
            f"ORDER BY copies DESC LIMIT {_SAMPLE}"
        )
        return _result(
            duplicates.empty,
            f"({columns}) unique" if duplicates.empty else f"duplicate ({columns}) found",
            duplicates,
            dg.AssetCheckSeverity.ERROR,
            scope,
            duplicated_keys_sampled=len(duplicates),
        )

    return TableCheck(asset, name, description, _check, table)


def monotonic_ts_check(
    asset: str, table: TableSpec, partition_by: Sequence[str], order_by: str
) -> TableCheck:
    partition = ", ".join(partition_by)
    ts = table.timestamp

    name = f"{asset}_monotonic_ts"
    description = (
        f"Within each ({partition}), {ts} never goes backwards in {order_by} order "
        "(newest day of data)."
    )

    def _check(warehouse: Warehouse, journal: JournalSource | None) -> CheckOutcome:
        warehouse.ensure_schema([table])
        where, scope = recent_rows(warehouse, table)
        backwards = warehouse.query(
            f"SELECT {partition}, {order_by}, {ts}, previous_ts FROM ("
            f"SELECT {partition}, {order_by}, {ts}, lag({ts}) OVER "
            f"(PARTITION BY {partition} ORDER BY {order_by}) AS previous_ts "
            f"FROM {table.name} WHERE {where}) WHERE {ts} < previous_ts LIMIT {_SAMPLE}"
        )
        return _result(
            backwards.empty,
            "timestamps monotonic" if backwards.empty else f"{ts} goes backwards",
            backwards,
            # Late prints happen on real feeds: worth a look, not a failed run.
            dg.AssetCheckSeverity.WARN,
            scope,
            backwards_sampled=len(backwards),
        )

    return TableCheck(asset, name, description, _check, table)


def non_negative_check(asset: str, table: TableSpec, columns: Sequence[str]) -> TableCheck:
    condition = " OR ".join(f"{c} < 0" for c in columns)

    name = f"{asset}_non_negative_prices_sizes"
    description = f"{', '.join(columns)} are never negative (newest day of data)."

    def _check(warehouse: Warehouse, journal: JournalSource | None) -> CheckOutcome:
        warehouse.ensure_schema([table])
        where, scope = recent_rows(warehouse, table)
        negative = warehouse.query(
            f"SELECT * FROM {table.name} WHERE {where} AND ({condition}) LIMIT {_SAMPLE}"
        )
        return _result(
            negative.empty,
            "no negative values" if negative.empty else "negative prices or sizes",
            negative,
            dg.AssetCheckSeverity.ERROR,
            scope,
            negative_rows_sampled=len(negative),
        )

    return TableCheck(asset, name, description, _check, table)
