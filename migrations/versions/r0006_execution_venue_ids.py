"""executions.venue_order_id and orders.updated_ms indexes; positions.synced_ms.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Reconciliation adds up each recently filled order's stored executions to find fills the
venue's execution list has not shown yet (RELIABILITY.md #37); an execution without a client
id (Binance's trade rows, a hand order) belongs to its order by the venue's order id. Each
pass reads the orders updated in the last week, so ``orders.updated_ms`` is indexed too.
``positions.synced_ms`` is the venue's time of the report a position's size was last taken
from (adopted or corrected): a late fill stamped before it is already in the size.
Self-contained like 0001 (plain SQLAlchemy types, no project imports).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index ``executions.venue_order_id`` and ``orders.updated_ms``; add ``positions.synced_ms``."""
    op.create_index("ix_executions_venue_order_id", "executions", ["venue_order_id"])
    op.create_index("ix_orders_updated_ms", "orders", ["updated_ms"])
    with op.batch_alter_table("positions") as batch:
        batch.add_column(
            sa.Column("synced_ms", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Drop the column and the indexes."""
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("synced_ms")
    op.drop_index("ix_orders_updated_ms", table_name="orders")
    op.drop_index("ix_executions_venue_order_id", table_name="executions")
