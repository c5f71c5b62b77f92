"""Contract multipliers for the batch side, from the instruments file the service uses.

Money is `quantity x price x multiplier` (realtime.pnl): a future's contract size
(ESZ6: 50 per index point), 1 for a share. The reports and the TCA read the same
file, with the same loader (`realtime.instruments.load_universe`), as the service,
at the path `orchestration.settings.Settings.instruments_path` (TRADEPIPE_INSTRUMENTS,
realtime.layout), so their money agrees with the service's.

A symbol the instruments file does not list counts at 1x (`multiplier_of`): a fill
in such a symbol was made when the file listed it, or by hand in a test, and a
share is the safe reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from realtime.instruments import load_universe

ONE_X: Final = 1.0
Multipliers = Mapping[str, float]  # symbol -> contract multiplier
NO_MULTIPLIERS: Final[Multipliers] = {}  # every symbol 1x


def load_multipliers(path: str | Path) -> dict[str, float]:
    """Each listed symbol's multiplier; raises InstrumentsError (INVALID_INSTRUMENTS),
    naming every bad field, as the service does at start."""
    return {symbol: spec.multiplier for symbol, spec in load_universe(path).instruments.items()}


def multiplier_of(multipliers: Multipliers, symbol: str) -> float:
    """The contract multiplier of `symbol`: 1x for a symbol the instruments config
    does not know."""
    return float(multipliers.get(symbol, ONE_X))


def multipliers_of(multipliers: Multipliers, symbols: pd.Series) -> np.ndarray:
    """`multiplier_of` for each symbol of a column (float64, aligned with it)."""
    mapped = pd.Series(symbols, copy=False).map(dict(multipliers))
    return mapped.fillna(ONE_X).to_numpy(dtype=np.float64)
