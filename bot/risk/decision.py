"""The risk manager's answers: ``Approved`` with exact order parameters, or ``Rejected``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal

from bot.domain import Instrument, OrderIntent, Position, PositionSide, Side
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

    def stop_for(self, pos: Position, inst: Instrument | None) -> Decimal | None:
        """The protective stop for the position this entry filled into: the approved price if it
        still sits on the loss side of the fill and no further away than the approved distance;
        otherwise the approved distance from the actual fill. An entry that gapped through its
        planned stop must never get a stop on the wrong side of the market (it would not
        protect the position)."""
        if self.stop_distance is None:
            return self.stop_price
        s = pos.side.sign
        fill = pos.entry_price
        from_fill = fill * (1 - s * self.stop_distance)
        planned = self.stop_price
        if planned is not None and s * (fill - planned) > 0 and s * (planned - from_fill) >= 0:
            return planned
        if inst is None:
            return from_fill
        return inst.round_price(from_fill, ROUND_CEILING if s > 0 else ROUND_FLOOR)

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
