"""Database fixtures shared by every suite: SQLite (a tmp file) and PostgreSQL (a fresh database)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.storage.db import create_engine
from bot.storage.migrate import upgrade
from bot.storage.repository import Repository
from tests.conftest import pg_url_or_skip


async def _pg_admin(server_url: str) -> asyncpg.Connection:
    u = make_url(server_url)
    return await asyncpg.connect(
        user=u.username,
        password=u.password,
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        database=u.database or "postgres",
        timeout=10,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db' / 'rotor.db'}"
        return
    server = pg_url_or_skip()
    name = f"rotor_t_{secrets.token_hex(6)}"
    admin = await _pg_admin(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield (
            make_url(server)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        admin = await _pg_admin(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def migrated_url(db_url: str) -> str:
    """``db_url`` with the schema at head."""
    await upgrade(db_url)
    return db_url


@pytest.fixture
async def repo(migrated_url: str) -> AsyncIterator[Repository]:
    """A repository on a migrated database; its engine is disposed afterwards."""
    engine = create_engine(migrated_url)
    try:
        yield Repository(engine)
    finally:
        await engine.dispose()
