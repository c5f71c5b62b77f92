"""The validation programme's settings, read from the environment in this one place.

TRADEPIPE_VALIDATION_API_URL     the realtime service to validate (default
                                 http://127.0.0.1:8000)
TRADEPIPE_VALIDATION_LOAD_HOSTS  hosts besides loopback the performance load may go to
                                 (default none: loopback only; compose: realtime)
TRADEPIPE_VALIDATION_CONFIG      thresholds and severities (default config/validation.toml)
TRADEPIPE_VALIDATION_HEALTH_CRON service health + data pipeline (default every 5 minutes)
TRADEPIPE_VALIDATION_FULL_CRON   every suite (default hourly, on the hour)
TRADEPIPE_VALIDATION_SCHEDULES   whether both schedules run by default (default on)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from assets.validation.load_target import LOAD_HOSTS_SETTING, parse_load_hosts
from realtime.layout import PROJECT_ROOT, resolve
from realtime.settings import EnvReader, _bool

DEFAULT_API_URL: Final = "http://127.0.0.1:8000"
DEFAULT_CONFIG: Final = PROJECT_ROOT / "config" / "validation.toml"
DEFAULT_HEALTH_CRON: Final = "*/5 * * * *"
DEFAULT_FULL_CRON: Final = "0 * * * *"


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// URL, got {text!r}")
    return text.rstrip("/")


def _cron(text: str) -> str:
    from dagster._utils.schedules import is_valid_cron_string

    if not is_valid_cron_string(text):
        raise ValueError(f"expected a cron expression (5 fields), got {text!r}")
    return text


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    api_url: str = DEFAULT_API_URL
    config_path: Path = DEFAULT_CONFIG
    health_cron: str = DEFAULT_HEALTH_CRON
    full_cron: str = DEFAULT_FULL_CRON
    schedules_on: bool = True
    load_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ValidationSettings:
        env = os.environ if environ is None else environ
        values = EnvReader(env)
        settings = cls(
            api_url=values.get("TRADEPIPE_VALIDATION_API_URL", DEFAULT_API_URL, _url),
            config_path=values.get("TRADEPIPE_VALIDATION_CONFIG", DEFAULT_CONFIG, resolve),
            health_cron=values.get("TRADEPIPE_VALIDATION_HEALTH_CRON", DEFAULT_HEALTH_CRON, _cron),
            full_cron=values.get("TRADEPIPE_VALIDATION_FULL_CRON", DEFAULT_FULL_CRON, _cron),
            schedules_on=values.get("TRADEPIPE_VALIDATION_SCHEDULES", True, _bool),
            load_hosts=values.get(LOAD_HOSTS_SETTING, frozenset(), parse_load_hosts),
        )
        values.raise_if_bad()
        return settings
