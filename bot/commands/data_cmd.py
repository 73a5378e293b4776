"""``rotor data ...``: check and import data directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import print_json

app = typer.Typer(help="Market data directories: check, import.", no_args_is_help=True)


@app.command("check")
def check(
    directory: Annotated[Path, typer.Argument(help="Data directory (SIM-VENUE.md format).")],
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    fail_on_gaps: bool = typer.Option(False, "--fail-on-gaps", help="Exit 1 when gaps exist."),
    max_funding_gap_h: float = typer.Option(
        8.0, "--max-funding-gap-h", help="Funding intervals longer than this count as gaps."
    ),
) -> None:
    """Report gaps, bad rows and missing columns per file; exit 2 naming any corrupt file."""
    from bot.data.check import EXIT_CORRUPT, check_dir

    report = check_dir(directory, max_funding_gap_h=max_funding_gap_h)
    code = report.exit_code(fail_on_gaps=fail_on_gaps)
    if json_out:
        print_json(report.to_json())
    else:
        typer.echo(report.render())
    if code == EXIT_CORRUPT:
        for f in report.corrupt_files:
            typer.echo(f"error: corrupt file {f.path}: {f.error}", err=True)
        for p in report.problems:
            typer.echo(f"error: {p}", err=True)
    raise typer.Exit(code)
