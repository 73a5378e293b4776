"""Start-up validation of risk settings: impossible combinations fail before any order.

``validate_risk(settings)`` returns ``key.path: reason`` lines (empty = fine). Without venue
tiers the liquidation distance is evaluated with one flat tier at ``risk.default_mmr`` (cum 0),
on the configured venue's formula, for the worse of long and short.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from bot.domain import LeverageTier, PositionSide
from bot.risk.buffers import LEVERAGE_STEP, max_safe_leverage, signed_distance
from bot.risk.liquidation import LiquidationModel
from bot.risk.manager import venue_of
from bot.risk.params import RiskParams, dec

if TYPE_CHECKING:
    from bot.config import Settings

# STRATEGY.md, "Stop loss": d_stop = clamp(1.5·ATR/price, 2%, d_max).
STRATEGY_MIN_STOP = Decimal("0.02")
_ONE = Decimal(1)


def flat_tiers(mmr: Decimal) -> tuple[LeverageTier, ...]:
    """One tier covering every notional (what offline tools assume)."""
    return (LeverageTier(Decimal(0), Decimal(10) ** 15, mmr, Decimal(125)),)


def worst_distance(model: LiquidationModel, leverage: Decimal, mmr: Decimal) -> Decimal:
    """Smallest liquidation distance of a long and a short at ``leverage`` (flat tier)."""
    tiers = flat_tiers(mmr)
    return min(
        signed_distance(side, _ONE, model.price(side, _ONE, _ONE, leverage, tiers))
        for side in PositionSide
    )


def _max_leverage(
    model: LiquidationModel, required: Decimal, mmr: Decimal, step: Decimal
) -> Decimal | None:
    found = [
        max_safe_leverage(model, side, _ONE, _ONE, flat_tiers(mmr), required, Decimal(125), step)
        for side in PositionSide
    ]
    return None if any(f is None for f in found) else min(f for f in found if f is not None)


def validate_risk(settings: Settings) -> list[str]:
    """Every impossible or self-defeating risk combination, as ``key.path: reason`` lines."""
    errors: list[str] = []
    rc = settings.risk
    p = RiskParams.from_config(rc)
    try:
        venue = venue_of(settings.exchange.name)
    except ValueError as exc:
        return [str(exc)]
    model = LiquidationModel(venue, p.account_type, p.taker_fee)
    step = LEVERAGE_STEP[venue]
    mmr = dec(rc.default_mmr)
    m, g, lev = p.min_liquidation_distance, p.stop_liquidation_gap, p.leverage
    st = settings.strategy
    fixed = st.stop_mode == "fixed"
    widest = dec(st.stop_pct) if fixed else p.stop_max_pct
    widest_key = "strategy.stop_pct" if fixed else "risk.stop_max_pct"

    if p.max_total_open_risk < p.risk_per_trade:
        errors.append(
            f"risk.max_total_open_risk: {p.max_total_open_risk} is below risk.risk_per_trade "
            f"{p.risk_per_trade}, so no trade could ever open"
        )
    if fixed and dec(st.stop_pct) > p.stop_max_pct:
        errors.append(
            f"strategy.stop_pct: {st.stop_pct} is wider than risk.stop_max_pct {rc.stop_max_pct}; "
            "every entry would be rejected"
        )
    if settings.mode == "replay":
        floor = 2 * dec(settings.backtest.fee_taker) + dec(settings.backtest.slippage)
        if p.cost_allowance < floor:
            errors.append(
                f"risk.cost_allowance: {rc.cost_allowance} is below 2·backtest.fee_taker + "
                f"backtest.slippage = {floor}; realised losses at the stop would exceed risk_per_trade"
            )

    dist = worst_distance(model, lev, mmr)
    need = max(m, widest + g)
    at = f"at risk.leverage {lev}x liquidation sits {dist:.2%} from entry ({venue}, MMR {mmr:.2%})"
    policy = p.on_unsafe_leverage
    if policy == "reduce_leverage":
        if worst_distance(model, _ONE, mmr) < need:
            errors.append(
                f"risk.min_liquidation_distance: even at 1x liquidation is closer than "
                f"max(min_liquidation_distance {m}, {widest_key} {widest} + stop_liquidation_gap {g}) "
                f"= {need:.2%}; reduce_leverage can never make an entry safe"
            )
    elif policy == "reject":
        if dist < need:
            safe = _max_leverage(model, need, mmr, step)
            hint = f"risk.leverage ≤ {safe}" if safe is not None else "a smaller stop or gap"
            what = (
                f"risk.min_liquidation_distance {m}"
                if dist < m
                else f"a {widest_key} of {widest} plus risk.stop_liquidation_gap {g}"
            )
            errors.append(
                f"risk.on_unsafe_leverage: 'reject' with {what} needs liquidation ≥ {need:.2%} "
                f"away, but {at}: such entries can never be safe. Use {hint}, a tighter stop, "
                "or on_unsafe_leverage = 'reduce_leverage'"
            )
    elif policy == "tighten_stop":
        if dist < m:
            safe = _max_leverage(model, m, mmr, step)
            errors.append(
                f"risk.on_unsafe_leverage: 'tighten_stop' cannot satisfy risk.min_liquidation_distance "
                f"{m}: {at}, and a tighter stop only grows the position. Use risk.leverage ≤ {safe} "
                "or on_unsafe_leverage = 'reduce_leverage'"
            )
        elif dist - g < STRATEGY_MIN_STOP:
            errors.append(
                f"risk.stop_liquidation_gap: 'tighten_stop' would leave stops of at most "
                f"{dist - g:.2%} ({at}, minus the gap {g}), tighter than the strategy's 2% floor"
            )
    return errors
