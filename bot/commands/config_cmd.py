"""``rotor config check``."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.commands.common import EXIT_CONFIG, ConfigOption, load_config_or_exit, print_json
from bot.config import iter_keys

app = typer.Typer(help="Inspect and validate configuration.", no_args_is_help=True)


@app.command("check")
def check(
    config: Path | None = ConfigOption,
    json_out: bool = typer.Option(False, "--json", help="Print only the JSON config."),
) -> None:
    """Validate the config and print the effective values with secrets masked."""
    settings = load_config_or_exit(config, log=False)
    from bot.risk import validate_risk

    problems = validate_risk(settings)
    if problems:
        typer.echo("error: impossible risk settings\n  " + "\n  ".join(problems), err=True)
        raise typer.Exit(EXIT_CONFIG)
    if not json_out:
        typer.echo("config OK; effective configuration (secrets masked):", err=True)
    print_json(settings.masked_dump())


@app.command("keys")
def keys(
    markdown: bool = typer.Option(False, "--markdown", help="Print a Markdown table."),
) -> None:
    """List every config key with its default (the README's table is generated from this)."""
    rows = list(iter_keys())
    if markdown:
        typer.echo("| key | default | env variable | notes |")
        typer.echo("|---|---|---|---|")
        for key, default, desc in rows:
            env = "ROTOR__" + key.upper().replace(".", "__")
            typer.echo(f"| `{key}` | `{_show(default)}` | `{env}` | {desc} |")
        return
    for key, default, desc in rows:
        note = f"  # {desc}" if desc else ""
        typer.echo(f"{key} = {_show(default)}{note}")


def _show(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | dict) and not value:
        return "[]" if isinstance(value, list) else "{}"
    if isinstance(value, dict):  # as a TOML inline table
        return "{ " + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + " }"
    return str(value)
