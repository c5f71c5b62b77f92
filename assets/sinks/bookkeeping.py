"""The inboxes' bookkeeping tables as assets, so a person sees in Dagster what was
refused and why (`quarantine`) and which files were loaded (`processed_files`).

The sink assets write both tables while they load files; these assets read them
back after every load and describe them: totals, a breakdown, the newest rows.
They write nothing.
"""

from __future__ import annotations

from typing import Any, Final

import dagster as dg

from assets.catalogue import WAREHOUSE_POOL
from assets.metadata import bar_chart, markdown_preview, table_definition_metadata
from assets.resources import Warehouse
from assets.sinks.tables import (
    ALT_SIGNALS,
    PROCESSED_FILES,
    QUARANTINE,
    REPLAY_QUOTES,
    REPLAY_TRADES,
)

GROUP = "inboxes"
_NEWEST: Final = 20
_LOADED_BY = [dg.AssetDep(t.name) for t in (REPLAY_QUOTES, REPLAY_TRADES, ALT_SIGNALS)]


@dg.asset(
    name=QUARANTINE.name,
    group_name=GROUP,
    pool=WAREHOUSE_POOL,  # a DuckDB file opened by a writer refuses other processes
    deps=_LOADED_BY,
    description=(
        f"{QUARANTINE.description}\n\nWritten by the sinks as they load files; this asset "
        "reads it back after each load: totals by sink and reason code, and the newest "
        "refused records with their file, line and reason."
    ),
    metadata=table_definition_metadata(QUARANTINE),
)
def quarantine(warehouse: Warehouse) -> dg.MaterializeResult:
    warehouse.ensure_schema([QUARANTINE])
    by_reason = warehouse.query(
        f"SELECT sink || ' ' || reason_code AS reason, count(*) AS records "
        f"FROM {QUARANTINE.name} GROUP BY sink, reason_code ORDER BY records DESC, reason"
    )
    newest = warehouse.query(
        f"SELECT ts, sink, file_name, line_no, reason_code, reason, record "
        f"FROM {QUARANTINE.name} ORDER BY ts DESC, file_name, line_no LIMIT {_NEWEST}"
    )
    newest["record"] = newest["record"].str.slice(0, 80)
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(QUARANTINE)),
        "records_by_sink_and_reason": dg.MetadataValue.md(
            bar_chart(by_reason, "reason", "records", empty="_nothing quarantined yet_")
        ),
        "newest_records": markdown_preview(newest, rows=_NEWEST),
        "warehouse": dg.MetadataValue.text(warehouse.location),
    }
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    name=PROCESSED_FILES.name,
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    deps=_LOADED_BY,
    description=(
        f"{PROCESSED_FILES.description}\n\nWritten by the sinks as they load files; this "
        "asset reads it back after each load: files and rows per sink, and the newest files."
    ),
    metadata=table_definition_metadata(PROCESSED_FILES),
)
def processed_files(warehouse: Warehouse) -> dg.MaterializeResult:
    warehouse.ensure_schema([PROCESSED_FILES])
    by_sink = warehouse.query(
        f"SELECT sink, count(*) AS files, sum(rows_loaded) AS rows_loaded, "
        f"sum(rows_quarantined) AS rows_quarantined FROM {PROCESSED_FILES.name} "
        "GROUP BY sink ORDER BY sink"
    )
    newest = warehouse.query(
        f"SELECT ts, sink, file_name, size_bytes, rows_loaded, rows_quarantined, run_id "
        f"FROM {PROCESSED_FILES.name} ORDER BY ts DESC, file_name LIMIT {_NEWEST}"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(warehouse.row_count(PROCESSED_FILES)),
            "files_by_sink": markdown_preview(by_sink, rows=10),
            "newest_files": markdown_preview(newest, rows=_NEWEST),
            "warehouse": dg.MetadataValue.text(warehouse.location),
        }
    )


BOOKKEEPING_ASSETS = [quarantine, processed_files]
