"""The money a portfolio run moved, read after the run from the objects that traded: the
engine's spot and perpetual executions and funding payments, and the orders the order manager
stored (a perp's role is the ``portfolio:<role>`` reason of the order that opened it, as the
daemon reads it back after a restart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bot.backtest.memory import MemoryStore
from bot.domain import OrderStatus, OrderType
from bot.portfolio.holdings import Role
from bot.runtime.portfolio_core import ROLE_REASON
from bot.sim.engine import SimEngine
from bot.venues.spot import is_spot

_ZERO = Decimal(0)


@dataclass(slots=True)
class Flows:
    """USDT figures of one run (a spot buy's fee, paid in coins, at its fill price)."""

    spot_traded: Decimal = _ZERO  # Σ |notional| of spot fills
    spot_fees: Decimal = _ZERO
    perp_fees: Decimal = _ZERO
    funding: Decimal = _ZERO
    role_pnl: dict[str, Decimal] = field(default_factory=dict)  # closed − fees + funding
    spot_orders: int = 0  # spot orders that filled
    perp_orders: int = 0  # perp market orders that filled (openings, closes; not stops)
    refused: dict[str, int] = field(default_factory=dict)  # venue refusals: spot / perp


def _role(reason: str) -> str | None:
    if not reason.startswith(ROLE_REASON):
        return None
    name = reason.removeprefix(ROLE_REASON)
    return name if name in {r.value for r in Role} else None


def flows_of(engine: SimEngine, store: MemoryStore) -> Flows:
    """Count the run's fills, fees, funding and each role's P&L (events in time order; a
    perp's executions and funding count for the role of the opening that preceded them)."""
    fl = Flows()
    for ex in engine.spot_executions:
        fl.spot_traded += ex.qty * ex.price
        fl.spot_fees += ex.fee * ex.price if ex.fee_currency != "USDT" else ex.fee
    fl.spot_orders = sum(1 for o in engine.spot_orders if o.cum_exec_qty > 0)
    fl.perp_orders = sum(
        1 for o in engine.orders if o.order_type is OrderType.MARKET and o.cum_exec_qty > 0
    )
    for o in store.orders.values():
        if o.status is OrderStatus.REJECTED:
            market = "spot" if is_spot(o.symbol) else "perp"
            fl.refused[market] = fl.refused.get(market, 0) + 1
    opened = {
        o.client_order_id: _role(o.reason) for o in store.orders.values() if not o.reduce_only
    }
    role_of: dict[str, str | None] = {}
    events = sorted(
        [(ex.ts, 0, i) for i, ex in enumerate(engine.executions)]
        + [(f.ts, 1, i) for i, f in enumerate(engine.funding_payments)]
    )
    for _ts, kind, i in events:
        if kind == 0:
            ex = engine.executions[i]
            fl.perp_fees += ex.fee
            if ex.order_link_id in opened and ex.closed_size == 0:
                role_of[ex.symbol] = opened[ex.order_link_id]
            pnl = ex.closed_pnl - ex.fee
            symbol = ex.symbol
        else:
            f = engine.funding_payments[i]
            fl.funding += f.amount
            pnl, symbol = f.amount, f.symbol
        role = role_of.get(symbol)
        if role is not None:
            fl.role_pnl[role] = fl.role_pnl.get(role, _ZERO) + pnl
    return fl
