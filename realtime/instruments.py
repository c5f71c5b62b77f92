"""The tradable universe, loaded from TOML::

[instruments.AAPL]
tick_size = 0.01
lot_size = 1
tradable = true
reference_price = 190.0   # where the synthetic feed starts; optional
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import msgspec

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


class InstrumentsError(ValueError):
    code = "INVALID_INSTRUMENTS"


def load_universe(path: str | Path) -> Universe:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
        return msgspec.convert(document, Universe)
    except FileNotFoundError as exc:
        raise InstrumentsError(f"{path}: file not found") from exc
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise InstrumentsError(f"{path}: {exc}") from exc
