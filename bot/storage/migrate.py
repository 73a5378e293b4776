"""Alembic, driven from code: ``upgrade(url)`` at daemon start and ``rotor db upgrade``.

The migration scripts live in the top-level ``migrations/`` directory. The package reaches them
as ``bot/storage/migrations`` (a symlink in the source tree, real files in the built wheel), so
an installed rotor upgrades its database without the source tree; a source checkout whose
symlink was lost falls back to ``<repo>/migrations``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import WRITE, DatabaseError, create_engine, describe_error, masked
from bot.storage.tables import metadata

# Arbitrary but fixed: serialises concurrent upgrades of one PostgreSQL database.
_PG_UPGRADE_LOCK = 0x726F746F72  # "rotor"
VERSION_TABLE = "alembic_version"


def script_location() -> Path:
    """The directory holding ``env.py`` and ``versions/``."""
    packaged = importlib.resources.files("bot.storage").joinpath("migrations")
    candidates = [
        Path(str(packaged)),
        Path(__file__).resolve().parents[2] / "migrations",
    ]
    for path in candidates:
        if (path / "env.py").is_file() and (path / "versions").is_dir():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise DatabaseError(f"migration scripts not found (looked in {tried}); reinstall rotor")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` built in code (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()))
    cfg.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def context_options(dialect_name: str) -> dict[str, Any]:
    """Options shared by ``env.py`` and the drift check, so both compare the same way."""
    return {
        "target_metadata": metadata,
        "compare_type": True,
        "compare_server_default": True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        "render_as_batch": dialect_name == "sqlite",
        "version_table": VERSION_TABLE,
    }


def head_revision() -> str:
    """The newest revision the scripts define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise DatabaseError("migration scripts define no revision")
    return head


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE}
    ).get_current_revision()


async def current_revision(url: str, *, busy_timeout_ms: int = 5_000) -> str | None:
    """The revision the database is at (None for an empty database)."""
    engine = create_engine(url, busy_timeout_ms=busy_timeout_ms)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    except DatabaseError:
        raise
    except Exception as exc:
        raise DatabaseError(describe_error(url, exc)) from exc
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head", *, busy_timeout_ms: int = 5_000) -> str:
    """Apply migrations up to ``revision`` in one transaction; return the revision reached.

    Concurrent callers on one database are serialised (PostgreSQL advisory lock; SQLite
    ``BEGIN IMMEDIATE``), so two daemons starting together cannot both create the schema.
    """
    engine = create_engine(url, busy_timeout_ms=busy_timeout_ms)
    try:
        return await _upgrade(engine, url, revision)
    finally:
        await engine.dispose()


async def _upgrade(engine: AsyncEngine, url: str, revision: str) -> str:
    cfg = alembic_config(url)

    def run(conn: Connection) -> str | None:
        at = _current(conn)
        known = {r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()}
        if at is not None and at not in known:
            raise DatabaseError(
                f"database {masked(url)} is at revision {at}, which this rotor does not know "
                f"(known: {', '.join(sorted(known))}); it was probably migrated by a newer "
                "rotor: run that version, or restore a matching backup"
            )
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        return _current(conn)

    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(**WRITE)
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_UPGRADE_LOCK}
                    )
                reached = await conn.run_sync(run)
    except DatabaseError:
        raise
    except Exception as exc:
        raise DatabaseError(f"upgrade failed: {describe_error(url, exc)}") from exc
    if reached is None:
        raise DatabaseError(f"database {masked(url)}: no revision recorded after upgrade")
    return reached


async def check_drift(url: str, *, busy_timeout_ms: int = 5_000) -> list[Any]:
    """Differences between the table models and the migrated database (``alembic check``).

    Empty means the migrations create exactly what ``bot.storage.tables`` declares.
    """
    engine = create_engine(url, busy_timeout_ms=busy_timeout_ms)

    def compare(conn: Connection) -> list[Any]:
        opts = context_options(conn.dialect.name)
        opts.pop("target_metadata")
        ctx = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(ctx, metadata))

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    except Exception as exc:
        raise DatabaseError(describe_error(url, exc)) from exc
    finally:
        await engine.dispose()
