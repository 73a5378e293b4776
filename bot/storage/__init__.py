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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported on first use (PEP 562): SQLAlchemy and Alembic cost ~0.5 s at start-up, and
# commands that never touch the database (backtest, scan, sim) should not pay for them.
_LAZY = {
    "DatabaseError": "db",
    "check_connection": "db",
    "create_engine": "db",
    "DuplicateOrderError": "errors",
    "OrderNotFoundError": "errors",
    "StorageError": "errors",
    "UnknownRunError": "errors",
    "Lease": "lease",
    "LeaseHeldError": "lease",
    "LeaseHolder": "lease",
    "LeaseInfo": "lease",
    "LeaseLostError": "lease",
    "check_drift": "migrate",
    "upgrade": "migrate",
    "EquitySnapshot": "records",
    "RunRecord": "records",
    "TradingStateEvent": "records",
    "Repository": "repository",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.storage' has no attribute {name!r}")
    value = getattr(import_module(f"bot.storage.{module}"), name)
    globals()[name] = value
    return value


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
