"""``rotor db upgrade`` and ``rotor db check``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from bot.commands.common import ConfigOption, fail, load_config_or_exit
from bot.config import Settings

app = typer.Typer(help="Database schema: apply and check migrations.", no_args_is_help=True)

UrlOption = typer.Option(
    None, "--url", help="Database URL (overrides database.url).", show_default=False
)


def _settings(config: Path | None, url: str | None) -> Settings:
    return load_config_or_exit(config, {"database.url": url} if url else None)


@app.command("upgrade")
def upgrade_cmd(config: Path | None = ConfigOption, url: str | None = UrlOption) -> None:
    """Apply every pending migration (creates the schema on an empty database)."""
    # Imported here so other commands do not pay for SQLAlchemy and Alembic at start-up.
    from bot.storage.db import DatabaseError, masked
    from bot.storage.migrate import current_revision, head_revision, upgrade

    settings = _settings(config, url)
    db = settings.database
    typer.echo(f"database: {db.masked_url()}")
    try:
        head = head_revision()
        before = asyncio.run(current_revision(db.url, busy_timeout_ms=db.busy_timeout_ms))
        reached = asyncio.run(upgrade(db.url, busy_timeout_ms=db.busy_timeout_ms))
    except DatabaseError as exc:
        fail(str(exc))
    if before == reached:
        typer.echo(f"schema already at head revision {reached}")
    else:
        typer.echo(f"upgraded schema from {before or '<empty>'} to revision {reached}")
    if reached != head:
        fail(f"database {masked(db.url)} is at {reached}, expected head {head}")


@app.command("check")
def check_cmd(config: Path | None = ConfigOption, url: str | None = UrlOption) -> None:
    """Compare the database schema with rotor's table models; exit 1 on any drift."""
    from bot.storage.db import DatabaseError
    from bot.storage.migrate import check_drift, current_revision, head_revision

    settings = _settings(config, url)
    db = settings.database
    typer.echo(f"database: {db.masked_url()}")
    try:
        head = head_revision()
        at = asyncio.run(current_revision(db.url, busy_timeout_ms=db.busy_timeout_ms))
        diffs = asyncio.run(check_drift(db.url, busy_timeout_ms=db.busy_timeout_ms))
    except DatabaseError as exc:
        fail(str(exc))
    if at != head:
        fail(f"database is at revision {at or '<empty>'}, head is {head}: run `rotor db upgrade`")
    if diffs:
        for d in diffs:
            typer.echo(f"  drift: {d}", err=True)
        fail(f"{len(diffs)} difference(s) between the models and the database")
    typer.echo(f"schema at head revision {head}; no drift")
