"""The `sinks` group: files dropped in the inboxes, loaded once each."""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from assets.metadata import table_definition_metadata
from assets.sinks.alt_records import parse_alt_file
from assets.sinks.files import sink_files
from assets.sinks.tables import ALT_SIGNALS, REPLAY_QUOTES, REPLAY_TRADES
from assets.sinks.tick_files import parse_tick_file
from orchestration.resources import Inbox, Warehouse

GROUP = "sinks"
_TICK_TABLES = {t.name: t for t in (REPLAY_QUOTES, REPLAY_TRADES)}
_FILE_NOTE = (
    "Files are loaded once by content hash (processed_files); refused records or files "
    "land in the quarantine table with a reason; loaded files move to done/."
)


@dg.multi_asset(
    name="sink_ticks",
    specs=[
        dg.AssetSpec(
            table.name,
            group_name=GROUP,
            description=f"{table.description}\n\nCSV or Parquet in the tick inbox. {_FILE_NOTE}",
            metadata=table_definition_metadata(table),
        )
        for table in _TICK_TABLES.values()
    ],
)
def sink_ticks(
    context: AssetExecutionContext, warehouse: Warehouse, inbox: Inbox
) -> Iterator[dg.MaterializeResult]:
    report = sink_files(
        "ticks",
        parse_tick_file,
        _TICK_TABLES,
        inbox,
        warehouse,
        run_id=context.run.run_id,
        log=context.log,
    )
    for table in _TICK_TABLES.values():
        yield dg.MaterializeResult(
            asset_key=table.name,
            metadata={
                **report.metadata_for(table),
                "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(table)),
                "warehouse": dg.MetadataValue.text(warehouse.location),
            },
        )


@dg.asset(
    name=ALT_SIGNALS.name,
    group_name=GROUP,
    description=(
        f"{ALT_SIGNALS.description}\n\nJSON lines or CSV in the alt inbox, each record "
        f"validated against realtime.altdata.AltRecord. {_FILE_NOTE}"
    ),
    metadata=table_definition_metadata(ALT_SIGNALS),
)
def alt_signals(
    context: AssetExecutionContext, warehouse: Warehouse, inbox: Inbox
) -> dg.MaterializeResult:
    report = sink_files(
        "alt",
        parse_alt_file,
        {ALT_SIGNALS.name: ALT_SIGNALS},
        inbox,
        warehouse,
        run_id=context.run.run_id,
        log=context.log,
    )
    return dg.MaterializeResult(
        metadata={
            **report.metadata_for(ALT_SIGNALS),
            "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(ALT_SIGNALS)),
            "warehouse": dg.MetadataValue.text(warehouse.location),
        }
    )


SINK_ASSETS = [sink_ticks, alt_signals]
