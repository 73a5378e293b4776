"""cash_flows (deposits, withdrawals, transfers from the venue's transaction log);
equity_snapshots.net_flows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Money moved in or out of the account is never profit or loss (RELIABILITY.md #35): each
transfer is stored once (by the venue's id) and every equity snapshot records the net flows
known when it was taken, so the breakers' marks survive a restart net of them.
Self-contained like 0001 (plain SQLAlchemy types, no project imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money() -> sa.types.TypeEngine[Any]:
    return sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite")


def upgrade() -> None:
    """Create ``cash_flows``; add ``equity_snapshots.net_flows``."""
    with op.batch_alter_table("equity_snapshots") as batch:
        batch.add_column(sa.Column("net_flows", _money(), nullable=False, server_default="0"))
    op.create_table(
        "cash_flows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("venue_id", sa.String(64), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("coin", sa.String(16), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cash_flows"),
        sa.UniqueConstraint("venue_id", name="uq_cash_flows_venue_id"),
    )
    op.create_index("ix_cash_flows_ts", "cash_flows", ["ts"])


def downgrade() -> None:
    """Drop ``cash_flows`` and ``equity_snapshots.net_flows``."""
    op.drop_index("ix_cash_flows_ts", table_name="cash_flows")
    op.drop_table("cash_flows")
    with op.batch_alter_table("equity_snapshots") as batch:
        batch.drop_column("net_flows")
