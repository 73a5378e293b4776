"""Cross margin at the account level (SIM-VENUE.md "Account"; docs/simulator.md).

Model: the positions share the wallet. A position's maintenance margin is Bybit's
``value·MMR − mmDeduction`` with the tier of its value at the mark; the account's MM rate is
``Σ MM / (wallet + Σ unrealised PnL)``. At 100 % the account is liquidated: every other
position is closed at its mark and the one whose move triggered it at the price that takes
the equity to zero (its bankruptcy price in cross), all as ``BustTrade`` executions.

A position's ``liqPrice`` in cross is an estimate: the price of that symbol at which the MM
rate reaches 100 % with every other position held at its current mark (and the tier of the
current value). The replay watches exactly these levels, recomputed every bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal

from bot.domain import Instrument, PositionSide
from bot.sim.types import ZERO, SimPosition


def maintenance_margin(inst: Instrument, pos: SimPosition, mark: Decimal) -> Decimal:
    """Bybit's position MM at ``mark``: value·MMR − mmDeduction of the value's tier."""
    value = pos.size * mark
    tier = inst.tier_for_notional(value)
    return max(value * tier.mmr - tier.mm_deduction, ZERO)


def liq_estimates(
    wallet: Decimal,
    positions: Mapping[str, SimPosition],
    instruments: Mapping[str, Instrument],
    mark: Callable[[str], Decimal],
) -> dict[str, float]:
    """Every position's liquidation estimate (by position key): the price of its symbol at
    which the MM rate of ``positions`` on ``wallet`` reaches 100 %, the others held at marks (−inf / +inf for a long / short
    that cannot get there). O(positions): the account totals are computed once."""
    parts = {}
    for key, pos in positions.items():
        m = mark(pos.symbol)
        inst = instruments[pos.symbol]
        parts[key] = (m, maintenance_margin(inst, pos, m), pos.unrealised_pnl(m))
    mm_all = sum((p[1] for p in parts.values()), ZERO)
    upnl_all = sum((p[2] for p in parts.values()), ZERO)
    out = {}
    for key, pos in positions.items():
        m, mm_self, upnl_self = parts[key]
        mm_o, equity_o = mm_all - mm_self, wallet + upnl_all - upnl_self
        tier = instruments[pos.symbol].tier_for_notional(pos.size * m)
        q, r, d = pos.size, tier.mmr, tier.mm_deduction
        # long: E_o + q(P − avg) = MM_o + qPr − d ; short: E_o − q(P − avg) = MM_o + qPr − d
        if pos.side is PositionSide.LONG:
            p = (mm_o - d - equity_o + q * pos.avg_price) / (q * (1 - r))
            out[key] = float(p) if p > 0 else -math.inf
        else:
            p = (equity_o - mm_o + d + q * pos.avg_price) / (q * (1 + r))
            out[key] = float(p) if p > 0 else math.inf
    return out
