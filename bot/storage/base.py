"""Connection handling shared by the repository parts: own transaction or a batch's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.db import WRITE


class RepositoryBase:
    """Runs each call in its own transaction, or inside the open transaction of a batch."""

    def __init__(self, engine: AsyncEngine, *, _conn: AsyncConnection | None = None) -> None:
        self._engine = engine
        self._conn = _conn

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def in_batch(self) -> bool:
        return self._conn is not None

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Self]:
        """Group writes into one transaction, committed once on exit, rolled back on error.

        Yields a repository bound to the transaction: call its methods as usual; reads see the
        batch's own writes. Use it from one task only and keep venue I/O out of it, because on
        SQLite the batch holds the database's write lock until it commits. A batch inside a
        batch joins the outer one.
        """
        if self._conn is not None:
            yield self
            return
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**WRITE)
            async with conn.begin():
                yield type(self)(self._engine, _conn=conn)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**WRITE)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        async with self._engine.connect() as conn:
            yield conn

    def _insert_ignore(self, table: Table, values: dict[str, Any], keys: list[str]) -> Any:
        """``INSERT … ON CONFLICT (keys) DO NOTHING`` in the backend's dialect."""
        if self.dialect == "postgresql":
            return pg_insert(table).values(values).on_conflict_do_nothing(index_elements=keys)
        return sqlite_insert(table).values(values).on_conflict_do_nothing(index_elements=keys)

    def _upsert(self, table: Table, values: dict[str, Any], keys: list[str]) -> Any:
        """``INSERT … ON CONFLICT (keys) DO UPDATE`` of every other column."""
        ins = pg_insert(table) if self.dialect == "postgresql" else sqlite_insert(table)
        stmt = ins.values(values)
        changed = {k: stmt.excluded[k] for k in values if k not in keys}
        return stmt.on_conflict_do_update(index_elements=keys, set_=changed)
