"""Helpers shared by CLI commands: loading config with clean errors, JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer

from bot.config import ConfigError, Settings, load_settings
from bot.observability.logging import REDACTOR, configure_logging

EXIT_CONFIG = 2

ConfigOption = typer.Option(
    None, "--config", "-c", help="TOML config file (default: $ROTOR_CONFIG).", show_default=False
)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error to stderr and exit."""
    typer.echo(f"error: {REDACTOR.scrub(message)}", err=True)
    raise typer.Exit(code)


def load_config_or_exit(
    path: Path | None, overrides: dict[str, Any] | None = None, *, log: bool = True
) -> Settings:
    """Load the effective config; on error print every ``key.path: reason`` and exit 2."""
    try:
        settings = load_settings(path, overrides)
    except ConfigError as exc:
        typer.echo(f"error: {REDACTOR.scrub(str(exc))}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    REDACTOR.add(settings.secrets())
    if log:
        configure_logging(
            settings.logging.level, settings.logging.format, settings.secrets(), stream=sys.stderr
        )
    return settings


def perp_mode_only(settings: Settings, command: str) -> None:
    """Refuse ``strategy.mode = "portfolio"`` where only the perpetual presets run yet (the
    daemon and the backtester run the portfolio from part 2 of issue #20), exit 2."""
    if settings.strategy.mode != "perp":
        fail(
            f'strategy.mode: "{settings.strategy.mode}" is not run by `rotor {command}` yet '
            "(issue #20, part 2); `rotor allocate` shows its targets and orders",
            EXIT_CONFIG,
        )


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))
