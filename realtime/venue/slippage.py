"""Slippage models: how far a taker's price moves against it, in basis points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SlippageModel(Protocol):
    def cost_bps(self, quantity: int, displayed_size: int) -> float:
        """Adverse price move, in basis points, for taking `quantity` from a quote
        that displayed `displayed_size` on the side taken."""
        ...


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage:
    bps: float = 1.0

    def __post_init__(self) -> None:
        if not self.bps >= 0.0:
            raise ValueError(f"slippage must be >= 0 bps, got {self.bps}")

    def cost_bps(self, quantity: int, displayed_size: int) -> float:
        return self.bps


@dataclass(frozen=True, slots=True)
class SizeImpactSlippage:
    """`base_bps + impact_bps * quantity / displayed_size`: taking the whole
    displayed size costs `base_bps + impact_bps`."""

    base_bps: float = 1.0
    impact_bps: float = 5.0

    def __post_init__(self) -> None:
        if not (self.base_bps >= 0.0 and self.impact_bps >= 0.0):
            raise ValueError(f"slippage must be >= 0 bps, got {self}")

    def cost_bps(self, quantity: int, displayed_size: int) -> float:
        if displayed_size <= 0:
            return self.base_bps + self.impact_bps
        return self.base_bps + self.impact_bps * quantity / displayed_size
