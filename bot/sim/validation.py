"""Order parameter checks with Bybit's retCodes (SIM-VENUE.md, "Validation")."""

from __future__ import annotations

from decimal import Decimal

from bot.domain import Instrument
from bot.sim.types import SimError


def check_qty(inst: Instrument, qty: Decimal, *, market: bool = False) -> None:
    """Qty step, min qty and max qty (10001)."""
    sym = inst.symbol
    if not qty.is_finite() or qty <= 0:
        raise SimError(SimError.BAD_PARAMS, f"{sym}: qty must be > 0 (got {qty})", "qty_le_zero")
    if qty % inst.qty_step != 0:
        raise SimError(
            SimError.BAD_PARAMS, f"{sym}: qty {qty} not a multiple of {inst.qty_step}", "qty_step"
        )
    if qty < inst.min_qty:
        raise SimError(
            SimError.BAD_PARAMS, f"{sym}: qty {qty} below min qty {inst.min_qty}", "min_qty"
        )
    if inst.max_qty is not None and qty > inst.max_qty:
        raise SimError(
            SimError.BAD_PARAMS, f"{sym}: qty {qty} above max qty {inst.max_qty}", "max_qty"
        )
    if market and inst.max_mkt_qty is not None and qty > inst.max_mkt_qty:
        raise SimError(
            SimError.BAD_PARAMS,
            f"{sym}: market order qty {qty} above max market qty {inst.max_mkt_qty}",
            "max_qty",
        )


def check_price(inst: Instrument, price: Decimal | None, name: str) -> Decimal:
    """A positive price on the tick grid (10001)."""
    if price is None or not price.is_finite() or price <= 0:
        raise SimError(
            SimError.BAD_PARAMS, f"{inst.symbol}: {name} must be > 0 (got {price})", "price_le_zero"
        )
    if price % inst.tick_size != 0:
        raise SimError(
            SimError.BAD_PARAMS,
            f"{inst.symbol}: {name} {price} not a multiple of tick {inst.tick_size}",
            "tick",
        )
    return price


RISING, FALLING = 1, 2


def check_trigger(trigger: Decimal, price: Decimal, direction: int | None) -> int:
    """Bybit's conditional-order check, the same for every face.

    ``triggerDirection`` is required (Bybit answers 10001 "TriggerDirection invalid" for a
    linear conditional order without one): 1 fires when the price rises to the trigger, 2 when
    it falls to it. A trigger the price has already reached (1 with trigger ≤ price, 2 with
    trigger ≥ price) is refused with 110092 / 110093, never turned into the other direction.
    """
    if direction not in (RISING, FALLING):
        raise SimError(
            SimError.BAD_PARAMS,
            f"params error: TriggerDirection invalid ({direction!r})",
            "trigger_direction",
        )
    if direction == RISING and trigger <= price:
        raise SimError(
            SimError.TRIGGER_RISING,
            f"expect Rising, but trigger_price[{trigger}] <= current[{price}]",
        )
    if direction == FALLING and trigger >= price:
        raise SimError(
            SimError.TRIGGER_FALLING,
            f"expect Falling, but trigger_price[{trigger}] >= current[{price}]",
        )
    return direction


def check_opening(
    inst: Instrument,
    opening: Decimal,
    held: Decimal,
    price: Decimal,
    leverage: Decimal,
    fee: Decimal,
    available: Decimal,
) -> None:
    """Risk-limit tier (110090) and margin (110007) for ``opening`` new exposure on top of
    ``held`` same-side size: the tier of the resulting notional must allow ``leverage``, and
    ``opening·price/leverage + fee`` must fit in ``available``."""
    if opening <= 0:
        return
    notional = (opening + held) * price
    tier = inst.tier_for_notional(notional)
    if leverage > tier.max_leverage:
        raise SimError(
            SimError.RISK_LIMIT,
            f"{inst.symbol}: position value {notional} allows at most "
            f"{tier.max_leverage}x (leverage is {leverage}x)",
        )
    need = opening * price / leverage + fee
    if need > available:
        raise SimError(
            SimError.INSUFFICIENT_BALANCE,
            f"{inst.symbol}: order needs {need} margin+fee, available {available}",
        )
