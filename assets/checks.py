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

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd

from assets.metadata import markdown_preview
from orchestration.resources import JournalSource, TableSpec, Warehouse, sql_string

_SAMPLE = 10
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

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=self.asset, description=self.description)

    def result(self, warehouse: Warehouse, journal: JournalSource | None) -> dg.AssetCheckResult:
        outcome = self.evaluate(warehouse, journal)
        return dg.AssetCheckResult(
            asset_key=self.asset,
            check_name=self.name,
            passed=outcome.passed,
            severity=outcome.severity,
            description=outcome.description,
            metadata=outcome.metadata,
        )


def run_selected(
    context: dg.AssetExecutionContext,
    checks: Iterable[TableCheck],
    warehouse: Warehouse,
    journal: JournalSource | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """The results of the checks this run selected, in declaration order."""
    selected = context.selected_asset_check_keys
    for check in checks:
        if dg.AssetCheckKey(dg.AssetKey(check.asset), check.name) in selected:
            yield check.result(warehouse, journal)


def recent_rows(warehouse: Warehouse, table: TableSpec) -> tuple[str, str]:
    """A WHERE condition for the table's newest day of rows, and a description."""
    newest = warehouse.query(f"SELECT max({table.timestamp}) AS newest FROM {table.name}")
    high = newest["newest"].iloc[0] if len(newest) else None
    if high is None or pd.isna(high):
        return "1 = 1", "empty table"
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

    return TableCheck(asset, name, description, _check)


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

    return TableCheck(asset, name, description, _check)


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

    return TableCheck(asset, name, description, _check)
