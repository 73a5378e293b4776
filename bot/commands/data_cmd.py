"""``rotor data ...``: check and import data directories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import print_json
from bot.commands.download_cmd import download

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


@app.command("import")
def import_(
    src: Annotated[
        list[Path],
        typer.Option("--src", help="freqtrade .feather/.parquet/.csv file or directory."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Data directory to write into.")],
    symbol: Annotated[
        str | None, typer.Option("--symbol", help="Symbol when the file name lacks one.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
) -> None:
    """Convert freqtrade candles / funding rates into the data-directory format (idempotent)."""
    from dataclasses import asdict

    from bot.commands.common import fail
    from bot.data.datadir import DataFileError
    from bot.data.importer import import_paths

    try:
        results = import_paths(src, out, symbol)
    except DataFileError as exc:
        fail(str(exc), 2)
    if json_out:
        print_json([asdict(r) for r in results])
        return
    for r in results:
        if r.skipped:
            typer.echo(f"skipped  {r.src}: {r.skipped}")
            continue
        drops = ", ".join(f"{n} {k}" for k, n in sorted(r.dropped.items()))
        typer.echo(
            f"imported {r.src} -> {r.out}: {r.rows_read} read, {r.rows_new} new, "
            f"{r.rows_total} total" + (f"; dropped {drops}" if drops else "")
        )


app.command("download")(download)
