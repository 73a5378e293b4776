"""The risk manager's answers: ``Approved`` with exact order parameters, or ``Rejected``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bot.domain import OrderIntent, PositionSide, Side
from bot.risk.codes import Reason, ReasonCode
from bot.risk.state import StateRequest


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Figures:
    """The numbers behind a decision; on a rejection, whatever was computed before it."""

    qty: Decimal | None = None
    notional: Decimal | None = None
    margin: Decimal | None = None
    risk_amount: Decimal | None = None  # realised: price move to the stop plus costs
    risk_budget: Decimal | None = None  # R = risk_per_trade · E · size_factor
    leverage_requested: Decimal | None = None
    leverage_used: Decimal | None = None
    liquidation_price: Decimal | None = None
    liquidation_distance: Decimal | None = None
    stop_price: Decimal | None = None
    stop_distance: Decimal | None = None
    reference_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Approved:
    """Send exactly this order: ``qty`` is on the step, ``stop_price`` on the tick.

    ``stop_price`` is the protective stop to place after an entry fills (or the trigger of a
    ``stop`` intent). ``state_requests`` are breaker requests the caller must apply.
    """

    intent: OrderIntent
    symbol: str
    side: Side
    position_side: PositionSide
    qty: Decimal
    reduce_only: bool
    notional: Decimal
    margin: Decimal
    risk_amount: Decimal
    risk_budget: Decimal
    leverage_requested: Decimal
    leverage_used: Decimal
    liquidation_price: Decimal | None
    liquidation_distance: Decimal | None
    stop_price: Decimal | None
    stop_distance: Decimal | None
    reference_price: Decimal
    notes: tuple[str, ...] = ()
    state_requests: tuple[StateRequest, ...] = ()
    approved: Literal[True] = True

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return ()

    def to_dict(self) -> dict[str, object]:
        """The ``risk explain --json`` shape (numbers as JSON floats)."""
        return {
            "approved": True,
            "reasons": [],
            "symbol": self.symbol,
            "side": self.side.value,
            "reduce_only": self.reduce_only,
            "qty": _num(self.qty),
            "notional": _num(self.notional),
            "margin": _num(self.margin),
            "risk_amount": _num(self.risk_amount),
            "risk_budget": _num(self.risk_budget),
            "leverage_requested": _num(self.leverage_requested),
            "leverage_used": _num(self.leverage_used),
            "liquidation_price": _num(self.liquidation_price),
            "liquidation_distance": _num(self.liquidation_distance),
            "stop_price": _num(self.stop_price),
            "stop_distance": _num(self.stop_distance),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class Rejected:
    """Do not send; ``reasons`` holds at least one stable code with its numbers."""

    intent: OrderIntent
    reasons: tuple[Reason, ...]
    figures: Figures = Figures()
    notes: tuple[str, ...] = ()
    state_requests: tuple[StateRequest, ...] = ()
    approved: Literal[False] = False

    def __post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a rejection needs at least one reason code")

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        """The reason codes, in the order they were found."""
        return tuple(r.code for r in self.reasons)

    def to_dict(self) -> dict[str, object]:
        """The ``risk explain --json`` shape: codes plus the figures computed so far."""
        f = self.figures
        return {
            "approved": False,
            "reasons": [r.code.value for r in self.reasons],
            "reason_details": [r.to_dict() for r in self.reasons],
            "symbol": self.intent.symbol,
            "qty": _num(f.qty),
            "notional": _num(f.notional),
            "margin": _num(f.margin),
            "risk_amount": _num(f.risk_amount),
            "risk_budget": _num(f.risk_budget),
            "leverage_requested": _num(f.leverage_requested),
            "leverage_used": _num(f.leverage_used),
            "liquidation_price": _num(f.liquidation_price),
            "liquidation_distance": _num(f.liquidation_distance),
            "stop_price": _num(f.stop_price),
            "stop_distance": _num(f.stop_distance),
            "notes": list(self.notes),
        }


RiskDecision = Approved | Rejected
