"""Pick the venue for a run: ``paper`` → ``PaperVenue``; ``testnet``/``live`` → ``CcxtVenue``.

``replay`` runs the in-process simulator (``bot.sim``), which is not a ccxt venue; asking this
factory for it is an error that says so.
"""

from __future__ import annotations

from bot.config import Settings
from bot.venues.base import Venue
from bot.venues.ccxt_venue import CcxtVenue
from bot.venues.paper import PaperVenue


def build_venue(settings: Settings) -> Venue:
    """The ``Venue`` for ``settings.mode`` (raises ``ValueError`` for replay)."""
    if settings.mode == "paper":
        return PaperVenue.from_settings(settings)
    if settings.mode in ("testnet", "live"):
        return CcxtVenue.from_settings(settings)
    raise ValueError(f"mode={settings.mode}: replay uses the in-process simulator (bot.sim)")
