"""wallet_transfers: USDT moved between the account's own wallets.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

The portfolio mode on Binance (issue #20) keeps its spot sleeve in the spot wallet and its
futures sleeve in the USDⓈ-M wallet; a rebalance moves USDT between them by universal
transfer. Each transfer is stored before it is sent (``client_id``, rotor's own), then given
the venue's id (``tran_id``) when the venue answers or its transfer history shows it.
Self-contained like 0001 (plain SQLAlchemy types, no project imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money() -> sa.types.TypeEngine[Any]:
    return sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite")


def upgrade() -> None:
    """Create ``wallet_transfers``."""
    op.create_table(
        "wallet_transfers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("coin", sa.String(16), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tran_id", sa.String(64), nullable=True),
        sa.Column("done_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_transfers"),
        sa.UniqueConstraint("client_id", name="uq_wallet_transfers_client_id"),
        sa.UniqueConstraint("tran_id", name="uq_wallet_transfers_tran_id"),
    )
    op.create_index("ix_wallet_transfers_created_ms", "wallet_transfers", ["created_ms"])


def downgrade() -> None:
    """Drop ``wallet_transfers``."""
    op.drop_index("ix_wallet_transfers_created_ms", table_name="wallet_transfers")
    op.drop_table("wallet_transfers")
