"""executions.fee_currency: the currency a fill's fee was paid in.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

Spot fills (the portfolio mode, issue #20) pay their fee in the currency received: on Bybit
the base coin on a buy, USDT on a sell. The books keep the venue's figure and its currency;
every perpetual fill is USDT (the server default for the rows already stored).
Self-contained like 0001 (plain SQLAlchemy types, no project imports).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``executions.fee_currency`` (USDT for the fills stored before)."""
    with op.batch_alter_table("executions") as batch:
        batch.add_column(
            sa.Column("fee_currency", sa.String(16), nullable=False, server_default="USDT")
        )


def downgrade() -> None:
    """Drop ``executions.fee_currency``."""
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("fee_currency")
