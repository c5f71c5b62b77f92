"""Risk limits per account, loaded from one TOML file and validated at load.

File shape (every account key overrides the `[default]` table field by field)::

    restricted_symbols = ["XYZ"]          # nobody trades these

    [default]
    max_order_quantity = 10_000
    ...

    [accounts.alice]
    max_position = 5_000
    restricted_symbols = ["ABC"]          # alice additionally may not trade ABC

A bad file never half-loads: `LimitsError` names the file and the offending
path (`$.accounts.alice.max_position`) and the running limits stay in force.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec

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


class RiskLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    default: AccountLimits
    accounts: dict[str, AccountLimits] = {}
    restricted_symbols: frozenset[str] = frozenset()

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


class LimitsError(ValueError):
    code = "INVALID_LIMITS"


def parse_limits(document: dict[str, Any], source: str = "<limits>") -> RiskLimits:
    """Validate a limits document (the parsed TOML) into RiskLimits."""

    def convert(value: Any, where: str) -> AccountLimits:
        if not isinstance(value, dict):
            raise LimitsError(f"{source}: {where} must be a table")
        try:
            return msgspec.convert(value, AccountLimits)
        except msgspec.ValidationError as exc:
            raise LimitsError(f"{source}: {where}: {exc}") from exc

    unknown = set(document) - {"default", "accounts", "restricted_symbols"}
    if unknown:
        raise LimitsError(f"{source}: unknown top-level keys {sorted(unknown)}")
    if "default" not in document:
        raise LimitsError(f"{source}: missing [default] table")
    default_table = document["default"]
    default = convert(default_table, "[default]")
    accounts_table = document.get("accounts", {})
    if not isinstance(accounts_table, dict):
        raise LimitsError(f"{source}: [accounts] must be a table of account tables")
    accounts = {
        name: convert(
            {**default_table, **overrides} if isinstance(overrides, dict) else overrides,
            f"[accounts.{name}]",
        )
        for name, overrides in accounts_table.items()
    }
    try:
        restricted = msgspec.convert(document.get("restricted_symbols", []), frozenset[str])
    except msgspec.ValidationError as exc:
        raise LimitsError(f"{source}: restricted_symbols: {exc}") from exc
    return RiskLimits(default=default, accounts=accounts, restricted_symbols=restricted)


def load_limits(path: str | Path) -> RiskLimits:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise LimitsError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LimitsError(f"{path}: not valid TOML: {exc}") from exc
    return parse_limits(document, str(path))


def limits_from_json(payload: str | bytes) -> RiskLimits:
    return msgspec.json.decode(payload, type=RiskLimits)
