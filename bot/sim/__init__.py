"""The exchange simulator: one matching engine with an in-process and a Bybit v5 HTTP face."""

from bot.sim.engine import SimEngine
from bot.sim.market import SimMarket
from bot.sim.types import (
    SimError,
    SimExecution,
    SimFunding,
    SimOrder,
    SimPosition,
    SimStatus,
)
from bot.sim.venue import SimVenue

__all__ = [
    "SimEngine",
    "SimError",
    "SimExecution",
    "SimFunding",
    "SimMarket",
    "SimOrder",
    "SimPosition",
    "SimStatus",
    "SimVenue",
]
