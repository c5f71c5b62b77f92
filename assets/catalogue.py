"""Every warehouse table, by the group that owns it, and the pool of the assets
that write them."""

from __future__ import annotations

from typing import Final

from assets.execution_quality.tables import TCA_TABLES
from assets.reports.tables import REPORT_TABLES
from assets.sinks.tables import SINK_TABLES
from assets.warehouse.tables import WAREHOUSE_TABLES

ALL_TABLES: Final = (*WAREHOUSE_TABLES, *SINK_TABLES, *TCA_TABLES, *REPORT_TABLES)

# Every asset that writes the warehouse is in this pool; the Dagster instance
# (the launcher's dagster.yaml, deploy/dagster.yaml) limits it to one at a time,
# across runs, so two runs never write one DuckDB file at once.
WAREHOUSE_POOL = "duckdb_warehouse"
