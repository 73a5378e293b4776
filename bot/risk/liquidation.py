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
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bot.domain import LeverageTier, PositionSide

Venue = Literal["binance", "bybit"]
Account = Literal["unified", "classic"]

_ZERO = Decimal(0)
_ONE = Decimal(1)


# Tier tuples (immutable, one per instrument) by id, with the tuple itself (so the id is not
# reused while cached) and its tiers by floor: a check sorts them once, not on every lookup.
_BY_FLOOR: dict[int, tuple[tuple[LeverageTier, ...], tuple[LeverageTier, ...]]] = {}
_BY_FLOOR_MAX = 4096


def _by_floor(tiers: Sequence[LeverageTier]) -> Sequence[LeverageTier]:
    hit = _BY_FLOOR.get(id(tiers))
    if hit is not None and hit[0] is tiers:
        return hit[1]
    ordered = tuple(sorted(tiers, key=lambda t: t.floor))
    if isinstance(tiers, tuple):  # a list may change: sorted again each time
        if len(_BY_FLOOR) >= _BY_FLOOR_MAX:
            _BY_FLOOR.clear()
        _BY_FLOOR[id(tiers)] = (tiers, ordered)
    return ordered


def tier_for(tiers: Sequence[LeverageTier], notional: Decimal) -> LeverageTier:
    """The tier whose range contains ``notional`` (by notional, never margin; last beyond)."""
    if not tiers:
        raise ValueError("no leverage tiers given")
    ordered = _by_floor(tiers)
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


def liquidation_price_for_tier(
    venue: Venue,
    side: PositionSide,
    entry: Decimal,
    qty: Decimal,
    margin: Decimal,
    tier: LeverageTier,
    *,
    account: Account = "unified",
    fee_to_close: Decimal = _ZERO,
) -> Decimal:
    """The raw formula for one fixed tier: no tier re-check, no flooring at zero.

    Linear in ``margin`` (and in ``fee_to_close``), which the leverage solver relies on.
    """
    s = side.sign
    if venue == "binance":
        return _binance_lp(side, entry, qty, margin, tier)
    notional = qty * entry
    if account == "classic":
        return entry * (_ONE - s * margin / notional + s * tier.mmr)
    mm = notional * tier.mmr - tier.mm_deduction + fee_to_close
    return entry - s * (margin - mm) / qty


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
        return liquidation_price_for_tier(
            venue, side, entry, qty, wb, tier, account=account, fee_to_close=fee_to_close
        )

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


@dataclass(frozen=True, slots=True)
class LiquidationModel:
    """A venue's liquidation formula with its account type and the Bybit fee-to-close estimate.

    Bybit's maintenance margin includes the taker fee to close at the bankruptcy price
    (RISK.md): ``fee = taker · Q · BP = taker · (N − s·margin)``, linear in the margin.
    """

    venue: Venue
    account: Account = "unified"
    taker_fee: Decimal = _ZERO

    def fee_to_close(
        self, side: PositionSide, entry: Decimal, qty: Decimal, margin: Decimal
    ) -> Decimal:
        """Estimated fee to close at the bankruptcy price (Bybit unified only, else 0)."""
        if self.venue != "bybit" or self.account != "unified":
            return _ZERO
        return max(qty * entry - side.sign * margin, _ZERO) * self.taker_fee

    def price(
        self,
        side: PositionSide,
        entry: Decimal,
        qty: Decimal,
        leverage: Decimal,
        tiers: Sequence[LeverageTier],
    ) -> Decimal:
        """Liquidation price at ``leverage`` (margin ``N/L``), tiers re-checked."""
        margin = qty * entry / leverage
        return liquidation_price(
            self.venue,
            side,
            entry,
            qty,
            leverage,
            tiers,
            account=self.account,
            fee_to_close=self.fee_to_close(side, entry, qty, margin),
            margin=margin,
        )

    def price_for_tier(
        self, side: PositionSide, entry: Decimal, qty: Decimal, margin: Decimal, tier: LeverageTier
    ) -> Decimal:
        """Raw formula for one tier, with the fee estimate; linear in ``margin``."""
        return liquidation_price_for_tier(
            self.venue,
            side,
            entry,
            qty,
            margin,
            tier,
            account=self.account,
            fee_to_close=self.fee_to_close(side, entry, qty, margin),
        )
