"""Persistence: tables, async engine, repository, migrations and the single-instance lease.

Daemon start-up, in order::

    await upgrade(url)                                  # bot.storage.migrate
    engine = create_engine(url, busy_timeout_ms=...)    # bot.storage.db
    await check_connection(engine)
    lease = Lease(engine, LeaseHolder.this_process(run_id), ttl_s=cfg.lease_ttl_s)
    await lease.acquire()                               # LeaseHeldError: exit with its message
    repo = Repository(engine)
    await repo.start_run(RunRecord(run_id, mode, now_ms, ...))
"""

from bot.storage.db import DatabaseError, check_connection, create_engine
from bot.storage.errors import (
    DuplicateOrderError,
    OrderNotFoundError,
    StorageError,
    UnknownRunError,
)
from bot.storage.lease import Lease, LeaseHeldError, LeaseHolder, LeaseInfo, LeaseLostError
from bot.storage.migrate import check_drift, upgrade
from bot.storage.records import EquitySnapshot, RunRecord, TradingStateEvent
from bot.storage.repository import Repository

__all__ = [
    "DatabaseError",
    "DuplicateOrderError",
    "EquitySnapshot",
    "Lease",
    "LeaseHeldError",
    "LeaseHolder",
    "LeaseInfo",
    "LeaseLostError",
    "OrderNotFoundError",
    "Repository",
    "RunRecord",
    "StorageError",
    "TradingStateEvent",
    "UnknownRunError",
    "check_connection",
    "check_drift",
    "create_engine",
    "upgrade",
]
