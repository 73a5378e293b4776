"""market_bars, market_funding, market_open_interest, market_coverage: the venue's history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

A restart reads the bars, funding settlements and open-interest samples it already has from
these tables and downloads only the gap (RELIABILITY.md #48). Rows are the venue's own (closed
bars only), trimmed to the backfill window. Self-contained like 0001 (no project imports).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the market-history tables."""
    op.create_table(
        "market_bars",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "timeframe", "ts", name="pk_market_bars"),
    )
    op.create_table(
        "market_funding",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "ts", name="pk_market_funding"),
    )
    op.create_table(
        "market_open_interest",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("open_interest", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "ts", name="pk_market_open_interest"),
    )
    op.create_table(
        "market_coverage",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("series", sa.String(16), nullable=False),
        sa.Column("from_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "series", name="pk_market_coverage"),
    )


def downgrade() -> None:
    """Drop the market-history tables."""
    op.drop_table("market_coverage")
    op.drop_table("market_open_interest")
    op.drop_table("market_funding")
    op.drop_table("market_bars")
