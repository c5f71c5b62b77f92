"""Batch-side settings, read from environment variables in this one place.

Nothing here runs at import time: `Settings.from_env()` is called when the
Dagster code location loads (`orchestration.definitions.defs`), so tests and
tools can build their own `Settings` for temporary directories.

Variables
---------
TRADEPIPE_DATA_DIR          data folder (default: `data` under the project root)
TRADEPIPE_JOURNAL           the realtime service's journal (default: $DATA/journal.db)
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
TRADEPIPE_SHIP_SCHEDULE     cron of warehouse_job_schedule and inboxes_job_schedule
                            (default: every minute)
TRADEPIPE_SHIP_BATCH_ROWS   most journal events shipped per warehouse transaction
TRADEPIPE_SHIP_BATCH_BYTES  most journal payload bytes shipped per warehouse transaction

The inbox folders are fixed below the data folder: $DATA/inbox/ticks (replay
files of quotes/trades, CSV or Parquet) and $DATA/inbox/alt (alternative data,
JSON lines or CSV). Processed files move to a `done/` folder inside each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent

DEFAULT_SHIP_SCHEDULE: Final = "* * * * *"
# A batch is one warehouse transaction. 250k events (~40 MB of JSON) keeps a
# transaction's memory small while amortising DuckDB's per-commit cost, which
# dominates with small batches.
DEFAULT_BATCH_ROWS: Final = 250_000
DEFAULT_BATCH_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    journal_path: Path
    warehouse_url: str
    ship_schedule: str = DEFAULT_SHIP_SCHEDULE
    batch_rows: int = DEFAULT_BATCH_ROWS
    batch_bytes: int = DEFAULT_BATCH_BYTES

    @property
    def tick_inbox(self) -> Path:
        return self.data_dir / "inbox" / "ticks"

    @property
    def alt_inbox(self) -> Path:
        return self.data_dir / "inbox" / "alt"

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides: object) -> Settings:
        """Embedded defaults under `data_dir` (what a fresh machine gets)."""
        data_dir = Path(data_dir)
        values: dict[str, object] = {
            "data_dir": data_dir,
            "journal_path": data_dir / "journal.db",
            "warehouse_url": f"duckdb://{(data_dir / 'warehouse.duckdb').resolve()}",
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = _path(env.get("TRADEPIPE_DATA_DIR") or "data")
        overrides: dict[str, object] = {}
        if journal := env.get("TRADEPIPE_JOURNAL"):
            overrides["journal_path"] = _path(journal)
        if warehouse := env.get("TRADEPIPE_WAREHOUSE"):
            overrides["warehouse_url"] = warehouse
        if schedule := env.get("TRADEPIPE_SHIP_SCHEDULE"):
            overrides["ship_schedule"] = schedule
        if rows := env.get("TRADEPIPE_SHIP_BATCH_ROWS"):
            overrides["batch_rows"] = _positive_int("TRADEPIPE_SHIP_BATCH_ROWS", rows)
        if size := env.get("TRADEPIPE_SHIP_BATCH_BYTES"):
            overrides["batch_bytes"] = _positive_int("TRADEPIPE_SHIP_BATCH_BYTES", size)
        return cls.for_data_dir(data_dir, **overrides)


def _path(value: str) -> Path:
    """Relative paths are relative to the project root, not to wherever Dagster runs."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be >= 1, got {number}")
    return number
