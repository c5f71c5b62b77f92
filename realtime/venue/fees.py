"""What the venue charges per fill: a fee schedule, validated where it is loaded.

    fee = max(min_per_fill, per_share x quantity + bps x quantity x price x multiplier / 10_000)

rounded to the cent (what the account is billed),
with the maker or taker rates by the fill's liquidity. Rates and the minimum are
non-negative (rebates are not modelled), so a fee is never negative. The fee is
in the instrument's price currency and is deducted from realized P&L when the
fill is booked (`realtime.state`).

Configured in the instruments file's `[fees]` table (every field optional, 0 by
default)::

    [fees]
    taker_per_share = 0.0035
    maker_per_share = 0.0
    taker_bps = 0.0
    maker_bps = 0.0
    min_per_fill = 0.35
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

NonNegative = Annotated[float, msgspec.Meta(ge=0)]

_BPS: Final = 10_000.0
BILLING_DECIMALS: Final = 2  # fees are charged in cents


class FeeSchedule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    taker_per_share: NonNegative = 0.0
    maker_per_share: NonNegative = 0.0
    taker_bps: NonNegative = 0.0  # basis points of the fill's notional
    maker_bps: NonNegative = 0.0
    min_per_fill: NonNegative = 0.0

    def __post_init__(self) -> None:
        # msgspec checks the bounds when converting a config table; this catches a
        # schedule built in code (NaN fails every comparison, so `not >=` catches it).
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if not value >= 0.0 or value == float("inf"):
                raise ValueError(f"fee {name} must be a finite number >= 0, got {value}")

    def fee(self, quantity: int, price: float, liquidity: str, multiplier: float = 1.0) -> float:
        """The fee for one fill of `quantity` at `price`, as MAKER or TAKER; bps are of
        the fill's money notional (a future's contract multiplier included), per_share
        is per unit traded (per contract for a future)."""
        if liquidity == "MAKER":
            per_share, bps = self.maker_per_share, self.maker_bps
        else:
            per_share, bps = self.taker_per_share, self.taker_bps
        charge = per_share * quantity + bps * quantity * price * multiplier / _BPS
        # A venue bills whole cents: the fee is money charged, so it is journaled,
        # booked and shipped as the cents the account pays (not 0.028501500000000003).
        return round(max(self.min_per_fill, charge), BILLING_DECIMALS)

    @property
    def is_free(self) -> bool:
        return not any(getattr(self, name) for name in self.__struct_fields__)


NO_FEES: Final = FeeSchedule()
