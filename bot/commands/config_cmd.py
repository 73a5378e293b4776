"""``rotor config check``."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.commands.common import ConfigOption, load_config_or_exit, print_json

app = typer.Typer(help="Inspect and validate configuration.", no_args_is_help=True)


@app.command("check")
def check(
    config: Path | None = ConfigOption,
    json_out: bool = typer.Option(False, "--json", help="Print only the JSON config."),
) -> None:
    """Validate the config and print the effective values with secrets masked."""
    settings = load_config_or_exit(config, log=False)
    if not json_out:
        typer.echo("config OK; effective configuration (secrets masked):", err=True)
    print_json(settings.masked_dump())
