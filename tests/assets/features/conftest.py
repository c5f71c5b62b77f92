from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.features.store import FeatureStoreResource
from assets.resources import DuckDBWarehouse
from assets.warehouse.assets import WAREHOUSE_ASSETS
from tests.assets.conftest import journal_source
from tests.assets.features.journal import write_features_journal


@pytest.fixture(scope="session")
def features_warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine's 40 minutes, shipped into a DuckDB file by the warehouse assets."""
    folder = tmp_path_factory.mktemp("features-engine")
    write_features_journal(folder / "journal.db")
    warehouse = DuckDBWarehouse(path=str(folder / "warehouse.duckdb"))
    dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": journal_source(folder / "journal.db")},
    )
    warehouse.close()
    return folder / "warehouse.duckdb"


@pytest.fixture
def shipped(features_warehouse_template: Path, tmp_path: Path) -> DuckDBWarehouse:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(features_warehouse_template, path)
    return DuckDBWarehouse(path=str(path))


@pytest.fixture
def feature_store(tmp_path: Path) -> FeatureStoreResource:
    """A store whose registry, online store and sources are in a temporary folder (the
    definitions are the repo's own, read in place: they are not modified)."""
    return FeatureStoreResource(features_dir=str(tmp_path / "features"))
