"""Service settings, read from the environment once, at start-up (never at import).

Every variable is checked, and every bad one is reported (a `SettingsError`
naming the variable, what it must be and what it was), so a typo is found at
start and not by a confused client. Paths follow `realtime.layout`.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from realtime.config_errors import ConfigError, ConfigProblem
from realtime.feast_config import redis_connection_string
from realtime.journal import Durability
from realtime.layout import ConfigFiles, DataLayout, resolve
from realtime.redis_url import validate_url as _redis_url

T = TypeVar("T")

REPLAY_SUFFIXES: Final = (".csv", ".parquet")
_INSTANCE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


class SettingsError(ConfigError):
    code = "INVALID_SETTINGS"


def new_instance_id() -> str:
    """Names one run of the service: /health answers it, so a launcher can tell its own
    child from another process that happens to answer on the port."""
    return secrets.token_hex(6)


# A request body's limit unless TRADEPIPE_MAX_BODY_BYTES says otherwise; the error
# suite's oversized probe is sized from it.
DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings:
    data_dir: Path
    journal_path: Path
    instruments_path: Path
    limits_path: Path
    accounts_path: Path
    alt_inbox: Path
    tick_inbox: Path
    host: str = "127.0.0.1"
    port: int = 8000  # 0: any free port (the server prints the one it got)
    durability: Durability = Durability.PROCESS
    # "synthetic" or the path of a CSV/Parquet tick file (realtime.tick_file) to replay
    feed: str = "synthetic"
    feed_rate_per_s: float = 200.0  # synthetic quotes per second, all symbols together
    feed_seed: int = 42
    replay_speed: float = 1.0  # 0: as fast as possible
    ack_latency_us: int = 200
    venue_queue_capacity: int = 10_000
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # /ready fails when no market data arrived for this long
    feed_stale_after_s: float = 5.0
    access_log: bool = True
    # HTTP layer (the api branch's realtime/api/http_protocol.py): serve the hot routes
    # from the ASGI fast path; how long a client may take to send one request; how many
    # connections are held open at once. Declared here so they are checked like the rest.
    fast_path: bool = True
    http_read_timeout_s: float = 5.0
    http_max_connections: int = 2_000
    # Production hot cache (realtime/hot_cache.py): a Redis URL to publish the latest
    # tickers and positions to; None (the default) publishes nothing.
    hot_cache_url: str | None = None
    # Online features into risk (issue 9): how often risk_features_v1 is read for every
    # symbol (0: never, static limits), and Feast's online store (None: SQLite under
    # $DATA/features; redis://host:port/db: Redis).
    features_refresh_s: float = 30.0
    feast_online_url: str | None = None
    instance_id: str = field(default_factory=new_instance_id)
    # Terminal orders older than this leave the service's memory (realtime.state,
    # retention); they stay in the journal and the warehouse.
    order_retention_s: float = 3_600.0
    # Test-only (realtime/test_faults.py): paths answered 500; a production build refuses it.
    fault_500_paths: tuple[str, ...] = ()

    @property
    def layout(self) -> DataLayout:
        return DataLayout(
            data_dir=self.data_dir,
            journal_path=self.journal_path,
            tick_inbox=self.tick_inbox,
            alt_inbox=self.alt_inbox,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServiceSettings:
        env = os.environ if env is None else env
        layout = DataLayout.from_env(env)
        files = ConfigFiles.from_env(env)
        values = EnvReader(env)
        host = values.get("TRADEPIPE_HOST", "127.0.0.1", _host)
        port = values.get("TRADEPIPE_PORT", 8000, whole_number(0, 65_535))
        durability = values.get("TRADEPIPE_DURABILITY", Durability.PROCESS, _durability)
        feed = values.get("TRADEPIPE_FEED", "synthetic", _feed)
        feed_rate = values.get("TRADEPIPE_FEED_RATE", 200.0, number_over(0.0, inclusive=False))
        feed_seed = values.get("TRADEPIPE_FEED_SEED", 42, whole_number(-(2**63), 2**63 - 1))
        replay_speed = values.get("TRADEPIPE_REPLAY_SPEED", 1.0, number_over(0.0, inclusive=True))
        ack_latency = values.get("TRADEPIPE_ACK_LATENCY_US", 200, whole_number(0, 10**9))
        queue = values.get("TRADEPIPE_VENUE_QUEUE", 10_000, whole_number(1, 10**9))
        access_log = values.get("TRADEPIPE_ACCESS_LOG", True, _bool)
        fast_path = values.get("TRADEPIPE_FAST_PATH", True, _bool)
        read_timeout = values.get(
            "TRADEPIPE_HTTP_READ_TIMEOUT", 5.0, number_over(0.0, inclusive=False)
        )
        max_connections = values.get(
            "TRADEPIPE_HTTP_MAX_CONNECTIONS", 2_000, whole_number(1, 1_000_000)
        )
        hot_cache = values.get("TRADEPIPE_HOT_CACHE", None, _redis_url)
        features_refresh = values.get(
            "TRADEPIPE_FEATURES_REFRESH_S", 30.0, number_over(0.0, inclusive=True)
        )
        feast_online = values.get("TRADEPIPE_FEAST_ONLINE", None, _feast_online)
        instance = values.get("TRADEPIPE_INSTANCE_ID", new_instance_id(), _instance_id)
        retention = values.get(
            "TRADEPIPE_ORDER_RETENTION_S", 3_600.0, number_over(0.0, inclusive=False)
        )
        no_faults: tuple[str, ...] = ()
        faults = values.get("TRADEPIPE_TEST_FAULT_500", no_faults, parse_fault_paths)
        if faults and env.get("TRADEPIPE_BUILD", "").strip() == PRODUCTION_BUILD:
            values.problems.append(
                ConfigProblem(
                    "environment",
                    "TRADEPIPE_TEST_FAULT_500",
                    "a test-only fault switch, refused by a production build (TRADEPIPE_BUILD)",
                )
            )
        values.raise_if_bad()
        return cls(
            data_dir=layout.data_dir,
            journal_path=layout.journal_path,
            alt_inbox=layout.alt_inbox,
            tick_inbox=layout.tick_inbox,
            instruments_path=files.instruments,
            limits_path=files.limits,
            accounts_path=files.accounts,
            host=host,
            port=port,
            durability=durability,
            feed=feed,
            feed_rate_per_s=feed_rate,
            feed_seed=feed_seed,
            replay_speed=replay_speed,
            ack_latency_us=ack_latency,
            venue_queue_capacity=queue,
            access_log=access_log,
            fast_path=fast_path,
            http_read_timeout_s=read_timeout,
            http_max_connections=max_connections,
            hot_cache_url=hot_cache,
            features_refresh_s=features_refresh,
            feast_online_url=feast_online,
            instance_id=instance,
            order_retention_s=retention,
            fault_500_paths=faults,
        )


def log_level(value: str) -> str:
    """A logging level name (DEBUG, INFO, ...), upper-cased; ValueError names the choices."""
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ValueError(f"expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got {value!r}")
    return level


# --- reading variables ---------------------------------------------------------------


class EnvReader:
    """Reads variables with their parsers and collects every problem before raising."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[ConfigProblem] = []

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        raw = self.env.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return parse(raw.strip())
        except ValueError as exc:
            self.problems.append(ConfigProblem("environment", name, str(exc)))
            return default

    def raise_if_bad(self) -> None:
        if self.problems:
            raise SettingsError(self.problems)


# What deploy/Dockerfile sets TRADEPIPE_BUILD to: such a build refuses test-only switches.
PRODUCTION_BUILD: Final = "production"


def parse_fault_paths(text: str) -> tuple[str, ...]:
    """TRADEPIPE_TEST_FAULT_500: comma-separated paths (realtime/test_faults.py)."""
    paths = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in paths if not p.startswith("/")]
    if bad:
        raise ValueError(f"expected comma-separated paths starting with /, got {bad}")
    return paths


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
        if not low <= number <= high:
            raise ValueError(f"expected a number from {low} to {high}, got {number}")
        return number

    return parse


def number_over(low: float, *, inclusive: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
        if not math.isfinite(number) or number < low or (number == low and not inclusive):
            bound = f">= {low:g}" if inclusive else f"> {low:g}"
            raise ValueError(f"expected a finite number {bound}, got {text!r}")
        return number

    return parse


def _durability(text: str) -> Durability:
    try:
        return Durability(text.upper())
    except ValueError:
        choices = ", ".join(d.value for d in Durability)
        raise ValueError(f"expected one of {choices}, got {text!r}") from None


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {text!r}")


def _host(text: str) -> str:
    if any(c.isspace() for c in text):
        raise ValueError(f"expected a host name or address, got {text!r}")
    return text


def _feed(text: str) -> str:
    if text == "synthetic":
        return text
    path = resolve(text)
    if path.suffix.lower() not in REPLAY_SUFFIXES:
        raise ValueError(
            f"expected 'synthetic' or a {' or '.join(REPLAY_SUFFIXES)} tick file, got {text!r}"
        )
    if not path.is_file():
        raise ValueError(f"no such tick file: {path}")
    return str(path)


def _feast_online(text: str) -> str:
    redis_connection_string(text)  # ValueError says what is wrong
    return text


def _instance_id(text: str) -> str:
    if not _INSTANCE_ID.fullmatch(text):
        raise ValueError(f"expected 1-64 of A-Z a-z 0-9 . _ -, got {text!r}")
    return text
