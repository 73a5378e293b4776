"""Alembic environment for rotor.

Two ways in:
- from rotor (``bot.storage.migrate.upgrade``), which hands over an open connection in
  ``config.attributes["connection"]`` inside its own transaction;
- from the ``alembic`` command line, which opens its own async engine for the URL given by
  ``-x url=...``, ``sqlalchemy.url``, or ``ROTOR__DATABASE__URL`` (default: the SQLite file).
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.db import DEFAULT_URL, WRITE, create_engine
from bot.storage.migrate import context_options

config = context.config


def _url() -> str:
    x_args = context.get_x_argument(as_dictionary=True)
    return (
        x_args.get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("ROTOR__DATABASE__URL")
        or DEFAULT_URL
    )


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **context_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


async def _run_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(**WRITE)
            async with conn.begin():
                await conn.run_sync(_run)
    finally:
        await engine.dispose()


def run_offline() -> None:
    """Emit SQL instead of running it (``alembic upgrade --sql``)."""
    url = _url()
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    context.configure(url=url, literal_binds=True, **context_options(dialect))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run against a live database."""
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
    else:
        asyncio.run(_run_own_engine(_url()))


if context.is_offline_mode():
    run_offline()
else:
    run_online()
