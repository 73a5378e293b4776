"""Orders without a client id: ``client_order_id`` holds up to 64 characters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

An order placed on the venue without a client id (its web UI, a position TP/SL set there) is
tracked under a key made of the venue's order id (``venue:<orderId>``, up to 42 characters for
Bybit's uuid ids), so ``orders.client_order_id`` and ``executions.client_order_id`` widen from
36 to 64 characters (RELIABILITY.md #30). Self-contained like 0001 (no project imports).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Widen ``client_order_id`` in ``orders`` and ``executions`` to 64 characters."""
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "client_order_id",
            existing_type=sa.String(36),
            type_=sa.String(64),
            existing_nullable=False,
        )
    with op.batch_alter_table("executions") as batch:
        batch.alter_column(
            "client_order_id",
            existing_type=sa.String(36),
            type_=sa.String(64),
            existing_nullable=True,
        )


def downgrade() -> None:
    """Back to 36 characters (fails while a venue-keyed order row is longer)."""
    with op.batch_alter_table("executions") as batch:
        batch.alter_column(
            "client_order_id",
            existing_type=sa.String(64),
            type_=sa.String(36),
            existing_nullable=True,
        )
    with op.batch_alter_table("orders") as batch:
        batch.alter_column(
            "client_order_id",
            existing_type=sa.String(64),
            type_=sa.String(36),
            existing_nullable=False,
        )
