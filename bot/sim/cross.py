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


def account_mm(
    positions: Mapping[str, SimPosition],
    instruments: Mapping[str, Instrument],
    mark: Callable[[str], Decimal],
) -> tuple[Decimal, Decimal]:
    """(Σ maintenance margin, Σ unrealised PnL) of the account at the given marks."""
    mm = upnl = ZERO
    for sym, pos in positions.items():
        m = mark(sym)
        mm += maintenance_margin(instruments[sym], pos, m)
        upnl += pos.unrealised_pnl(m)
    return mm, upnl


def liq_estimate(
    sym: str,
    wallet: Decimal,
    positions: Mapping[str, SimPosition],
    instruments: Mapping[str, Instrument],
    mark: Callable[[str], Decimal],
) -> float:
    """The price of ``sym`` at which the account's MM rate reaches 100 %, the others held
    at their marks (−inf / +inf for a long / short that cannot get there)."""
    pos = positions[sym]
    m = mark(sym)
    others = {s: p for s, p in positions.items() if s != sym}
    mm_o, upnl_o = account_mm(others, instruments, mark)
    tier = instruments[sym].tier_for_notional(pos.size * m)
    q, r, d = pos.size, tier.mmr, tier.mm_deduction
    equity_o = wallet + upnl_o  # the equity without this position's unrealised PnL
    # long: E_o + q(P − avg) = MM_o + qPr − d ; short: E_o − q(P − avg) = MM_o + qPr − d
    if pos.side is PositionSide.LONG:
        p = (mm_o - d - equity_o + q * pos.avg_price) / (q * (1 - r))
        return float(p) if p > 0 else -math.inf
    p = (equity_o - mm_o + d + q * pos.avg_price) / (q * (1 + r))
    return float(p) if p > 0 else math.inf
