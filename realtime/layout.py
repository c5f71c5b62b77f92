"""Where tradepipe keeps its files: one statement for the service, Dagster and the launcher.

The relative-path rule: a relative path in any `TRADEPIPE_*` path setting is
relative to the project root (the folder holding pyproject.toml), never to the
working directory. `dagster dev`, its code server, a run worker and the service
are started from different folders; resolving against one fixed root is what
makes `TRADEPIPE_ALT_INBOX=var/alt` the same folder to all of them. `~` expands.
An empty variable counts as unset.

Data (`TRADEPIPE_DATA_DIR`, default `data/`)::

    $DATA/journal.db         the service's journal        TRADEPIPE_JOURNAL
    $DATA/inbox/ticks/       tick files for the sinks     TRADEPIPE_TICK_INBOX
    $DATA/inbox/alt/         alternative data files       TRADEPIPE_ALT_INBOX
    $DATA/warehouse.duckdb   the embedded warehouse       (TRADEPIPE_WAREHOUSE, Dagster)
    $DATA/dagster_home/      DAGSTER_HOME for `make run`  (DAGSTER_HOME)
    $DATA/features/          the Feast repo's data        TRADEPIPE_FEATURES_DIR
    $DATA/reports/           report pages (TCA, P&L)
    $DATA/logs/              the launcher's child logs
    $DATA/launcher.json      while the launcher runs: its control endpoint (loopback
                             address and token, `realtime.service_control`)

Configuration (`TRADEPIPE_CONFIG_DIR`, default `config/`): `instruments.toml`,
`limits.toml`, `accounts.toml`, each movable on its own with
`TRADEPIPE_INSTRUMENTS`, `TRADEPIPE_LIMITS`, `TRADEPIPE_ACCOUNTS`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from realtime.config_errors import ConfigError, ConfigProblem

PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]


def resolve(value: str | Path) -> Path:
    """The relative-path rule (see the module docstring)."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _setting(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name, "")
    return resolve(value) if value.strip() else default


@dataclass(frozen=True, slots=True)
class DataLayout:
    data_dir: Path
    journal_path: Path
    tick_inbox: Path
    alt_inbox: Path

    @classmethod
    def under(cls, data_dir: Path) -> DataLayout:
        """The default layout below one data folder (what a fresh machine gets)."""
        data_dir = resolve(data_dir)
        return cls(
            data_dir=data_dir,
            journal_path=data_dir / "journal.db",
            tick_inbox=data_dir / "inbox" / "ticks",
            alt_inbox=data_dir / "inbox" / "alt",
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DataLayout:
        env = os.environ if env is None else env
        default = cls.under(_setting(env, "TRADEPIPE_DATA_DIR", PROJECT_ROOT / "data"))
        return cls(
            data_dir=default.data_dir,
            journal_path=_setting(env, "TRADEPIPE_JOURNAL", default.journal_path),
            tick_inbox=_setting(env, "TRADEPIPE_TICK_INBOX", default.tick_inbox),
            alt_inbox=_setting(env, "TRADEPIPE_ALT_INBOX", default.alt_inbox),
        )

    @property
    def warehouse_file(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @property
    def features_dir(self) -> Path:
        """The feature pipeline's parquet sources and training sets, and Feast's SQLite
        online store (TRADEPIPE_FEATURES_DIR, when set, replaces it; realtime.feast_config)."""
        return self.data_dir / "features"

    @property
    def reports_dir(self) -> Path:
        """The reports the Dagster assets write (TCA under `tca/`)."""
        return self.data_dir / "reports"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def launcher_control(self) -> Path:
        """Written by the launcher while it runs, removed when it stops: where another
        process (a validation run) asks it to restart the realtime service."""
        return self.data_dir / "launcher.json"

    def env(self) -> dict[str, str]:
        """The variables that give a child process exactly this layout."""
        return {
            "TRADEPIPE_DATA_DIR": str(self.data_dir),
            "TRADEPIPE_JOURNAL": str(self.journal_path),
            "TRADEPIPE_TICK_INBOX": str(self.tick_inbox),
            "TRADEPIPE_ALT_INBOX": str(self.alt_inbox),
        }

    def create(self) -> None:
        """Create the data folder, the journal's folder and every inbox; a path that
        cannot be a folder (a file is in the way, no permission) is a ConfigError."""
        folders = {
            "TRADEPIPE_DATA_DIR": self.data_dir,
            "TRADEPIPE_JOURNAL": self.journal_path.parent,
            "TRADEPIPE_TICK_INBOX": self.tick_inbox,
            "TRADEPIPE_ALT_INBOX": self.alt_inbox,
        }
        problems = []
        for variable, folder in folders.items():
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                problems.append(
                    ConfigProblem(
                        "environment", variable, f"cannot create {folder}: {exc.strerror}"
                    )
                )
        if problems:
            raise ConfigError(problems)


@dataclass(frozen=True, slots=True)
class ConfigFiles:
    instruments: Path
    limits: Path
    accounts: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ConfigFiles:
        env = os.environ if env is None else env
        config_dir = _setting(env, "TRADEPIPE_CONFIG_DIR", PROJECT_ROOT / "config")
        return cls(
            instruments=_setting(env, "TRADEPIPE_INSTRUMENTS", config_dir / "instruments.toml"),
            limits=_setting(env, "TRADEPIPE_LIMITS", config_dir / "limits.toml"),
            accounts=_setting(env, "TRADEPIPE_ACCOUNTS", config_dir / "accounts.toml"),
        )
