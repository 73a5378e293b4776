"""Thin command-line layer: parse arguments, load config, call into the package.

Each command lives in its own module under ``bot.commands``. ``rotor <command>`` imports only
that command's module (the HEALTHCHECK runs ``rotor status --health`` every few seconds, and a
backtest should not pay for the simulator's web server); ``rotor --help`` and ``bot.cli.app``
register every command.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer

from bot import __version__

# command name -> (module under bot.commands, attribute, True for a group of subcommands)
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "config": ("config_cmd", "app", True),
    "db": ("db_cmd", "app", True),
    "data": ("data_cmd", "app", True),
    "risk": ("risk_cmd", "app", True),
    "sim": ("sim_cmd", "app", True),
    "scan": ("scan_cmd", "app", True),
    "allocate": ("allocate_cmd", "allocate", False),
    "run": ("run_cmd", "run", False),
    "backtest": ("backtest_cmd", "backtest", False),
    "optimize": ("optimize_cmd", "optimize", False),
    "status": ("control_cmd", "status", False),
    "pause": ("control_cmd", "pause", False),
    "resume": ("control_cmd", "resume", False),
    "kill": ("control_cmd", "kill", False),
}


def version() -> None:
    """Print the rotor version."""
    typer.echo(f"rotor {__version__}")


def _root() -> None:
    """rotor: sector-rotation / laggard trading daemon for USDT perpetual futures."""


def build_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with ``only`` that one (and ``version``)."""
    app = typer.Typer(
        name="rotor",
        help="rotor: sector-rotation / laggard trading daemon for USDT perpetual futures.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    # A callback keeps the app a group even when it holds a single command (``version``).
    app.callback()(_root)
    for name, (module, attr, group) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"bot.commands.{module}"), attr)
        if group:
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)
    app.command("version")(version)
    return app


def requested(argv: Sequence[str]) -> str | None:
    """The command named on the command line, if it is one (options come after it)."""
    return argv[0] if argv and (argv[0] in COMMANDS or argv[0] == "version") else None


def __getattr__(name: str) -> Any:
    """``bot.cli.app``: the full CLI, built on first use (tests drive it with CliRunner)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


def main() -> None:
    """Console-script entry point."""
    build_app(requested(sys.argv[1:]))()


if __name__ == "__main__":
    main()
