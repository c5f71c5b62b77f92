"""A journal holding FeatureLimitsChanged still ships: the warehouse tables take their
own event types and pass over the new one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import dagster as dg

from assets.warehouse.assets import WAREHOUSE_ASSETS
from orchestration.resources import DuckDBWarehouse
from realtime.events import FeatureScale
from tests.assets.conftest import journal_source
from tests.realtime.harness import open_engine


def test_shipping_when_journal_has_feature_limit_changes_then_it_succeeds(tmp_path: Path) -> None:
    async def session() -> None:
        async with open_engine(tmp_path / "journal.db") as h:
            h.quote("AAPL", 99.99, 100.01)
            scale = FeatureScale(collar_scale=2.0, notional_scale=0.5, reason="SCALED")
            assert await h.engine.set_feature_scales({"AAPL": scale}, source="test") == 1

    asyncio.run(session())
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))

    result = dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": journal_source(tmp_path / "journal.db")},
    )

    assert result.success
    assert int(warehouse.query("SELECT count(*) AS n FROM quotes").iat[0, 0]) == 1
