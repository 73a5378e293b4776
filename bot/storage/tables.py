"""The schema: table names are fixed because operators query them (README, "Database tables").

Money is ``Money`` (``NUMERIC(38,18)``; exact text on SQLite), times are ``BIGINT`` UTC ms.
Constraint names follow one naming convention so SQLite and PostgreSQL reflect alike and
Alembic's drift check compares like with like. Any change here needs a new migration.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.storage.types import Money

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
RowId = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", RowId, primary_key=True, autoincrement=True)


runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("started_ms", BigInteger, nullable=False),
    Column("ended_ms", BigInteger, nullable=True),
    Column("end_reason", Text, nullable=True),
    Column("config_hash", String(128), nullable=False),
    Column("version", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False, server_default="0"),
    # Last order sequence number handed out; client ids are prefix + run id + sequence.
    Column("order_seq", BigInteger, nullable=False, server_default="0"),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    # A rotor client id (≤ 36), or "venue:<orderId>" for an order placed without one.
    Column("client_order_id", String(64), nullable=False),
    Column("venue_order_id", String(64), nullable=True),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("type", String(16), nullable=False),
    Column("qty", Money, nullable=False),
    Column("price", Money, nullable=True),
    Column("trigger_price", Money, nullable=True),
    Column("trigger_by", String(8), nullable=True),
    Column("reduce_only", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("filled_qty", Money, nullable=False),
    Column("avg_fill_price", Money, nullable=True),
    Column("fees", Money, nullable=False),
    Column("reason", Text, nullable=False),
    Column("intent", String(16), nullable=False),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    # The stop an entry was approved with (restores protection after a crash, #3).
    Column("planned_stop", Money, nullable=True),
    UniqueConstraint("client_order_id"),
    Index(None, "venue_order_id"),
    Index(None, "status"),
    Index(None, "symbol", "created_ms"),
    Index(None, "updated_ms"),
)

executions = Table(
    "executions",
    metadata,
    _id(),
    Column("exec_id", String(64), nullable=False),
    Column("client_order_id", String(64), nullable=True),
    Column("venue_order_id", String(64), nullable=True),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("qty", Money, nullable=False),
    Column("price", Money, nullable=False),
    Column("fee", Money, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("is_maker", Boolean, nullable=False),
    Column("is_liquidation", Boolean, nullable=False),
    # The currency of ``fee``: USDT for perpetuals; a spot buy's fee is in the coin bought.
    Column("fee_currency", String(16), nullable=False, server_default="USDT"),
    UniqueConstraint("exec_id"),
    Index(None, "client_order_id"),
    Index(None, "venue_order_id"),
    Index(None, "symbol", "ts"),
)

positions = Table(
    "positions",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("side", String(5), nullable=False),
    Column("qty", Money, nullable=False),
    Column("entry_price", Money, nullable=False),
    Column("leverage", Money, nullable=False),
    Column("stop_price", Money, nullable=True),
    Column("liquidation_price", Money, nullable=True),
    Column("margin", Money, nullable=False),
    Column("sector", String(64), nullable=True),
    Column("realized_pnl", Money, nullable=False),
    Column("fees", Money, nullable=False),
    Column("funding", Money, nullable=False),
    Column("entry_bar", Integer, nullable=True),
    Column("opened_ms", BigInteger, nullable=False),
    # The venue report reconciliation last took the size from (fills up to it are in qty).
    Column("synced_ms", BigInteger, nullable=False, server_default="0"),
    Column("updated_ms", BigInteger, nullable=False),
)

funding_payments = Table(
    "funding_payments",
    metadata,
    _id(),
    Column("symbol", String(32), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("rate", Money, nullable=False),
    Column("qty", Money, nullable=False),
    Column("mark", Money, nullable=False),
    Column("amount", Money, nullable=False),
    Column("venue_id", String(64), nullable=False),
    # One settlement per symbol and time: re-reporting it changes nothing.
    UniqueConstraint("symbol", "ts"),
)

# Every position rotor saw close, with what it made: the one place a liquidation's loss, fees
# and funding are kept once the position row is gone (RELIABILITY.md #9).
closed_positions = Table(
    "closed_positions",
    metadata,
    _id(),
    Column("symbol", String(32), nullable=False),
    Column("side", String(5), nullable=False),
    Column("qty", Money, nullable=False),
    Column("entry_price", Money, nullable=False),
    Column("exit_price", Money, nullable=True),
    Column("realized_pnl", Money, nullable=False),
    Column("fees", Money, nullable=False),
    Column("funding", Money, nullable=False),
    Column("how", String(16), nullable=False),  # close, liquidation, flip, vanished
    Column("exec_id", String(64), nullable=True),
    Column("opened_ms", BigInteger, nullable=False),
    Column("closed_ms", BigInteger, nullable=False),
    UniqueConstraint("symbol", "closed_ms", "how"),
    Index(None, "closed_ms"),
)

decisions = Table(
    "decisions",
    metadata,
    _id(),
    Column("t", BigInteger, nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("sector", String(64), nullable=True),
    Column("action", String(16), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=True),
    Index(None, "t"),
    Index(None, "symbol", "t"),
)

equity_snapshots = Table(
    "equity_snapshots",
    metadata,
    _id(),
    Column("ts", BigInteger, nullable=False),
    Column("equity", Money, nullable=False),
    Column("wallet", Money, nullable=False),
    Column("upnl", Money, nullable=False),
    Column("exposure", Money, nullable=False),
    Column("open_risk", Money, nullable=False),
    Column("run_id", String(64), ForeignKey("runs.run_id"), nullable=True),
    # Net deposits minus withdrawals known when the snapshot was taken: ``equity - net_flows``
    # is the equity the breakers compare (cash flows are never profit or loss).
    Column("net_flows", Money, nullable=False, server_default="0"),
    Index(None, "ts"),
)

cash_flows = Table(
    "cash_flows",
    metadata,
    _id(),
    Column("venue_id", String(64), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("coin", String(16), nullable=False),
    Column("amount", Money, nullable=False),  # signed: negative = out of the account
    Column("kind", String(32), nullable=False),
    Column("seen_ms", BigInteger, nullable=False),
    UniqueConstraint("venue_id"),
    Index(None, "ts"),
)

# USDT moved between the account's own wallets (Binance: spot and USDⓈ-M), stored before it is
# sent: ``client_id`` is rotor's, ``tran_id`` the venue's once known (migration 0008).
wallet_transfers = Table(
    "wallet_transfers",
    metadata,
    _id(),
    Column("client_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("coin", String(16), nullable=False),
    Column("amount", Money, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("tran_id", String(64), nullable=True),
    Column("done_ms", BigInteger, nullable=True),
    UniqueConstraint("client_id"),
    UniqueConstraint("tran_id"),
    Index(None, "created_ms"),
)

trading_state_events = Table(
    "trading_state_events",
    metadata,
    _id(),
    Column("ts", BigInteger, nullable=False),
    Column("old_state", String(16), nullable=False),
    Column("new_state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Index(None, "ts"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_ms", BigInteger, nullable=False),
    Column("renewed_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
)

# The venue's market history, kept so a restart fetches only the gap (RELIABILITY.md #48).
# Raw venue rows (before the data-quality gate), closed bars only; trimmed to the backfill window.
market_bars = Table(
    "market_bars",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("timeframe", String(8), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", Float, nullable=False),
)

market_funding = Table(
    "market_funding",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("rate", Float, nullable=False),
)

market_open_interest = Table(
    "market_open_interest",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("open_interest", Float, nullable=False),
)

# From when on each stored series is complete: a series is downloaded from ``from_ms`` (the
# venue may have nothing before its first row: a new listing), then extended after its last row.
market_coverage = Table(
    "market_coverage",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("series", String(16), primary_key=True),  # "bars:<timeframe>", "funding", "oi"
    Column("from_ms", BigInteger, nullable=False),
)

TABLE_NAMES = tuple(metadata.tables)
