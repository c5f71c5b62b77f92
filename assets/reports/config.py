"""The reports' configuration (config/reports.toml), checked field by field at load.

Read when the code location loads (`orchestration.definitions`), never at import;
every problem of the file is reported at once as a `ReportsConfigError`
(code INVALID_CONFIG), each naming its table and field.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import msgspec

from assets.reports.tax_lots import LotRules, ReliefMethod
from realtime.config_errors import ConfigError, ConfigProblem, check_table, read_toml
from realtime.layout import PROJECT_ROOT

DEFAULT_PATH: Final = PROJECT_ROOT / "config" / "reports.toml"


class ReportsConfigError(ConfigError):
    """config/reports.toml cannot be used; `problems` says every reason."""


class _Top(msgspec.Struct):
    timezone: str = "UTC"
    start_date: str = "2025-01-01"
    rollup: Literal["weekly", "monthly"] = "weekly"


class PnlRules(msgspec.Struct, frozen=True):
    reconcile_tolerance: float = 0.01


class _TaxLots(msgspec.Struct):
    relief_method: Literal["FIFO", "LIFO", "HIGHEST_COST"] = "FIFO"
    long_term_days: int = 365
    wash_window_days: int = 30
    wash_sale_shorts: bool = False


class ExposureRules(msgspec.Struct, frozen=True):
    equity_sample_seconds: float = 60.0


class _AccountCompliance(msgspec.Struct):
    restricted_symbols: list[str] = []


class _Compliance(msgspec.Struct):
    restricted_symbols: list[str] = []
    order_to_trade_max: float = 20.0
    price_collar_pct: float = 5.0
    wash_trade_window_s: float = 5.0
    cancel_within_s: float = 2.0
    cancel_burst_orders: int = 5
    cancel_burst_window_s: float = 10.0


@dataclass(frozen=True)
class ComplianceRules:
    restricted_symbols: frozenset[str] = frozenset()
    restricted_by_account: dict[str, frozenset[str]] = field(default_factory=dict)
    order_to_trade_max: float = 20.0
    price_collar_pct: float = 5.0
    wash_trade_window_s: float = 5.0
    cancel_within_s: float = 2.0
    cancel_burst_orders: int = 5
    cancel_burst_window_s: float = 10.0

    def restricted_for(self, account: str) -> frozenset[str]:
        return self.restricted_symbols | self.restricted_by_account.get(account, frozenset())


@dataclass(frozen=True)
class ReportsConfig:
    timezone: str = "UTC"
    start_date: str = "2025-01-01"
    rollup: str = "weekly"
    pnl: PnlRules = field(default_factory=PnlRules)
    lots: LotRules = field(default_factory=LotRules)
    exposure: ExposureRules = field(default_factory=ExposureRules)
    compliance: ComplianceRules = field(default_factory=ComplianceRules)


def load_reports_config(path: Path = DEFAULT_PATH) -> ReportsConfig:
    source = str(path)
    document = read_toml(path, ReportsConfigError)
    problems: list[ConfigProblem] = []
    tables = {"pnl", "tax_lots", "exposure", "compliance"}
    top_fields = {k: v for k, v in document.items() if k not in tables}
    top, found = check_table(top_fields, _Top, source=source, where="(top level)")
    problems += found

    def section(name: str, struct: type[Any]) -> Any:
        raw = document.get(name, {})
        if name == "compliance" and isinstance(raw, dict):
            raw = {k: v for k, v in raw.items() if k != "accounts"}
        value, found = check_table(raw, struct, source=source, where=f"[{name}]")
        problems.extend(found)
        return value

    pnl = section("pnl", PnlRules)
    lots = section("tax_lots", _TaxLots)
    exposure = section("exposure", ExposureRules)
    compliance = section("compliance", _Compliance)
    accounts: dict[str, frozenset[str]] = {}
    raw_accounts = document.get("compliance", {}).get("accounts", {})
    if not isinstance(raw_accounts, dict):
        problems.append(ConfigProblem(source, "[compliance.accounts]", "must be a table"))
        raw_accounts = {}
    for name, table in raw_accounts.items():
        value, found = check_table(
            table, _AccountCompliance, source=source, where=f"[compliance.accounts.{name}]"
        )
        problems += found
        if value is not None:
            accounts[name] = frozenset(value.restricted_symbols)
    if top is not None:
        problems += _top_problems(top, source)
    problems += _range_problems(source, pnl, lots, exposure, compliance)
    if problems or top is None or None in (pnl, lots, exposure, compliance):
        raise ReportsConfigError(problems or [ConfigProblem(source, "", "invalid")])
    return ReportsConfig(
        timezone=top.timezone,
        start_date=top.start_date,
        rollup=top.rollup,
        pnl=pnl,
        lots=LotRules(
            method=ReliefMethod(lots.relief_method),
            long_term_days=lots.long_term_days,
            wash_window_days=lots.wash_window_days,
            wash_sale_shorts=lots.wash_sale_shorts,
            timezone=top.timezone,
        ),
        exposure=exposure,
        compliance=ComplianceRules(
            restricted_symbols=frozenset(compliance.restricted_symbols),
            restricted_by_account=accounts,
            order_to_trade_max=compliance.order_to_trade_max,
            price_collar_pct=compliance.price_collar_pct,
            wash_trade_window_s=compliance.wash_trade_window_s,
            cancel_within_s=compliance.cancel_within_s,
            cancel_burst_orders=compliance.cancel_burst_orders,
            cancel_burst_window_s=compliance.cancel_burst_window_s,
        ),
    )


def _top_problems(top: _Top, source: str) -> list[ConfigProblem]:
    problems = []
    try:
        zoneinfo.ZoneInfo(top.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            ConfigProblem(source, "timezone", f"not an IANA time zone, got {top.timezone!r}")
        )
    try:
        dt.date.fromisoformat(top.start_date)
    except ValueError:
        problems.append(
            ConfigProblem(source, "start_date", f"expected YYYY-MM-DD, got {top.start_date!r}")
        )
    return problems


def _range_problems(source: str, *sections: Any) -> list[ConfigProblem]:
    """Every number must be positive (a zero window or tolerance means nothing)."""
    names = ("pnl", "tax_lots", "exposure", "compliance")
    problems = []
    for name, value in zip(names, sections, strict=True):
        if value is None:
            continue
        for key in value.__struct_fields__:
            number = getattr(value, key)
            if isinstance(number, bool) or not isinstance(number, int | float):
                continue
            if number <= 0:
                problems.append(
                    ConfigProblem(source, f"[{name}] {key}", f"must be > 0, got {number!r}")
                )
    return problems
