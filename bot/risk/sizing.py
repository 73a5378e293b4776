"""Position sizing by risk per trade (RISK.md, "Position sizing").

``R = risk_per_trade · E``; ``N = R / (d_stop + c)``; ``Q = N / EP`` rounded *down* to the step.
Leverage never enters here: it only sets the margin and the liquidation price.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from bot.domain import PositionSide

_ZERO = Decimal(0)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round ``value`` down to a multiple of ``step`` (a step of 0 leaves it unchanged)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def risk_budget(
    equity: Decimal, risk_per_trade: Decimal, size_factor: Decimal = Decimal(1)
) -> Decimal:
    """``R = risk_per_trade · E``, scaled by the intent's size factor (e.g. 0.5 in risk-off)."""
    return max(equity, _ZERO) * risk_per_trade * size_factor


def notional_for_risk(risk: Decimal, stop_distance: Decimal, cost: Decimal) -> Decimal:
    """``N = R / (d_stop + c)``: the notional whose stop-out loses exactly ``R`` after costs."""
    if stop_distance <= 0:
        raise ValueError(f"stop distance must be > 0 (got {stop_distance})")
    return risk / (stop_distance + cost)


def stop_price_for(
    side: PositionSide, entry: Decimal, stop_distance: Decimal, tick: Decimal
) -> Decimal:
    """Stop trigger price ``EP·(1 ∓ d)``, rounded to the tick *towards entry*.

    Towards entry is the safe direction for both rules: it shrinks the loss at the stop and
    widens the gap between stop and liquidation.
    """
    raw = entry * (Decimal(1) - side.sign * stop_distance)
    if tick <= 0:
        return raw
    rounding = ROUND_CEILING if side is PositionSide.LONG else ROUND_FLOOR
    return (raw / tick).to_integral_value(rounding=rounding) * tick


def realised_risk(
    side: PositionSide, entry: Decimal, qty: Decimal, stop_price: Decimal, cost: Decimal
) -> Decimal:
    """Loss if the stop fires: ``Q·s·(EP − stop) + c·Q·EP`` (price move plus round-trip costs)."""
    return qty * side.sign * (entry - stop_price) + cost * qty * entry
