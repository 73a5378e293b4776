"""The portfolio's sleeves in two wallets (Binance: spot and USDⓈ-M, issue #20).

On a unified account the sleeves are bookkeeping on one wallet. On Binance the futures
sleeve's collateral must be in the USDⓈ-M wallet and the spot sleeve's cash in the spot
wallet, so a rebalance moves USDT between them (``fund``): before the roles' perp orders, the
futures wallet is brought to the collateral the plan gives it (``min(USDT, (1 − spot_share) ×
NAV)``), from the spot wallet's USDT or back to it (at most the futures wallet's free margin).

Every transfer is an order of money, with the order manager's rules: **stored before it is
sent** (``wallet_transfers``, status ``pending``, rotor's own ``client_id``), sent once, and
its outcome recorded with the venue's id (``tranId``). Binance's transfer takes no client id,
so an unclear outcome (timeout, 5xx) is resolved by reading the venue's transfer history
(``GET /sapi/v1/asset/transfer``) from when it was stored: the oldest transfer of that type
and amount no stored transfer has claimed is it (``done``); none means it was not made
(``failed``). A transfer is never resent blindly; one still pending at start-up (rotor died
while sending) is resolved the same way before trading.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from bot.domain import BalanceReport, WalletTransfer
from bot.observability.logging import get_logger
from bot.venues.base import RejectedError, VenueError
from bot.venues.spot import TO_FUTURES, TO_SPOT, VenueTransfer

log = get_logger("rotor.sleeves")

CENT = Decimal("0.01")
MIN_TRANSFER = Decimal(1)  # USDT: smaller gaps are left (the next rebalance sees them)
SLACK_MS = 60_000  # the venue's clock may be behind rotor's by this much


class TransferVenue(Protocol):
    async def fetch_futures_balance(self) -> BalanceReport: ...

    async def fetch_spot_usdt(self) -> Decimal: ...

    async def send_transfer(self, kind: str, amount: Decimal) -> str: ...

    async def fetch_transfers(self, kind: str, since_ms: int) -> list[VenueTransfer]: ...


class TransferStore(Protocol):
    async def add_transfer(self, t: WalletTransfer) -> None: ...

    async def settle_transfer(
        self, client_id: str, status: str, tran_id: str | None, done_ms: int
    ) -> None: ...

    async def list_transfers(self, *, status: str | None = None) -> list[WalletTransfer]: ...


class Sleeves:
    """Moves USDT between the wallets; every transfer stored first (see the module doc)."""

    def __init__(
        self, venue: TransferVenue, store: TransferStore, clock: Callable[[], int]
    ) -> None:
        self.venue = venue
        self.store = store
        self.clock = clock
        self._n = itertools.count(1)
        self._checked = False

    async def spot_cash(self, cash: Decimal) -> Decimal:
        """``cash``, at most the spot wallet's USDT (what a spot buy can spend)."""
        return min(cash, await self.venue.fetch_spot_usdt())

    async def fund(self, collateral: Decimal) -> WalletTransfer | None:
        """Bring the futures wallet to ``collateral``: the transfer made, or None (transfers
        a previous run left unclear are resolved first)."""
        if not self._checked:
            await self.resolve_pending()
            self._checked = True
        fut = await self.venue.fetch_futures_balance()
        gap = collateral - fut.wallet_balance
        if gap > 0:
            amount, kind = min(gap, await self.venue.fetch_spot_usdt()), TO_FUTURES
        else:
            amount, kind = min(-gap, fut.available), TO_SPOT
        amount = amount.quantize(CENT, rounding=ROUND_DOWN)
        if amount < MIN_TRANSFER:
            return None
        return await self.move(kind, amount)

    async def move(self, kind: str, amount: Decimal) -> WalletTransfer:
        """Store, send once, record the outcome (the history decides an unclear one)."""
        now = self.clock()
        t = WalletTransfer(f"xfer-{now}-{next(self._n)}", kind, "USDT", amount, now)
        await self.store.add_transfer(t)
        try:
            tran_id = await self.venue.send_transfer(kind, amount)
        except RejectedError as exc:
            await self.store.settle_transfer(t.client_id, "failed", None, self.clock())
            log.warning("transfer_refused", client_id=t.client_id, kind=kind, error=str(exc))
            return dataclasses.replace(t, status="failed", done_ms=self.clock())
        except VenueError as exc:
            log.warning("transfer_unknown", client_id=t.client_id, kind=kind, error=str(exc))
            return await self.resolve(t)
        await self.store.settle_transfer(t.client_id, "done", tran_id, self.clock())
        log.info("transfer", client_id=t.client_id, kind=kind, amount=str(amount), tran_id=tran_id)
        return dataclasses.replace(t, status="done", tran_id=tran_id, done_ms=self.clock())

    async def resolve_pending(self) -> list[WalletTransfer]:
        """Every stored transfer whose outcome is not known, resolved from the history."""
        return [await self.resolve(t) for t in await self.store.list_transfers(status="pending")]

    async def resolve(self, t: WalletTransfer) -> WalletTransfer:
        """``t``'s outcome from the venue's transfer history (see the module doc)."""
        claimed = {s.tran_id for s in await self.store.list_transfers() if s.tran_id}
        rows = await self.venue.fetch_transfers(t.kind, max(0, t.created_ms - SLACK_MS))
        match = next((r for r in rows if r.amount == t.amount and r.tran_id not in claimed), None)
        status = "done" if match is not None else "failed"
        tran_id = match.tran_id if match is not None else None
        await self.store.settle_transfer(t.client_id, status, tran_id, self.clock())
        log.warning("transfer_resolved", client_id=t.client_id, status=status, tran_id=tran_id)
        return dataclasses.replace(t, status=status, tran_id=tran_id, done_ms=self.clock())
