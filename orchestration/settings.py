"""Batch-side settings, read from environment variables in this one place.

Nothing here runs at import time: `Settings.from_env()` is called when the
Dagster code location loads (`orchestration.definitions.defs`), so tests and
tools can build their own `Settings` for temporary directories.

Variables
---------
Paths (TRADEPIPE_DATA_DIR, TRADEPIPE_JOURNAL, TRADEPIPE_TICK_INBOX,
TRADEPIPE_ALT_INBOX) are `realtime.layout`'s: the same folders the realtime
service uses, relative paths resolved against the project root in both.

TRADEPIPE_WAREHOUSE         where shipped tables go (default: duckdb:///$DATA/warehouse.duckdb)
                              duckdb:///abs/path.duckdb   embedded DuckDB file (absolute path)
                              duckdb://rel/path.duckdb    DuckDB file relative to the project root
                              questdb://host[:http_port][?pg_port=8812&pg_user=admin
                                  &pg_password=quest&tls=on&protocol_version=2
                                  &username=..&password=..&token=..]
                                QuestDB: ILP over HTTP(S) on http_port (default 9000) for
                                writes, PostgreSQL wire on pg_port for DDL and reads;
                                username/password/token are the ILP/HTTP credentials
                                (QuestDB Enterprise), pg_user/pg_password the PG ones.
TRADEPIPE_SHIP_BATCH_ROWS   most journal events shipped per warehouse transaction
TRADEPIPE_SHIP_BATCH_BYTES  most journal payload bytes shipped per warehouse transaction
TRADEPIPE_REPORTS_CONFIG    the reports' configuration (default: config/reports.toml)
TRADEPIPE_INSTRUMENTS       the instruments file the service trades (realtime.layout; default
                            $TRADEPIPE_CONFIG_DIR/instruments.toml): the reports and the TCA
                            take each symbol's contract multiplier from it
TRADEPIPE_SERVICE_URL       the running realtime service (e.g. http://127.0.0.1:8000), which
                            daily_pnl's reconciliation asks first (GET /positions, /pnl);
                            unset: it replays the journal
TRADEPIPE_SERVICE_KEYS      the accounts' API keys for that: "alice=KEY,bob=KEY" (the service
                            shows each account only its own book)
TRADEPIPE_FEAST_ONLINE      Feast's online store: unset = SQLite under $DATA/features,
                              redis://host:port/db = Redis (realtime.feast_config)
TRADEPIPE_FEATURES_SCHEDULE cron of features_job (default */5 * * * *: every 5 minutes)

Processed inbox files move to a `done/` folder inside each inbox.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from realtime.feast_config import redis_connection_string
from realtime.layout import PROJECT_ROOT, ConfigFiles, DataLayout, resolve
from realtime.settings import EnvReader, whole_number

__all__ = ["PROJECT_ROOT", "Settings"]

# A batch is one warehouse transaction. 250k events (~40 MB of JSON) keeps a
# transaction's memory small while amortising DuckDB's per-commit cost, which
# dominates with small batches.
DEFAULT_BATCH_ROWS: Final = 250_000
DEFAULT_BATCH_BYTES: Final = 64 * 1024 * 1024
DEFAULT_REPORTS_CONFIG: Final = PROJECT_ROOT / "config" / "reports.toml"
DEFAULT_FEATURES_SCHEDULE: Final = "*/5 * * * *"
DEFAULT_INSTRUMENTS: Final = ConfigFiles.from_env({}).instruments


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    journal_path: Path
    warehouse_url: str
    tick_inbox: Path
    alt_inbox: Path
    batch_rows: int = DEFAULT_BATCH_ROWS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    reports_config: Path = DEFAULT_REPORTS_CONFIG
    service_url: str | None = None
    service_keys: tuple[tuple[str, str], ...] = ()
    feast_online_url: str | None = None  # None: the SQLite online store
    features_schedule: str = DEFAULT_FEATURES_SCHEDULE
    instruments_path: Path = DEFAULT_INSTRUMENTS  # the service's file (contract multipliers)

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides: object) -> Settings:
        """Embedded defaults under `data_dir` (what a fresh machine gets)."""
        return cls.for_layout(DataLayout.under(Path(data_dir)), **overrides)

    @classmethod
    def for_layout(cls, layout: DataLayout, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": layout.data_dir,
            "journal_path": layout.journal_path,
            "tick_inbox": layout.tick_inbox,
            "alt_inbox": layout.alt_inbox,
            "warehouse_url": f"duckdb://{layout.warehouse_file.resolve()}",
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = EnvReader(env)
        overrides: dict[str, object] = {}
        if warehouse := env.get("TRADEPIPE_WAREHOUSE", "").strip():
            overrides["warehouse_url"] = warehouse
        overrides["batch_rows"] = values.get(
            "TRADEPIPE_SHIP_BATCH_ROWS", DEFAULT_BATCH_ROWS, whole_number(1, 2**31)
        )
        overrides["batch_bytes"] = values.get(
            "TRADEPIPE_SHIP_BATCH_BYTES", DEFAULT_BATCH_BYTES, whole_number(1, 2**40)
        )
        if reports := env.get("TRADEPIPE_REPORTS_CONFIG", "").strip():
            overrides["reports_config"] = resolve(reports)
        overrides["service_url"] = values.get("TRADEPIPE_SERVICE_URL", None, _http_url)
        no_keys: tuple[tuple[str, str], ...] = ()
        overrides["service_keys"] = values.get("TRADEPIPE_SERVICE_KEYS", no_keys, _account_keys)
        overrides["feast_online_url"] = values.get("TRADEPIPE_FEAST_ONLINE", None, _redis_url)
        overrides["features_schedule"] = values.get(
            "TRADEPIPE_FEATURES_SCHEDULE", DEFAULT_FEATURES_SCHEDULE, _cron
        )
        overrides["instruments_path"] = ConfigFiles.from_env(env).instruments
        values.raise_if_bad()
        return cls.for_layout(DataLayout.from_env(env), **overrides)


def _http_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise ValueError(f"expected http://host:port, got {text!r}")
    return url


def _account_keys(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in text.split(","):
        account, sep, key = part.strip().partition("=")
        if not sep or not account.strip() or not key.strip():
            raise ValueError("expected account=key[,account=key...]")
        pairs.append((account.strip(), key.strip()))
    return tuple(pairs)


def _redis_url(text: str) -> str:
    redis_connection_string(text)  # ValueError says what is wrong
    return text


def _cron(text: str) -> str:
    from dagster._utils.schedules import is_valid_cron_string

    if not is_valid_cron_string(text):
        raise ValueError(f"expected a cron expression such as '*/5 * * * *', got {text!r}")
    return text
