"""`rotor db upgrade` on empty databases, drift check, SQLite pragmas, packaged scripts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

import bot.storage
from bot.storage.db import DatabaseError, check_connection, create_engine
from bot.storage.migrate import (
    check_drift,
    current_revision,
    head_revision,
    script_location,
    upgrade,
)
from bot.storage.tables import TABLE_NAMES
from tests.integration.storage.conftest import ROTOR

OPERATOR_TABLES = {
    "orders",
    "executions",
    "positions",
    "funding_payments",
    "decisions",
    "equity_snapshots",
    "trading_state_events",
    "runs",
    "leases",
}


def _rotor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    return subprocess.run(
        [str(ROTOR), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def _with_password(url: str, password: str) -> str:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return url
    return u.set(password=password).render_as_string(hide_password=False)


async def test_cli_upgrade_creates_schema_on_empty_database(db_url: str, tmp_path: Path) -> None:
    assert await _tables(db_url) == set()
    # PostgreSQL here uses trust auth, so a password in the URL is accepted and must be masked.
    url = _with_password(db_url, "s3cret-pw-xyz")
    first = _rotor("db", "upgrade", "--url", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "upgraded schema from <empty> to revision 0008" in first.stdout
    assert "s3cret-pw-xyz" not in first.stdout + first.stderr
    if "postgresql" in db_url:
        assert ":***@" in first.stdout

    tables = await _tables(db_url)
    assert tables >= OPERATOR_TABLES | {"alembic_version"}
    assert tables - {"alembic_version"} == set(TABLE_NAMES)
    assert await current_revision(db_url) == head_revision() == "0008"

    again = _rotor("db", "upgrade", "--url", url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already at head revision 0008" in again.stdout


async def test_cli_upgrade_reads_database_url_from_config(tmp_path: Path) -> None:
    db = tmp_path / "from-config" / "r.db"
    cfg = tmp_path / "rotor.toml"
    cfg.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n', encoding="utf-8")
    res = _rotor("db", "upgrade", "--config", str(cfg), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert db.is_file()
    assert await current_revision(f"sqlite+aiosqlite:///{db}") == "0008"
    check = _rotor("db", "check", "--config", str(cfg), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "schema at head revision 0008; no drift" in check.stdout


def test_cli_upgrade_unreachable_database_fails_clearly(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+asyncpg://rotor:hunter2-pw@127.0.0.1:{port}/rotor"
    res = _rotor("db", "upgrade", "--url", url, cwd=tmp_path)
    assert res.returncode != 0
    assert f"postgresql+asyncpg://rotor:***@127.0.0.1:{port}/rotor" in res.stderr
    assert "hunter2-pw" not in res.stdout + res.stderr


def test_cli_upgrade_rejects_unsupported_backend(tmp_path: Path) -> None:
    res = _rotor("db", "upgrade", "--url", "mysql://u:pw1234@h/db", cwd=tmp_path)
    assert res.returncode != 0
    assert "unsupported backend 'mysql'" in res.stderr
    assert "pw1234" not in res.stderr


async def test_no_drift_between_models_and_migrations(migrated_url: str) -> None:
    assert await check_drift(migrated_url) == []


async def test_drift_check_detects_a_schema_difference(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP INDEX ix_orders_status"))
    finally:
        await engine.dispose()
    diffs = await check_drift(migrated_url)
    assert any(d[0] == "add_index" and d[1].name == "ix_orders_status" for d in diffs), diffs


async def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "rotor.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout_ms=4321)
    try:
        await check_connection(engine)
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 4321
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()
    assert path.is_file()  # the parent directories were created


async def test_unreachable_database_error_names_masked_url() -> None:
    engine = create_engine("postgresql+asyncpg://u:topsecret9@127.0.0.1:1/none")
    try:
        with pytest.raises(DatabaseError) as info:
            await check_connection(engine)
    finally:
        await engine.dispose()
    assert "postgresql+asyncpg://u:***@127.0.0.1:1/none" in str(info.value)
    assert "topsecret9" not in str(info.value)


def test_migration_scripts_ship_inside_the_package() -> None:
    # The wheel carries bot/storage/migrations; in the source tree that is a link to migrations/.
    packaged = Path(bot.storage.__file__).parent / "migrations"
    assert (packaged / "env.py").is_file()
    assert (packaged / "versions" / "r0001_initial.py").is_file()
    assert script_location() == packaged


async def test_upgrade_refuses_a_database_from_a_newer_rotor(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    finally:
        await engine.dispose()
    with pytest.raises(DatabaseError, match="revision ffff9999, which this rotor does not know"):
        await upgrade(migrated_url)
