"""The two liquidation buffer rules and the ``on_unsafe_leverage`` policies (RISK.md).

Rules, for every order (distances are fractions of the entry price):

- ``min_liquidation_distance`` m: ``s·(EP − LP)/EP ≥ m``;
- ``stop_liquidation_gap`` g: the stop sits at least ``g·EP`` inside the liquidation price,
  ``s·(stop − LP)/EP ≥ g``. With a stop at distance d this is ``distance ≥ d + g``.

So both rules ask for ``distance ≥ D = max(m, d + g)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.domain import LeverageTier, PositionSide
from bot.risk.liquidation import LiquidationModel, tier_for
from bot.risk.sizing import floor_to_step, notional_for_risk

_ZERO = Decimal(0)
_ONE = Decimal(1)

# Binance accepts integer leverage only; Bybit takes two decimals.
LEVERAGE_STEP: dict[str, Decimal] = {"binance": Decimal(1), "bybit": Decimal("0.01")}


@dataclass(frozen=True, slots=True)
class BufferRules:
    """``min_liquidation_distance`` and ``stop_liquidation_gap`` as Decimals."""

    min_liq_distance: Decimal
    stop_liq_gap: Decimal

    def required_distance(self, stop_distance: Decimal) -> Decimal:
        """``D = max(m, d + g)``: the liquidation distance both rules need."""
        return max(self.min_liq_distance, stop_distance + self.stop_liq_gap)


@dataclass(frozen=True, slots=True)
class BufferCheck:
    """Outcome of both rules for one concrete order."""

    liquidation_price: Decimal
    distance: Decimal  # signed: negative means liquidation sits on the wrong side of entry
    stop_gap: Decimal | None  # s·(stop − LP)/EP
    liq_ok: bool
    gap_ok: bool

    @property
    def ok(self) -> bool:
        return self.liq_ok and self.gap_ok


def signed_distance(side: PositionSide, entry: Decimal, liq: Decimal) -> Decimal:
    """``s·(EP − LP)/EP``: how far price can move against the position before liquidation."""
    return side.sign * (entry - liq) / entry


def check_buffers(
    model: LiquidationModel,
    side: PositionSide,
    entry: Decimal,
    qty: Decimal,
    leverage: Decimal,
    tiers: Sequence[LeverageTier],
    stop_price: Decimal | None,
    rules: BufferRules,
) -> BufferCheck:
    """Evaluate both buffer rules with the exact liquidation price."""
    lp = model.price(side, entry, qty, leverage, tiers)
    dist = signed_distance(side, entry, lp)
    gap = None if stop_price is None else side.sign * (stop_price - lp) / entry
    return BufferCheck(
        liquidation_price=lp,
        distance=dist,
        stop_gap=gap,
        liq_ok=dist >= rules.min_liq_distance,
        gap_ok=gap is None or gap >= rules.stop_liq_gap,
    )


def leverage_cap(
    tiers: Sequence[LeverageTier], notional: Decimal, requested: Decimal, step: Decimal
) -> Decimal:
    """``min(requested, tier max leverage)`` rounded down to the venue's step, at least 1."""
    cap = min(requested, tier_for(tiers, notional).max_leverage)
    return max(floor_to_step(cap, step), _ONE)


def _distance_ok(
    model: LiquidationModel,
    side: PositionSide,
    entry: Decimal,
    qty: Decimal,
    leverage: Decimal,
    tiers: Sequence[LeverageTier],
    required: Decimal,
) -> bool:
    lp = model.price(side, entry, qty, leverage, tiers)
    return signed_distance(side, entry, lp) >= required


def max_safe_leverage(
    model: LiquidationModel,
    side: PositionSide,
    entry: Decimal,
    qty: Decimal,
    tiers: Sequence[LeverageTier],
    required: Decimal,
    cap: Decimal,
    step: Decimal,
) -> Decimal | None:
    """Largest leverage ≤ ``cap`` on the venue's step whose liquidation distance is ≥ ``required``.

    RISK.md gives the closed form ``L ≤ 1/(d·(1 − MMR) + MMR)`` for a Binance long with cum = 0.
    In general every formula is linear in the margin for a fixed tier, and at the boundary the
    liquidation price *is* the target ``LP* = EP·(1 − s·D)``, so the tier is the one of
    ``Q·LP*``: solve that line for the margin, then verify with the full (re-checked) formula.
    If the tiers make the boundary ambiguous, a bisection over the step grid settles it (the
    distance only grows as leverage falls). Returns None when even 1x is unsafe.
    """
    notional = qty * entry
    target = entry * (_ONE - side.sign * required)
    tier = tier_for(tiers, qty * max(target, _ZERO))
    at0 = model.price_for_tier(side, entry, qty, _ZERO, tier)
    at_n = model.price_for_tier(side, entry, qty, notional, tier)
    candidate = cap
    if at_n != at0:
        margin = (target - at0) * notional / (at_n - at0)
        if margin > 0:
            candidate = min(cap, notional / margin)
    candidate = max(floor_to_step(candidate, step), _ONE)
    if _distance_ok(model, side, entry, qty, candidate, tiers, required):
        return candidate
    if not _distance_ok(model, side, entry, qty, _ONE, tiers, required):
        return None
    lo = 0  # multiples of step above 1x; lo is known safe, hi known unsafe
    hi = int((candidate - _ONE) / step)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _distance_ok(model, side, entry, qty, _ONE + mid * step, tiers, required):
            lo = mid
        else:
            hi = mid
    return _ONE + lo * step


def tightened_stop(
    model: LiquidationModel,
    side: PositionSide,
    entry: Decimal,
    tiers: Sequence[LeverageTier],
    risk: Decimal,
    cost: Decimal,
    stop_distance: Decimal,
    rules: BufferRules,
    requested_leverage: Decimal,
    step: Decimal,
) -> Decimal | None:
    """Largest ``d' ≤ d`` with ``distance(N(d')) ≥ d' + g``, where ``N(d') = R/(d' + c)``.

    Tightening grows the notional (risk stays R), which can move it into a tier with a higher
    MMR or lower max leverage and so pull liquidation closer; iterate ``d ← distance − g``.
    The sequence only falls and every safe d' stays below each iterate, so it converges to
    the largest safe stop. Returns None when no positive stop is safe.
    """
    d = stop_distance
    for _ in range(200):
        notional = notional_for_risk(risk, d, cost)
        qty = notional / entry
        lev = leverage_cap(tiers, notional, requested_leverage, step)
        dist = signed_distance(side, entry, model.price(side, entry, qty, lev, tiers))
        room = dist - rules.stop_liq_gap
        if room >= d:
            return d
        if room <= 0:
            return None
        # A hair below the fixed point so the iteration ends in finitely many steps.
        d = room * Decimal("0.999999")
    return None
