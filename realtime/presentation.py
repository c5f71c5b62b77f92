"""How numbers and times leave the service: the one presentation boundary.

The engine computes in binary floats and integer nanoseconds and never rounds
(`190.01 + 0.02` is `190.03000000000003`, and rounding inside the arithmetic would
let errors accumulate differently on replay). Everything a person or a program
reads (the API's bodies, the WebSocket streams, the warehouse's columns) passes
through these functions instead, so one value reads the same everywhere:

* a price is rounded to its instrument's price precision: the decimals of half a
  tick (AAPL, tick 0.01: 3 decimals; ESZ6, tick 0.25: 3; a tick of 0.5: 2), so a
  price on the grid and a mid between two ticks are exact, and an average (cost,
  fill price) is shown to the same precision;
* money (P&L, fees, notional, exposure, equity) is rounded to the cent
  (`MONEY_DECIMALS`; every instrument of the universe is in USD);
* the warehouse holds only prices on the grid and mids (no averages), and rounds them
  to `FALLBACK_PRICE_DECIMALS` without knowing the instrument
  (`round_warehouse_prices`): for such a price that is the same float as the
  tick-precision rounding above (tests/realtime/test_presentation.py checks it over the
  universe), so a fill's price reads the same in the API and in the warehouse;
* a time is an ISO-8601 UTC string (`2026-12-03T14:30:00.123456Z`, microseconds)
  next to the integer nanoseconds under a `*_ns` name for programs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from realtime.domain import Instrument

MONEY_DECIMALS: Final = 2
# For a symbol the universe does not know (a journaled rejection of one), and for the
# warehouse, which has no universe: enough decimals to drop binary noise from any real
# price without inventing a tick.
FALLBACK_PRICE_DECIMALS: Final = 8


def price_decimals(tick_size: float) -> int:
    """Decimals of half a tick: where every grid price and every mid is exact."""
    exponent = (Decimal(repr(tick_size)) / 2).normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"tick size must be finite, got {tick_size}")
    return max(0, -exponent)


def round_money(value: float) -> float:
    return round(value, MONEY_DECIMALS)


def round_optional(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(value, decimals)


def round_warehouse_prices(values: Any) -> Any:
    """Prices of a warehouse column (a pandas Series or numpy array): see the module doc."""
    return values.round(FALLBACK_PRICE_DECIMALS)


def round_money_column(values: Any) -> Any:
    """Money of a warehouse column (fees, notional), to the cent like the API's."""
    return values.round(MONEY_DECIMALS)


def iso_utc(ns: int) -> str:
    """Epoch nanoseconds as ISO-8601 UTC with microseconds (the nanoseconds stay in
    the `*_ns` field: JavaScript's Date and most parsers stop at microseconds)."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{rest // 1000:06d}Z"


class Precision:
    """Price decimals per symbol, from the universe (built once per service)."""

    __slots__ = ("_decimals",)

    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self._decimals = {s: price_decimals(i.tick_size) for s, i in instruments.items()}

    def decimals(self, symbol: str) -> int:
        return self._decimals.get(symbol, FALLBACK_PRICE_DECIMALS)

    def price(self, symbol: str, value: float) -> float:
        return round(value, self._decimals.get(symbol, FALLBACK_PRICE_DECIMALS))

    def optional_price(self, symbol: str, value: float | None) -> float | None:
        if value is None:
            return None
        return round(value, self._decimals.get(symbol, FALLBACK_PRICE_DECIMALS))

    def by_symbol(self) -> dict[str, int]:
        return dict(self._decimals)
