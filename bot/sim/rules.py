"""What differs between the venues the engine plays: a new account's defaults and a few rules.

One engine serves both HTTP faces (Bybit v5, Binance USDⓈ-M) and the in-process venue; where
the real venues behave differently in ways that change the account, the difference is a field
here, not a branch in a face:

- ``default_leverage``: a symbol's leverage until it is set (Bybit 10x; Binance 20x), capped by
  the tiers.
- ``liquidation``: the isolated liquidation formula of RISK.md (Bybit's unified-account
  ``EP ∓ (IM − MM)/Q``; Binance's ``(WB + cum − s·Q·EP)/(Q·MMR − s·Q)``).
- ``link_ids``: how long a client order id stays taken. Bybit: ``lifetime`` (an ``orderLinkId``
  is unique per account forever). Binance: ``open`` ("a unique id among open orders": once the
  order is closed its ``newClientOrderId`` may be sent again and places a new order).
- ``keep_refused_tif``: whether a post-only order that would take liquidity (or an IOC/FOK limit
  that cannot fill) is recorded as a cancelled order (Bybit) or refused without a trace
  (Binance: -5022 / -5021, "the order will not be recorded in the order history").
- ``unified_spot``: whether spot trades settle in the same USDT wallet as the derivatives
  (Bybit's unified account: coins count in its equity) or in a spot wallet of their own
  (Binance: the spot account and the USDⓈ-M account are apart; USDT moves between them by
  transfer, ``bot.sim.spot``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal


@dataclass(frozen=True, slots=True)
class VenueRules:
    """The rules of one venue the engine plays."""

    name: str
    default_leverage: Decimal
    liquidation: Literal["bybit", "binance"]
    link_ids: Literal["lifetime", "open"]
    keep_refused_tif: bool
    unified_spot: bool = True


BYBIT = VenueRules("bybit", Decimal(10), "bybit", "lifetime", keep_refused_tif=True)
BINANCE = VenueRules(
    "binanceusdm", Decimal(20), "binance", "open", keep_refused_tif=False, unified_spot=False
)
RULES = {r.name: r for r in (BYBIT, BINANCE)}


def rules_for(venue: str) -> VenueRules:
    """The rules of ``venue`` (``bybit`` or ``binanceusdm``)."""
    try:
        return RULES[venue]
    except KeyError:
        raise ValueError(f"venue: one of {', '.join(RULES)} (got {venue!r})") from None
