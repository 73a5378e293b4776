"""Pick the venue for a run: ``paper`` → ``PaperVenue``; ``testnet``/``live`` → ``CcxtVenue``.

``replay`` runs the in-process simulator (``bot.sim``), which is not a ccxt venue; asking this
factory for it is an error that says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import Settings
from bot.venues.base import Venue
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.paper import PaperVenue

if TYPE_CHECKING:
    from bot.venues.ccxt_binance_spot import BinanceSpotVenue
    from bot.venues.ccxt_spot import SpotCcxtVenue


def build_venue(settings: Settings) -> Venue:
    """The ``Venue`` for ``settings.mode`` (raises ``ValueError`` for replay)."""
    if settings.mode == "paper":
        return PaperVenue.from_settings(settings)
    if settings.mode in ("testnet", "live"):
        return CcxtVenue.from_settings(settings)
    raise ValueError(f"mode={settings.mode}: replay uses the in-process simulator (bot.sim)")


def portfolio_venue(settings: Settings) -> SpotCcxtVenue | BinanceSpotVenue:
    """The ccxt venue of the portfolio mode: Bybit's unified account (``SpotCcxtVenue``: spot
    and perpetuals on one client) or Binance (``BinanceSpotVenue``: a spot and a USDⓈ-M
    client, two wallets)."""
    if settings.exchange.name == "binanceusdm":
        from bot.venues.ccxt_binance_spot import BinanceSpotVenue

        return BinanceSpotVenue.from_settings(settings)
    from bot.venues.ccxt_spot import SpotCcxtVenue

    return SpotCcxtVenue.from_settings(settings)
