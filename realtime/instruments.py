"""The tradable universe, loaded from TOML::

[instruments.AAPL]
tick_size = 0.01
lot_size = 1
tradable = true
reference_price = 190.0   # where the synthetic feed starts; optional
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec

from realtime.config_errors import ConfigError, ConfigProblem, check_table, read_toml
from realtime.domain import Instrument


class InstrumentSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tick_size: Annotated[float, msgspec.Meta(gt=0)]
    lot_size: Annotated[int, msgspec.Meta(gt=0)] = 1
    tradable: bool = True
    reference_price: Annotated[float, msgspec.Meta(gt=0)] | None = None


class Universe(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instruments: dict[str, InstrumentSpec]

    def by_symbol(self) -> dict[str, Instrument]:
        return {
            symbol: Instrument(
                symbol=symbol, tick_size=s.tick_size, lot_size=s.lot_size, tradable=s.tradable
            )
            for symbol, s in self.instruments.items()
        }


class InstrumentsError(ConfigError):
    code = "INVALID_INSTRUMENTS"


def load_universe(path: str | Path) -> Universe:
    """Load the instruments file; InstrumentsError lists every bad instrument field."""
    path = Path(path)
    source = str(path)
    document = read_toml(path, InstrumentsError)
    problems = [
        ConfigProblem(source, name, "unknown top-level key (expected [instruments.SYMBOL])")
        for name in document
        if name != "instruments"
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
    if problems:
        raise InstrumentsError(problems)
    return Universe(instruments=instruments)
