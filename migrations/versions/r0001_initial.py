"""Initial schema: orders, executions, positions, funding, decisions, equity, state, runs, leases.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Self-contained on purpose (plain SQLAlchemy types, no project imports), so this revision keeps
creating the same schema whatever later code does. Money is NUMERIC(38,18) on PostgreSQL and
exact decimal text on SQLite (``bot.storage.types.Money``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money() -> sa.types.TypeEngine[Any]:
    return sa.Numeric(38, 18).with_variant(sa.String(64), "sqlite")


def _row_id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("ended_ms", sa.BigInteger(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("config_hash", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), server_default="0", nullable=False),
        sa.Column("order_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    op.create_table(
        "orders",
        _row_id(),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("venue_order_id", sa.String(64), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("qty", _money(), nullable=False),
        sa.Column("price", _money(), nullable=True),
        sa.Column("trigger_price", _money(), nullable=True),
        sa.Column("trigger_by", sa.String(8), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filled_qty", _money(), nullable=False),
        sa.Column("avg_fill_price", _money(), nullable=True),
        sa.Column("fees", _money(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_orders_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_symbol_created_ms", "orders", ["symbol", "created_ms"])
    op.create_index("ix_orders_venue_order_id", "orders", ["venue_order_id"])

    op.create_table(
        "executions",
        _row_id(),
        sa.Column("exec_id", sa.String(64), nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=True),
        sa.Column("venue_order_id", sa.String(64), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("qty", _money(), nullable=False),
        sa.Column("price", _money(), nullable=False),
        sa.Column("fee", _money(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("is_maker", sa.Boolean(), nullable=False),
        sa.Column("is_liquidation", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
        sa.UniqueConstraint("exec_id", name="uq_executions_exec_id"),
    )
    op.create_index("ix_executions_client_order_id", "executions", ["client_order_id"])
    op.create_index("ix_executions_symbol_ts", "executions", ["symbol", "ts"])

    op.create_table(
        "positions",
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(5), nullable=False),
        sa.Column("qty", _money(), nullable=False),
        sa.Column("entry_price", _money(), nullable=False),
        sa.Column("leverage", _money(), nullable=False),
        sa.Column("stop_price", _money(), nullable=True),
        sa.Column("liquidation_price", _money(), nullable=True),
        sa.Column("margin", _money(), nullable=False),
        sa.Column("sector", sa.String(64), nullable=True),
        sa.Column("realized_pnl", _money(), nullable=False),
        sa.Column("fees", _money(), nullable=False),
        sa.Column("funding", _money(), nullable=False),
        sa.Column("entry_bar", sa.Integer(), nullable=True),
        sa.Column("opened_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", name="pk_positions"),
    )
    op.create_table(
        "funding_payments",
        _row_id(),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("rate", _money(), nullable=False),
        sa.Column("qty", _money(), nullable=False),
        sa.Column("mark", _money(), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("venue_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_funding_payments"),
        sa.UniqueConstraint("symbol", "ts", name="uq_funding_payments_symbol_ts"),
    )
    op.create_table(
        "decisions",
        _row_id(),
        sa.Column("t", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("sector", sa.String(64), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_decisions_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_t", "decisions", ["t"])
    op.create_index("ix_decisions_symbol_t", "decisions", ["symbol", "t"])

    op.create_table(
        "equity_snapshots",
        _row_id(),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("equity", _money(), nullable=False),
        sa.Column("wallet", _money(), nullable=False),
        sa.Column("upnl", _money(), nullable=False),
        sa.Column("exposure", _money(), nullable=False),
        sa.Column("open_risk", _money(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_equity_snapshots_run_id_runs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_equity_snapshots"),
    )
    op.create_index("ix_equity_snapshots_ts", "equity_snapshots", ["ts"])

    op.create_table(
        "trading_state_events",
        _row_id(),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("old_state", sa.String(16), nullable=False),
        sa.Column("new_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trading_state_events"),
    )
    op.create_index("ix_trading_state_events_ts", "trading_state_events", ["ts"])

    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_ms", sa.BigInteger(), nullable=False),
        sa.Column("renewed_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    """Drop every table, dependants first."""
    for table in (
        "leases",
        "trading_state_events",
        "equity_snapshots",
        "decisions",
        "funding_payments",
        "positions",
        "executions",
        "orders",
        "runs",
    ):
        op.drop_table(table)
