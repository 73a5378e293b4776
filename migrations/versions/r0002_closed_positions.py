"""closed_positions (each closed position with its PnL, fees, funding); orders.planned_stop.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

A liquidation deletes the position row; ``closed_positions`` keeps what it cost
(RELIABILITY.md #9). ``orders.planned_stop`` is the stop an entry was approved with, stored
before the order is sent, so a crash before the stop is placed cannot leave the position bare.
Self-contained like 0001 (plain SQLAlchemy types, no project imports).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money() -> sa.types.TypeEngine[Any]:
    return sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite")


def upgrade() -> None:
    """Create ``closed_positions``; add ``orders.planned_stop``."""
    op.add_column("orders", sa.Column("planned_stop", _money(), nullable=True))
    op.create_table(
        "closed_positions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(5), nullable=False),
        sa.Column("qty", _money(), nullable=False),
        sa.Column("entry_price", _money(), nullable=False),
        sa.Column("exit_price", _money(), nullable=True),
        sa.Column("realized_pnl", _money(), nullable=False),
        sa.Column("fees", _money(), nullable=False),
        sa.Column("funding", _money(), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("exec_id", sa.String(64), nullable=True),
        sa.Column("opened_ms", sa.BigInteger(), nullable=False),
        sa.Column("closed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_closed_positions"),
        sa.UniqueConstraint(
            "symbol", "closed_ms", "how", name="uq_closed_positions_symbol_closed_ms_how"
        ),
    )
    op.create_index("ix_closed_positions_closed_ms", "closed_positions", ["closed_ms"])


def downgrade() -> None:
    """Drop ``closed_positions`` and ``orders.planned_stop``."""
    op.drop_index("ix_closed_positions_closed_ms", table_name="closed_positions")
    op.drop_table("closed_positions")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("planned_stop")
