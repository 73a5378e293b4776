"""Transfers between the account's own wallets (``wallet_transfers``, migration 0008): stored
before they are sent, settled with the venue's id once known (``bot.runtime.sleeves``)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update

from bot.domain import WalletTransfer
from bot.storage.base import RepositoryBase
from bot.storage.tables import wallet_transfers


class TransferRepository(RepositoryBase):
    async def add_transfer(self, t: WalletTransfer) -> None:
        """Store a transfer about to be sent (status ``pending``)."""
        async with self._write() as conn:
            await conn.execute(
                wallet_transfers.insert().values(
                    client_id=t.client_id,
                    kind=t.kind,
                    coin=t.coin,
                    amount=t.amount,
                    created_ms=t.created_ms,
                    status=t.status,
                    tran_id=t.tran_id,
                    done_ms=t.done_ms,
                )
            )

    async def settle_transfer(
        self, client_id: str, status: str, tran_id: str | None, done_ms: int
    ) -> None:
        """Record the outcome of a stored transfer: ``done`` with the venue's id, or
        ``failed`` (the venue shows no such transfer)."""
        c = wallet_transfers.c
        async with self._write() as conn:
            await conn.execute(
                update(wallet_transfers)
                .where(c.client_id == client_id)
                .values(status=status, tran_id=tran_id, done_ms=done_ms)
            )

    async def list_transfers(self, *, status: str | None = None) -> list[WalletTransfer]:
        """Stored transfers, oldest first (one status, or all)."""
        c = wallet_transfers.c
        stmt = select(
            c.client_id, c.kind, c.coin, c.amount, c.created_ms, c.status, c.tran_id, c.done_ms
        ).order_by(c.created_ms, c.id)
        if status is not None:
            stmt = stmt.where(c.status == status)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            WalletTransfer(
                r[0], r[1], r[2], Decimal(str(r[3])), int(r[4]), r[5], r[6],
                None if r[7] is None else int(r[7]),
            )
            for r in rows
        ]  # fmt: skip
