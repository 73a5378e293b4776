"""The repository rotor's order manager, risk manager and daemon persist through.

``Repository(engine)`` runs every call in its own short transaction. ``async with
repo.batch() as b:`` groups a cycle's writes into one transaction committed once, which is how
the per-bar cycle writes (ARCHITECTURE.md, "Database writes are batched per cycle").
"""

from __future__ import annotations

from bot.storage.journal_repo import DEFAULT_TRADING_STATE, JournalRepository
from bot.storage.market_repo import MarketHistory, MarketRepository
from bot.storage.trading_repo import TradingRepository
from bot.storage.transfer_repo import TransferRepository


class Repository(TradingRepository, JournalRepository, MarketRepository, TransferRepository):
    """Async access to every rotor table except the lease (see ``bot.storage.lease``)."""


__all__ = ["DEFAULT_TRADING_STATE", "MarketHistory", "Repository"]
