"""Reduce-only intents: exits, protective stops and the kill switch's flattening.

They never add risk, so only the trading state (HALTED allows just the kill switch) and the
order-rate breaker apply; quantities are clamped to the position and rounded down to the step.
"""

from __future__ import annotations

from decimal import Decimal

from bot.domain import OrderIntent
from bot.risk.account import AccountView
from bot.risk.codes import Reason, ReasonCode
from bot.risk.decision import Approved, Figures, Rejected
from bot.risk.limits import order_rate_guard, price_ok, state_guard
from bot.risk.params import RiskParams
from bot.risk.sizing import floor_to_step, stop_price_for
from bot.risk.state import StateRequest

_ZERO = Decimal(0)


def check_reduce(intent: OrderIntent, view: AccountView, params: RiskParams) -> Approved | Rejected:
    """Approve a reduce-only order for (part of) the held position, or say why not."""
    reasons: list[Reason] = []
    requests: list[StateRequest] = []
    found = state_guard(view.trading_state, intent, reduce_only=True)
    if found:
        reasons.append(found)
    if intent.kind != "kill":
        rate = order_rate_guard(view, params)
        if rate:
            # Reduce-only orders cannot add risk: let them through, but stop the runaway.
            requests.append(rate[1])
    pos = view.position(intent.symbol)
    if pos is None or pos.side is not intent.side:
        held = "nothing" if pos is None else f"a {pos.side} position"
        reasons.append(
            Reason(
                ReasonCode.NO_POSITION,
                f"{intent.symbol}: no {intent.side} position to reduce (holding {held})",
                {"symbol": intent.symbol},
            )
        )
        return Rejected(intent, tuple(reasons), Figures(), (), tuple(requests))
    inst = view.instruments.get(intent.symbol)
    qty = pos.qty if intent.qty is None else min(intent.qty, pos.qty)
    if inst is not None and qty < pos.qty:
        qty = floor_to_step(qty, inst.qty_step)
    if qty <= 0:
        reasons.append(
            Reason(ReasonCode.BELOW_MIN_QTY, f"nothing to reduce (qty {qty})", {"qty": qty})
        )
    stop: Decimal | None = None
    ref = intent.reference_price
    if intent.kind == "stop":
        tick = inst.tick_size if inst is not None else _ZERO
        d = intent.stop_distance or _ZERO
        stop = stop_price_for(pos.side, ref, d, tick) if price_ok(ref) else None
        if stop is None or not price_ok(stop):
            reasons.append(
                Reason(
                    ReasonCode.BAD_PRICE,
                    f"stop trigger price {stop} is unusable",
                    {"reference": str(ref)},
                )
            )
    price = ref if price_ok(ref) else (view.mark_of(intent.symbol) or pos.entry_price)
    if reasons:
        figures = Figures(
            qty=qty,
            notional=qty * price,
            margin=_ZERO,
            risk_amount=_ZERO,
            leverage_requested=pos.leverage,
            leverage_used=pos.leverage,
            liquidation_price=pos.liquidation_price,
            stop_price=stop,
            reference_price=price,
        )
        return Rejected(intent, tuple(reasons), figures, (), tuple(requests))
    liq = pos.liquidation_price
    return Approved(
        intent=intent,
        symbol=intent.symbol,
        side=pos.side.exit_side,
        position_side=pos.side,
        qty=qty,
        reduce_only=True,
        notional=qty * price,
        margin=_ZERO,
        risk_amount=_ZERO,
        risk_budget=_ZERO,
        leverage_requested=pos.leverage,
        leverage_used=pos.leverage,
        liquidation_price=liq,
        liquidation_distance=None
        if liq is None
        else pos.side.sign * (pos.entry_price - liq) / pos.entry_price,
        stop_price=stop,
        stop_distance=intent.stop_distance if intent.kind == "stop" else None,
        reference_price=price,
        notes=(f"reduce-only {intent.kind} of {qty} {intent.symbol} ({view.trading_state})",),
        state_requests=tuple(requests),
    )
