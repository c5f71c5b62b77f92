"""The `validation` resource: where the running platform is and what the programme
is configured with. Chosen in `orchestration.validation` from the settings."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pydantic

from assets.resources import JournalSource, Warehouse
from assets.validation.config import ValidationConfig, load_validation_config
from assets.validation.platform import Platform
from assets.validation.report import ValidationFolder
from realtime.feast_config import FeastLocation, features_dir
from realtime.layout import DataLayout


class ValidationTarget(dg.ConfigurableResource):
    api_url: str = pydantic.Field(description="the realtime service's base URL")
    config_path: str = pydantic.Field(description="config/validation.toml")
    data_dir: str = pydantic.Field(description="reports and data docs go under <this>/validation")
    feast_online_url: str | None = pydantic.Field(
        default=None, description="the features' Redis online store; None: SQLite under data_dir"
    )
    load_hosts: list[str] = pydantic.Field(
        default_factory=list,
        description="hosts besides loopback the performance load may go to "
        "(TRADEPIPE_VALIDATION_LOAD_HOSTS)",
    )
    should_run: list[str] = pydantic.Field(
        default_factory=list,
        description="schedules and sensors that run by default: service health checks them",
    )

    def config(self) -> ValidationConfig:
        return load_validation_config(Path(self.config_path))

    def folder(self) -> ValidationFolder:
        return ValidationFolder(Path(self.data_dir))

    def platform(self, journal: JournalSource, warehouse: Warehouse) -> Platform:
        return Platform(
            api_url=self.api_url.rstrip("/"),
            journal=journal,
            warehouse=warehouse,
            features=FeastLocation(features_dir(Path(self.data_dir)), self.feast_online_url),
            launcher_control=DataLayout.under(Path(self.data_dir)).launcher_control,
            load_hosts=frozenset(self.load_hosts),
        )
