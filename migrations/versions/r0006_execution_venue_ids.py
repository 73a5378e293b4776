"""executions.venue_order_id and orders.updated_ms indexes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

Reconciliation adds up each recently filled order's stored executions to find fills the
venue's execution list has not shown yet (RELIABILITY.md #37); an execution without a client
id (Binance's trade rows, a hand order) belongs to its order by the venue's order id. Each
pass reads the orders updated in the last week, so ``orders.updated_ms`` is indexed too.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index ``executions.venue_order_id`` and ``orders.updated_ms``."""
    op.create_index("ix_executions_venue_order_id", "executions", ["venue_order_id"])
    op.create_index("ix_orders_updated_ms", "orders", ["updated_ms"])


def downgrade() -> None:
    """Drop the indexes."""
    op.drop_index("ix_orders_updated_ms", table_name="orders")
    op.drop_index("ix_executions_venue_order_id", table_name="executions")
