"""Liquidation and bankruptcy prices of an isolated, one-way, linear USDT perpetual (RISK.md).

Three formulas, one per venue/account model (RISK.md, "Liquidation price"):

- Binance USDⓈ-M: ``LP = (WB + cum − s·Q·EP) / (Q·MMR − s·Q)``, s = +1 long, −1 short.
  The maintenance margin is charged on the notional *at the liquidation price*, so the tier
  must be the one containing ``Q·LP``; we start from the tier of the entry notional and
  re-check with the tier of ``Q·LP`` until both agree.
- Bybit unified: ``LP = EP ∓ (IM − MM)/Q`` with ``IM = margin`` (N/L by default) and
  ``MM = N·MMR − mmDeduction + fee_to_close``.
- Bybit classic: ``LP = EP·(1 ∓ 1/L ± MMR)`` (no deduction, no fee term).

Everything is ``Decimal``; a long's liquidation price is floored at zero (a fully collateralised
long cannot be liquidated).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from bot.domain import LeverageTier, PositionSide

Venue = Literal["binance", "bybit"]
Account = Literal["unified", "classic"]

_ZERO = Decimal(0)
_ONE = Decimal(1)


def tier_for(tiers: Sequence[LeverageTier], notional: Decimal) -> LeverageTier:
    """The tier whose range contains ``notional`` (by notional, never margin; last beyond)."""
    if not tiers:
        raise ValueError("no leverage tiers given")
    ordered = sorted(tiers, key=lambda t: t.floor)
    for t in ordered:
        if notional <= t.cap:
            return t
    return ordered[-1]


def bankruptcy_price(side: PositionSide, entry: Decimal, leverage: Decimal) -> Decimal:
    """Price at which the isolated margin ``N/L`` is exactly lost: ``EP·(1 ∓ 1/L)``."""
    if leverage <= 0:
        raise ValueError(f"leverage must be > 0 (got {leverage})")
    price = entry * (_ONE - side.sign * _ONE / leverage)
    return max(price, _ZERO)


def _binance_lp(
    side: PositionSide, entry: Decimal, qty: Decimal, margin: Decimal, tier: LeverageTier
) -> Decimal:
    s = side.sign
    denom = qty * tier.mmr - s * qty
    if denom == 0:
        # MMR = 100 % on a long: the formula degenerates; maintenance equals notional.
        return entry
    return (margin + tier.mm_deduction - s * qty * entry) / denom


def _bybit_unified_lp(
    side: PositionSide,
    entry: Decimal,
    qty: Decimal,
    margin: Decimal,
    tier: LeverageTier,
    fee_to_close: Decimal,
) -> Decimal:
    notional = qty * entry
    mm = notional * tier.mmr - tier.mm_deduction + fee_to_close
    return entry - side.sign * (margin - mm) / qty


def _bybit_classic_lp(
    side: PositionSide, entry: Decimal, qty: Decimal, margin: Decimal, tier: LeverageTier
) -> Decimal:
    inv_lev = margin / (qty * entry)
    s = side.sign
    return entry * (_ONE - s * inv_lev + s * tier.mmr)


def liquidation_price(
    venue: Venue,
    side: PositionSide,
    entry: Decimal,
    qty: Decimal,
    leverage: Decimal,
    tiers: Sequence[LeverageTier],
    *,
    account: Account = "unified",
    fee_to_close: Decimal = _ZERO,
    margin: Decimal | None = None,
) -> Decimal:
    """Liquidation price of an isolated position (RISK.md, "Liquidation price").

    ``margin`` defaults to ``N/L`` with ``N = qty·entry``. ``account`` and ``fee_to_close`` only
    matter for Bybit. The tier is looked up by the entry notional, then re-checked with the tier
    of ``qty·LP``; if the tiers never agree (a boundary case), the candidate closest to entry —
    the conservative one — is returned.
    """
    if entry <= 0:
        raise ValueError(f"entry price must be > 0 (got {entry})")
    if qty <= 0:
        raise ValueError(f"quantity must be > 0 (got {qty})")
    if leverage <= 0:
        raise ValueError(f"leverage must be > 0 (got {leverage})")
    if venue not in ("binance", "bybit"):
        raise ValueError(f"unknown venue {venue!r} (expected 'binance' or 'bybit')")
    if account not in ("unified", "classic"):
        raise ValueError(f"unknown account type {account!r} (expected 'unified' or 'classic')")
    notional = qty * entry
    wb = notional / leverage if margin is None else margin

    def compute(tier: LeverageTier) -> Decimal:
        if venue == "binance":
            return _binance_lp(side, entry, qty, wb, tier)
        if account == "classic":
            return _bybit_classic_lp(side, entry, qty, wb, tier)
        return _bybit_unified_lp(side, entry, qty, wb, tier, fee_to_close)

    tier = tier_for(tiers, notional)
    candidates: list[Decimal] = []
    seen: set[tuple[Decimal, Decimal]] = set()
    while (tier.floor, tier.cap) not in seen:
        seen.add((tier.floor, tier.cap))
        lp = max(compute(tier), _ZERO)
        candidates.append(lp)
        at_lp = tier_for(tiers, qty * lp)
        if (at_lp.floor, at_lp.cap) == (tier.floor, tier.cap):
            return lp
        tier = at_lp
    return min(candidates, key=lambda p: abs(p - entry))


def liquidation_distance(entry: Decimal, liq: Decimal) -> Decimal:
    """``|EP − LP| / EP``, the fraction of price between entry and liquidation."""
    return abs(entry - liq) / entry
