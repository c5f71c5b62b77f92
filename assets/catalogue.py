"""Every warehouse table, by the group that owns it."""

from __future__ import annotations

from typing import Final

from assets.sinks.tables import SINK_TABLES
from assets.warehouse.tables import WAREHOUSE_TABLES

ALL_TABLES: Final = (*WAREHOUSE_TABLES, *SINK_TABLES)
