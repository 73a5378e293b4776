"""Risk: sizing, liquidation maths, buffers, portfolio limits, trading state (RISK.md).

Pure and synchronous: imports ``bot.domain`` only (config types for annotations), no I/O.
Entry point: ``RiskManager.check(intent, account_view) -> Approved | Rejected``.
"""

from bot.risk.account import AccountView, MarketSnapshot
from bot.risk.codes import Reason, ReasonCode
from bot.risk.decision import Approved, Figures, Rejected, RiskDecision
from bot.risk.liquidation import (
    LiquidationModel,
    bankruptcy_price,
    liquidation_distance,
    liquidation_price,
)
from bot.risk.manager import RiskManager, venue_of
from bot.risk.params import RiskParams
from bot.risk.state import (
    IllegalStateChange,
    Source,
    StateRequest,
    TradingStateMachine,
    Transition,
    allows,
    from_stored,
)
from bot.risk.validate import validate_risk

__all__ = [
    "AccountView",
    "Approved",
    "Figures",
    "IllegalStateChange",
    "LiquidationModel",
    "MarketSnapshot",
    "Reason",
    "ReasonCode",
    "Rejected",
    "RiskDecision",
    "RiskManager",
    "RiskParams",
    "Source",
    "StateRequest",
    "TradingStateMachine",
    "Transition",
    "allows",
    "bankruptcy_price",
    "from_stored",
    "liquidation_distance",
    "liquidation_price",
    "validate_risk",
    "venue_of",
]
