"""The async engine: SQLite (default, WAL) or PostgreSQL (asyncpg), chosen by ``database.url``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.config import mask_url_password
from bot.storage.errors import StorageError

DEFAULT_URL = "sqlite+aiosqlite:///var/rotor.db"
SQLITE_BEGIN = "rotor_sqlite_begin"
WRITE = {SQLITE_BEGIN: "IMMEDIATE"}
"""Execution options for a write transaction: on SQLite take the write lock at BEGIN.

A deferred transaction that reads first and writes later fails at once (SQLITE_BUSY, no
busy wait) if another connection wrote in between; ``BEGIN IMMEDIATE`` waits its turn instead.
PostgreSQL ignores the option.
"""

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class DatabaseError(StorageError):
    """The database cannot be used: bad URL, unreachable server, unwritable file."""


def masked(url: str | URL) -> str:
    """A URL safe to print: any password replaced by ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return mask_url_password(url)


def normalize_url(url: str) -> URL:
    """Parse ``url`` and select the async driver (``sqlite://`` → aiosqlite, ``postgresql://`` → asyncpg)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"database.url is not a valid URL: {masked(url)!r}") from exc
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise DatabaseError(
            f"database.url {masked(url)}: unsupported backend {parsed.drivername!r} "
            "(use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db)"
        )
    return parsed.set(drivername=driver)


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    db = url.database
    if url.get_backend_name() != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def create_engine(url: str, *, busy_timeout_ms: int = 5_000, echo: bool = False) -> AsyncEngine:
    """Create the async engine; for SQLite create the parent directory and enable WAL.

    Every SQLite connection gets ``journal_mode=WAL`` (readers never block the writer),
    ``busy_timeout`` (a second process waits instead of failing at once), ``foreign_keys=ON``
    and ``synchronous=FULL`` (an order persisted before it is sent survives a power cut).
    """
    parsed = normalize_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is None:
            # One shared connection, or each checkout would see its own empty database.
            kwargs["poolclass"] = StaticPool
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"database {masked(url)}: cannot create directory {path.parent}: {exc}"
                ) from exc
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _install_sqlite_pragmas(engine, busy_timeout_ms, in_memory=sqlite_path(parsed) is None)
    return engine


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int, *, in_memory: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver's legacy implicit BEGIN, which never
        # wraps DDL or reads: rotor emits BEGIN itself (below), so migrations are atomic.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cur.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = FULL")
        finally:
            cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(
                f"{SQLITE_BEGIN} must be DEFERRED, IMMEDIATE or EXCLUSIVE, got {mode!r}"
            )
        conn.exec_driver_sql(f"BEGIN {mode}")


async def check_connection(engine: AsyncEngine) -> None:
    """Open one connection and run ``SELECT 1``; raise ``DatabaseError`` naming the URL if that fails."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError, OSError) as exc:
        raise DatabaseError(describe_error(engine.url, exc)) from exc


def describe_error(url: str | URL, exc: BaseException) -> str:
    """One clear line for a connection failure, with the password masked."""
    root: BaseException = exc
    orig = getattr(exc, "orig", None)
    if isinstance(orig, BaseException):
        root = orig
    # The asyncio adapters wrap the driver's own exception, whose name says what went wrong.
    while isinstance(root.__cause__, BaseException) and type(root).__name__ == "Error":
        root = root.__cause__
    detail = str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    return f"cannot use database {masked(url)}: {type(root).__name__}: {mask_in_text(detail, url)}"


def mask_in_text(message: str, url: str | URL) -> str:
    """Remove the URL's password from a driver message that may echo it."""
    parsed = url if isinstance(url, URL) else make_url(url)
    pw = parsed.password
    return message.replace(str(pw), "***") if pw else message
