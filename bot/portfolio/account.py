"""Previewing the roles' perp intents through the ``RiskManager`` offline.

The daemon (part 2) builds its ``AccountView`` from the venue; offline, ``rotor allocate``
builds one from the holdings as a unified account sees it: equity is the whole portfolio
(spot coins count as collateral), free margin is equity minus the perps' margin, and the
breakers see no history (day start and peak = equity). Intents are checked in order, each
against the account as the earlier approvals leave it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from bot.domain import Instrument, Position, TradingState
from bot.portfolio.holdings import Holdings, Valuation
from bot.portfolio.roles import PerpAction
from bot.risk.account import AccountView, MarketSnapshot
from bot.risk.decision import Approved, Rejected
from bot.risk.manager import RiskManager


@dataclass(frozen=True, slots=True)
class CheckedPerp:
    """A role's intent and the risk manager's answer."""

    action: PerpAction
    decision: Approved | Rejected


def account_view(
    holdings: Holdings,
    val: Valuation,
    prices: Mapping[str, Decimal],
    instruments: Mapping[str, Instrument],
    funding_8h: Mapping[str, Decimal],
    now_ms: int,
) -> AccountView:
    """The unified-account view of the holdings at ``now_ms``."""
    positions = tuple(
        Position(
            p.symbol, p.side, p.qty, p.entry_price, p.leverage, now_ms, margin=p.margin,
            sector=instruments[p.symbol].sector if p.symbol in instruments else None,
        )
        for p in holdings.perps
    )  # fmt: skip
    market = {
        s: MarketSnapshot(px, px, now_ms, funding_8h.get(s))
        for s, px in prices.items()
        if s in instruments
    }
    return AccountView(
        now_ms=now_ms,
        equity=val.nav,
        wallet_balance=val.nav - val.upnl,
        free_margin=val.nav - val.perp_margin,
        day_start_equity=val.nav,
        peak_equity=val.nav,
        trading_state=TradingState.ACTIVE,
        instruments=instruments,
        market=market,
        positions=positions,
    )


def _after(view: AccountView, ok: Approved) -> AccountView:
    """The account once ``ok`` has filled at its reference price."""
    held = tuple(p for p in view.positions if p.symbol != ok.symbol)
    if ok.reduce_only:
        released = sum((p.margin for p in view.positions if p.symbol == ok.symbol), Decimal(0))
        return replace(view, positions=held, free_margin=view.free_margin + released)
    pos = Position(
        ok.symbol, ok.position_side, ok.qty, ok.reference_price, ok.leverage_used, view.now_ms,
        stop_price=ok.stop_price, liquidation_price=ok.liquidation_price, margin=ok.margin,
        sector=ok.intent.sector,
    )  # fmt: skip
    return replace(
        view,
        positions=(*held, pos),
        free_margin=view.free_margin - ok.margin,
        recent_order_ms=(*view.recent_order_ms, view.now_ms),
    )


def check_perps(
    actions: Sequence[PerpAction], risk: RiskManager, view: AccountView
) -> list[CheckedPerp]:
    """Closes first, then openings, each checked against the account the previous left."""
    ordered = sorted(actions, key=lambda a: 0 if a.intent.reduce_only else 1)
    out: list[CheckedPerp] = []
    for a in ordered:
        d = risk.check(a.intent, view)
        if isinstance(d, Approved):
            view = _after(view, d)
        out.append(CheckedPerp(a, d))
    return out
