"""The `feature_store` resource: where the Feast store lives, for the features assets.

A thin wrapper of `realtime.feast_config.FeastLocation` (the one statement of paths and
of the online-store switch, shared with the realtime service), chosen by deployment in
orchestration/features.py."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pydantic

from realtime.feast_config import FeastLocation
from realtime.feature_schema import View

if TYPE_CHECKING:
    from feast import FeatureStore


class FeatureStoreResource(dg.ConfigurableResource):
    features_dir: str = pydantic.Field(description="registry, SQLite online store, sources")
    online_url: str | None = pydantic.Field(
        default=None, description="redis://host:port/db for Redis; None: SQLite"
    )

    @property
    def location(self) -> FeastLocation:
        return FeastLocation(Path(self.features_dir), self.online_url)

    def store(self) -> FeatureStore:
        return self.location.store()

    def source_folder(self, view: View) -> Path:
        return self.location.sources_dir / view.folder

    def has_rows(self, view: View) -> bool:
        return any(self.source_folder(view).glob("*.parquet"))

    @property
    def training_dir(self) -> Path:
        return self.location.features_dir / "training"
