"""The `inboxes` group: files dropped in the inboxes, loaded once each.

(Not `sinks`: that word is a keyword of Dagster's asset selection syntax, so
`--select 'group:sinks'` would not parse.) Each asset runs its tables' checks
in its own step, after loading.
"""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from assets.catalogue import WAREHOUSE_POOL
from assets.checks import TableCheck, requested_by_sensor, run_selected
from assets.metadata import table_definition_metadata
from assets.resources import Inbox, Warehouse
from assets.sinks.alt_records import parse_alt_file
from assets.sinks.bookkeeping import BOOKKEEPING_ASSETS
from assets.sinks.checks import SINK_CHECKS
from assets.sinks.files import sink_files
from assets.sinks.tables import ALT_SIGNALS, REPLAY_QUOTES, REPLAY_TRADES
from assets.sinks.tick_files import parse_tick_file

GROUP = "inboxes"
_TICK_TABLES = {t.name: t for t in (REPLAY_QUOTES, REPLAY_TRADES)}


def _checks_of(*tables: str) -> list[TableCheck]:
    return [c for c in SINK_CHECKS if c.asset in tables]


_TICK_CHECKS = _checks_of(*_TICK_TABLES)
_ALT_CHECKS = _checks_of(ALT_SIGNALS.name)
_FILE_NOTE = (
    "Files are loaded once by content hash (processed_files); refused records or files "
    "land in the quarantine table with a reason; loaded files move to done/."
)


@dg.multi_asset(
    name="sink_ticks",
    pool=WAREHOUSE_POOL,
    check_specs=[check.spec for check in _TICK_CHECKS],
    specs=[
        dg.AssetSpec(
            table.name,
            group_name=GROUP,
            skippable=True,  # a file of quotes only adds no trades
            description=f"{table.description}\n\nCSV or Parquet in the tick inbox. {_FILE_NOTE}",
            metadata=table_definition_metadata(table),
        )
        for table in _TICK_TABLES.values()
    ],
)
def sink_ticks(
    context: AssetExecutionContext, warehouse: Warehouse, inbox: Inbox
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    report = sink_files(
        "ticks",
        parse_tick_file,
        _TICK_TABLES,
        inbox,
        warehouse,
        run_id=context.run.run_id,
        log=context.log,
    )
    quiet = requested_by_sensor(context)
    unchanged = {name for name, rows in report.loaded.items() if quiet and rows == 0}
    for table in _TICK_TABLES.values():
        if table.name in unchanged:
            continue
        yield dg.MaterializeResult(
            asset_key=table.name,
            metadata={
                **report.metadata_for(table),
                "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(table)),
                "warehouse": dg.MetadataValue.text(warehouse.location),
            },
        )
    yield from run_selected(context, _TICK_CHECKS, warehouse, unchanged=unchanged)


@dg.asset(
    name=ALT_SIGNALS.name,
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    check_specs=[check.spec for check in _ALT_CHECKS],
    description=(
        f"{ALT_SIGNALS.description}\n\nJSON lines or CSV in the alt inbox, each record "
        f"validated against realtime.altdata.AltRecord. {_FILE_NOTE}"
    ),
    metadata=table_definition_metadata(ALT_SIGNALS),
)
def alt_signals(
    context: AssetExecutionContext, warehouse: Warehouse, inbox: Inbox
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    report = sink_files(
        "alt",
        parse_alt_file,
        {ALT_SIGNALS.name: ALT_SIGNALS},
        inbox,
        warehouse,
        run_id=context.run.run_id,
        log=context.log,
    )
    yield dg.MaterializeResult(
        metadata={
            **report.metadata_for(ALT_SIGNALS),
            "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(ALT_SIGNALS)),
            "warehouse": dg.MetadataValue.text(warehouse.location),
        }
    )
    yield from run_selected(context, _ALT_CHECKS, warehouse)


SINK_ASSETS = [sink_ticks, alt_signals, *BOOKKEEPING_ASSETS]
