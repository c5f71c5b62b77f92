"""The tradable universe, loaded from TOML::

[instruments.AAPL]
tick_size = 0.01
lot_size = 1
tradable = true
multiplier = 1            # money per price point per unit (futures: the contract size)
currency = "USD"          # the currency of prices and money
reference_price = 190.0   # where the synthetic feed starts; optional

[fees]                    # what the simulated venue charges per fill; optional
taker_bps = 0.5           # every field of realtime.venue.fees.FeeSchedule, 0 by default
min_per_fill = 0.01
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec

from realtime.config_errors import ConfigError, ConfigProblem, check_table, read_toml
from realtime.domain import Instrument
from realtime.venue.fees import NO_FEES, FeeSchedule


class InstrumentSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tick_size: Annotated[float, msgspec.Meta(gt=0)]
    lot_size: Annotated[int, msgspec.Meta(gt=0)] = 1
    tradable: bool = True
    multiplier: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "USD"
    reference_price: Annotated[float, msgspec.Meta(gt=0)] | None = None


class Universe(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instruments: dict[str, InstrumentSpec]
    fees: FeeSchedule = NO_FEES

    def by_symbol(self) -> dict[str, Instrument]:
        return {
            symbol: Instrument(
                symbol=symbol,
                tick_size=s.tick_size,
                lot_size=s.lot_size,
                tradable=s.tradable,
                multiplier=s.multiplier,
                currency=s.currency,
            )
            for symbol, s in self.instruments.items()
        }


_TOP_LEVEL = frozenset({"instruments", "fees"})


class InstrumentsError(ConfigError):
    code = "INVALID_INSTRUMENTS"


def load_universe(path: str | Path) -> Universe:
    """Load the instruments file; InstrumentsError lists every bad instrument field."""
    path = Path(path)
    source = str(path)
    document = read_toml(path, InstrumentsError)
    problems = [
        ConfigProblem(
            source, name, "unknown top-level key (expected [instruments.SYMBOL] or [fees])"
        )
        for name in document
        if name not in _TOP_LEVEL
    ]
    table = document.get("instruments")
    if not isinstance(table, dict) or not table:
        problems.append(ConfigProblem(source, "[instruments]", "no [instruments.SYMBOL] tables"))
        table = {}
    instruments: dict[str, InstrumentSpec] = {}
    for symbol, entry in table.items():
        spec, found = check_table(
            entry, InstrumentSpec, source=source, where=f"[instruments.{symbol}]"
        )
        problems += found
        if spec is not None:
            instruments[symbol] = spec
    fees: FeeSchedule | None = NO_FEES
    if "fees" in document:
        fees, found = check_table(document["fees"], FeeSchedule, source=source, where="[fees]")
        problems += found
    if problems or fees is None:
        raise InstrumentsError(problems or [ConfigProblem(source, "[fees]", "invalid")])
    return Universe(instruments=instruments, fees=fees)
