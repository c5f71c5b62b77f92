"""Risk limits per account, loaded from one TOML file and validated at load.

File shape (every account key overrides the `[default]` table field by field)::

    restricted_symbols = ["XYZ"]          # nobody trades these

    [default]
    max_order_quantity = 10_000
    ...

    [accounts.alice]
    max_position = 5_000
    restricted_symbols = ["ABC"]          # alice additionally may not trade ABC

A bad file never half-loads: `LimitsError` lists every problem, each naming the
file, the table and the field (`[accounts.alice] max_position: ...`), and the
running limits stay in force. Restricted symbols must be instruments, and
`[accounts.NAME]` must be an account of the accounts file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec

from realtime.config_errors import ConfigError, ConfigProblem, check_table, read_toml

PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]


class AccountLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_order_quantity: PositiveInt
    max_order_notional: PositiveFloat
    # Absolute signed position per symbol, counting open orders in the worst case.
    max_position: PositiveInt
    # Sum over symbols of |position| x mark, plus open order notional.
    max_gross_exposure: PositiveFloat
    starting_cash: NonNegativeFloat
    # Buying power = equity x max_leverage - gross exposure - open order notional.
    max_leverage: PositiveFloat
    max_orders_per_second: PositiveFloat
    order_burst: PositiveInt
    price_collar_pct: Annotated[float, msgspec.Meta(gt=0, le=100)]
    restricted_symbols: frozenset[str] = frozenset()


class VolatilityScaling(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How online features (realized volatility, risk_features_v1) scale two limits per
    symbol: at `reference_vol` the static limits hold; above it the price collar widens
    and the per-order notional limit shrinks in proportion, each within its floor and
    ceiling (multiples of the static value). A feature missing or older than
    `max_feature_age_s` means the static limits, never no limit."""

    enabled: bool = False
    reference_vol: PositiveFloat = 0.30  # annualised realized_vol_30m
    max_feature_age_s: PositiveFloat = 600.0
    collar_scale_floor: PositiveFloat = 1.0
    collar_scale_ceiling: PositiveFloat = 3.0
    notional_scale_floor: PositiveFloat = 0.25
    notional_scale_ceiling: PositiveFloat = 1.0
    # scales move in steps of this much, so that noise in the estimate does not journal
    # a limit change on every refresh
    scale_step: PositiveFloat = 0.05


class RiskLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    default: AccountLimits
    accounts: dict[str, AccountLimits] = {}
    restricted_symbols: frozenset[str] = frozenset()
    volatility_scaling: VolatilityScaling = VolatilityScaling()

    def for_account(self, account: str) -> AccountLimits:
        return self.accounts.get(account, self.default)

    def is_restricted(self, account: str, symbol: str) -> bool:
        return (
            symbol in self.restricted_symbols
            or symbol in self.for_account(account).restricted_symbols
        )

    def digest(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()

    def to_json(self) -> bytes:
        return msgspec.json.encode(self, order="sorted")


class LimitsError(ConfigError):
    code = "INVALID_LIMITS"


_TOP_LEVEL: Final = ("default", "accounts", "restricted_symbols", "volatility_scaling")

# Why a symbol's limits are what they are (journaled with each change).
SCALED: Final = "SCALED"
STALE: Final = "STALE"
MISSING: Final = "MISSING"
STATIC: Final = "STATIC"  # scaling switched off


def _quantize(value: float, step: float) -> float:
    return round(round(value / step) * step, 6)


def volatility_scales(
    config: VolatilityScaling, volatility: float | None, feature_ts_ns: int | None, now_ns: int
) -> tuple[float, float, str]:
    """(collar scale, notional scale, reason) for one symbol: pure, so the refresher,
    the tests and an audit compute the same. 1.0/1.0 are the static limits."""
    if not config.enabled:
        return 1.0, 1.0, STATIC
    if volatility is None or feature_ts_ns is None or not volatility >= 0:
        return 1.0, 1.0, MISSING
    if now_ns - feature_ts_ns > config.max_feature_age_s * 1e9:
        return 1.0, 1.0, STALE
    ratio = volatility / config.reference_vol
    collar = min(max(ratio, config.collar_scale_floor), config.collar_scale_ceiling)
    inverse = 1.0 / ratio if ratio > 0 else config.notional_scale_ceiling
    notional = min(max(inverse, config.notional_scale_floor), config.notional_scale_ceiling)
    step = config.scale_step
    return _quantize(collar, step), _quantize(notional, step), SCALED


def scaled_limits(
    limits: AccountLimits, collar_scale: float, notional_scale: float
) -> AccountLimits:
    """The account's limits with one symbol's volatility scales applied."""
    return msgspec.structs.replace(
        limits,
        price_collar_pct=min(limits.price_collar_pct * collar_scale, 100.0),
        max_order_notional=limits.max_order_notional * notional_scale,
    )


def parse_limits(document: dict[str, Any], source: str = "<limits>") -> RiskLimits:
    """Validate a limits document (the parsed TOML) into RiskLimits, or LimitsError listing
    every problem (each account's own bad fields, not the ones it inherits)."""
    problems = [
        ConfigProblem(
            source,
            name,
            "unknown top-level key (expected [default], [accounts.NAME] or restricted_symbols)",
        )
        for name in document
        if name not in _TOP_LEVEL
    ]
    default_table = document.get("default")
    if default_table is None:
        problems.append(ConfigProblem(source, "", "missing the [default] table"))
        default = None
    else:
        default, found = check_table(default_table, AccountLimits, source=source, where="[default]")
        problems += found
    accounts_table = document.get("accounts", {})
    accounts: dict[str, AccountLimits] = {}
    if not isinstance(accounts_table, dict):
        problems.append(
            ConfigProblem(source, "[accounts]", "must be a table of [accounts.NAME] tables")
        )
        accounts_table = {}
    inherited = default_table if isinstance(default_table, dict) else None
    for name, overrides in accounts_table.items():
        limits, found = check_table(
            overrides,
            AccountLimits,
            source=source,
            where=f"[accounts.{name}]",
            inherited=inherited,
            require=inherited is not None,
        )
        problems += found
        if limits is not None:
            accounts[name] = limits
    try:
        restricted = msgspec.convert(document.get("restricted_symbols", []), frozenset[str])
    except msgspec.ValidationError as exc:
        problems.append(
            ConfigProblem(source, "restricted_symbols", f"expected a list of symbols ({exc})")
        )
    scaling = VolatilityScaling()
    if "volatility_scaling" in document:
        found_scaling, found = check_table(
            document["volatility_scaling"],
            VolatilityScaling,
            source=source,
            where="[volatility_scaling]",
        )
        problems += found
        if found_scaling is not None:
            scaling = found_scaling
            for what in ("collar", "notional"):
                if getattr(scaling, f"{what}_scale_floor") > getattr(
                    scaling, f"{what}_scale_ceiling"
                ):
                    problems.append(
                        ConfigProblem(
                            source,
                            f"[volatility_scaling] {what}_scale_floor",
                            f"must not exceed {what}_scale_ceiling",
                        )
                    )
    if problems or default is None:
        raise LimitsError(problems or [ConfigProblem(source, "[default]", "invalid")])
    return RiskLimits(
        default=default,
        accounts=accounts,
        restricted_symbols=restricted,
        volatility_scaling=scaling,
    )


def check_limits_against(
    limits: RiskLimits,
    symbols: Collection[str] | None,
    accounts: Collection[str] | None,
    *,
    source: str,
    instruments_source: str = "the instruments file",
    accounts_source: str = "the accounts file",
) -> list[ConfigProblem]:
    """What in valid limits names things the rest of the configuration does not know: a
    restricted symbol no instrument has (a typo restricts nothing), limits for an account
    no API key belongs to (a typo leaves the real account on the default limits). None
    skips that check (the other file did not load)."""
    inherited = limits.default.restricted_symbols  # accounts inherit these: report them once
    lists = [
        ("restricted_symbols", limits.restricted_symbols),
        ("[default] restricted_symbols", inherited),
        *(
            (f"[accounts.{name}] restricted_symbols", account.restricted_symbols - inherited)
            for name, account in limits.accounts.items()
        ),
    ]
    known = set(symbols or ())
    problems = [
        ConfigProblem(source, where, f"unknown symbol {symbol!r} (not in {instruments_source})")
        for where, restricted in (lists if symbols is not None else [])
        for symbol in sorted(restricted - known)
    ]
    problems += [
        ConfigProblem(
            source, f"[accounts.{name}]", f"unknown account {name!r} (not in {accounts_source})"
        )
        for name in sorted(set(limits.accounts) - set(accounts or ()))
        if accounts is not None
    ]
    return problems


def load_limits(
    path: str | Path,
    *,
    symbols: Collection[str] | None = None,
    accounts: Collection[str] | None = None,
    instruments_source: str = "the instruments file",
    accounts_source: str = "the accounts file",
) -> RiskLimits:
    """Load and validate the limits file; with `symbols` and `accounts`, also refuse
    limits that name symbols or accounts the rest of the configuration does not know."""
    path = Path(path)
    source = str(path)
    document = read_toml(path, LimitsError)
    limits = parse_limits(document, source)
    if symbols is not None or accounts is not None:
        problems = check_limits_against(
            limits,
            symbols,
            accounts,
            source=source,
            instruments_source=instruments_source,
            accounts_source=accounts_source,
        )
        if problems:
            raise LimitsError(problems)
    return limits


def limits_from_json(payload: str | bytes) -> RiskLimits:
    return msgspec.json.decode(payload, type=RiskLimits)
