"""The service's configuration files, loaded together and checked against each other.

Each file is validated on its own first, and every problem of every file is
reported at once (`ConfigError.problems`), so one start-up attempt shows
everything to fix. Then the limits are checked against the other two files:
a restricted symbol that no instrument has, or `[accounts.NAME]` limits for an
account that has no API key, are typos that would otherwise run silently.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from realtime.accounts import AccountDirectory
from realtime.config_errors import ConfigError, ConfigProblem
from realtime.instruments import Universe, load_universe
from realtime.limits import RiskLimits, load_limits

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    universe: Universe
    limits: RiskLimits
    accounts: AccountDirectory


def load_service_config(
    instruments_path: Path, limits_path: Path, accounts_path: Path
) -> ServiceConfig:
    problems: list[ConfigProblem] = []
    universe = _collect(problems, lambda: load_universe(instruments_path))
    accounts = _collect(problems, lambda: AccountDirectory.load(accounts_path))
    limits = _collect(
        problems,
        lambda: load_limits(
            limits_path,
            symbols=universe.instruments if universe is not None else None,
            accounts=accounts.accounts if accounts is not None else None,
            instruments_source=str(instruments_path),
            accounts_source=str(accounts_path),
        ),
    )
    if universe is None or accounts is None or limits is None:
        raise ConfigError(problems)
    return ServiceConfig(universe=universe, limits=limits, accounts=accounts)


def load_checked_limits(
    limits_path: Path,
    symbols: Collection[str],
    accounts: AccountDirectory,
    instruments_path: Path | None = None,
    accounts_path: Path | None = None,
) -> RiskLimits:
    """The limits file, valid on its own and against the instruments and accounts in use
    (what a reload must satisfy as much as start-up)."""
    return load_limits(
        limits_path,
        symbols=symbols,
        accounts=accounts.accounts,
        instruments_source=str(instruments_path) if instruments_path else "the instruments file",
        accounts_source=str(accounts_path) if accounts_path else "the accounts file",
    )


def _collect(problems: list[ConfigProblem], load: Callable[[], T]) -> T | None:
    try:
        return load()
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
