"""Service settings, read from the environment once, at start-up (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from realtime.journal import Durability

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(ValueError):
    code = "INVALID_SETTINGS"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings:
    data_dir: Path
    journal_path: Path
    instruments_path: Path
    limits_path: Path
    accounts_path: Path
    alt_inbox: Path
    host: str = "127.0.0.1"
    port: int = 8000
    durability: Durability = Durability.PROCESS
    # "synthetic" or a path to a CSV/Parquet replay file
    feed: str = "synthetic"
    feed_rate_per_s: float = 200.0  # synthetic quotes per second, all symbols together
    feed_seed: int = 42
    replay_speed: float = 1.0  # 0: as fast as possible
    ack_latency_us: int = 200
    venue_queue_capacity: int = 10_000
    max_body_bytes: int = 64 * 1024
    # /ready fails when no market data arrived for this long
    feed_stale_after_s: float = 5.0
    access_log: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("TRADEPIPE_DATA_DIR", PROJECT_ROOT / "data"))
        config_dir = Path(env.get("TRADEPIPE_CONFIG_DIR", PROJECT_ROOT / "config"))
        try:
            return cls(
                data_dir=data_dir,
                journal_path=Path(env.get("TRADEPIPE_JOURNAL", data_dir / "journal.db")),
                instruments_path=Path(
                    env.get("TRADEPIPE_INSTRUMENTS", config_dir / "instruments.toml")
                ),
                limits_path=Path(env.get("TRADEPIPE_LIMITS", config_dir / "limits.toml")),
                accounts_path=Path(env.get("TRADEPIPE_ACCOUNTS", config_dir / "accounts.toml")),
                alt_inbox=Path(env.get("TRADEPIPE_ALT_INBOX", data_dir / "inbox" / "alt")),
                host=env.get("TRADEPIPE_HOST", "127.0.0.1"),
                port=int(env.get("TRADEPIPE_PORT", "8000")),
                durability=Durability(env.get("TRADEPIPE_DURABILITY", "PROCESS").upper()),
                feed=env.get("TRADEPIPE_FEED", "synthetic"),
                feed_rate_per_s=float(env.get("TRADEPIPE_FEED_RATE", "200")),
                feed_seed=int(env.get("TRADEPIPE_FEED_SEED", "42")),
                replay_speed=float(env.get("TRADEPIPE_REPLAY_SPEED", "1.0")),
                ack_latency_us=int(env.get("TRADEPIPE_ACK_LATENCY_US", "200")),
                venue_queue_capacity=int(env.get("TRADEPIPE_VENUE_QUEUE", "10000")),
                access_log=env.get("TRADEPIPE_ACCESS_LOG", "1") not in ("0", "false", "no"),
            )
        except ValueError as exc:
            raise SettingsError(f"bad TRADEPIPE_* setting: {exc}") from exc
