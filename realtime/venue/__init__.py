"""Execution venues: the adapter interface and a simulated venue.

interface    what a venue is sent and what it reports (execution reports)
translation  how the engine turns a venue's reports into journal events
slippage     slippage models (how far a taker's price moves against it)
fees         the fee schedule charged per fill
book         the simulated venue's order book and price grid
simulated    the simulated venue: ack latency, partial fills, IOC/FOK, DAY expiry
"""

from realtime.venue.fees import NO_FEES, FeeSchedule
from realtime.venue.interface import (
    CANCEL_FOK_UNFILLED,
    CANCEL_IOC_REMAINDER,
    CANCEL_NO_MARKET,
    CANCEL_USER,
    Acked,
    Canceled,
    CancelRejected,
    ExecutionReport,
    Expired,
    Filled,
    Liquidity,
    Rejected,
    Replaced,
    ReplaceRejected,
    Venue,
    VenueQueueFull,
)
from realtime.venue.simulated import SimulatedVenue, SimulatedVenueConfig
from realtime.venue.slippage import FixedBpsSlippage, SizeImpactSlippage, SlippageModel

__all__ = [
    "CANCEL_FOK_UNFILLED",
    "CANCEL_IOC_REMAINDER",
    "CANCEL_NO_MARKET",
    "CANCEL_USER",
    "NO_FEES",
    "Acked",
    "CancelRejected",
    "Canceled",
    "ExecutionReport",
    "Expired",
    "FeeSchedule",
    "Filled",
    "FixedBpsSlippage",
    "Liquidity",
    "Rejected",
    "ReplaceRejected",
    "Replaced",
    "SimulatedVenue",
    "SimulatedVenueConfig",
    "SizeImpactSlippage",
    "SlippageModel",
    "Venue",
    "VenueQueueFull",
]
