"""``rotor data download``: public candles, funding and OI through ccxt into a data directory.

Registered on the ``data`` group in ``bot/commands/data_cmd.py``. Needs no API keys.
Exit codes: 0 done, 1 some symbols failed (the rest were saved), 2 bad arguments or the
venue could not be reached at all.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.commands.common import fail, print_json


def download(
    out: Annotated[Path, typer.Option("--out", help="Data directory to write into.")],
    days: Annotated[int, typer.Option("--days", min=1, help="Days of history to hold.")] = 30,
    exchange: Annotated[
        str, typer.Option("--exchange", help="bybit (default) or binanceusdm.")
    ] = "bybit",
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="REST base URL, e.g. a local `rotor sim serve`."),
    ] = None,
    symbols: Annotated[
        str | None, typer.Option("--symbols", help="Comma-separated exchange symbols.")
    ] = None,
    all_symbols: Annotated[
        bool, typer.Option("--all", help="Every USDT linear perpetual on the venue.")
    ] = False,
    open_interest: Annotated[
        bool, typer.Option("--oi/--no-oi", help="Also download hourly open interest.")
    ] = True,
    timeout_ms: Annotated[int, typer.Option("--timeout-ms", min=500)] = 10_000,
    rate_limit_ms: Annotated[
        int | None,
        typer.Option("--rate-limit-ms", min=1, help="Spacing of ccxt's limiter (default: ccxt's)."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=32)] = 4,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Download 1h candles, funding and open interest (resumable, idempotent)."""
    from bot.data.datadir import DataFileError
    from bot.venues.base import VenueError
    from bot.venues.ccxt_client import ClientConfigError
    from bot.venues.ccxt_venue import CcxtVenue
    from bot.venues.download import download as run_download

    if bool(symbols) == all_symbols:
        fail("give exactly one of --symbols A,B or --all", 2)
    wanted = (
        None
        if all_symbols
        else [s.strip().upper() for s in (symbols or "").split(",") if s.strip()]
    )
    if wanted is not None and not wanted:
        fail("--symbols: no symbol given", 2)
    try:
        venue = CcxtVenue.public(
            exchange, api_url, timeout_ms=timeout_ms, rate_limit_ms=rate_limit_ms
        )
    except (ValueError, ClientConfigError) as exc:
        fail(str(exc), 2)

    tty = sys.stderr.isatty() and not json_out

    async def run() -> object:
        try:
            if not tty:
                return await run_download(
                    venue, out, wanted, days, open_interest=open_interest, concurrency=concurrency
                )
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=False,
            ) as bar:
                task = bar.add_task(f"{exchange} → {out}", total=len(wanted) if wanted else None)

                def step(symbol: str) -> None:
                    if bar.tasks[task].total is None:
                        bar.update(task, total=len(venue.instruments))
                    bar.update(task, advance=1, description=f"{exchange} {symbol}")

                return await run_download(
                    venue,
                    out,
                    wanted,
                    days,
                    open_interest=open_interest,
                    concurrency=concurrency,
                    progress=step,
                )
        finally:
            await venue.close()

    try:
        result = asyncio.run(run())
    except (ValueError, DataFileError) as exc:
        fail(str(exc), 2)
    except VenueError as exc:
        fail(f"{exchange} ({venue.api_host}): {exc}", 2)
    from bot.venues.download import DownloadResult

    assert isinstance(result, DownloadResult)
    summary = result.summary()
    if json_out:
        print_json(summary)
    else:
        added = ", ".join(f"{n} {k}" for k, n in sorted(summary["rows_added"].items())) or "nothing"
        typer.echo(f"{len(result.symbols)} symbols into {out}: added {added}")
        for sym, err in summary["failed"].items():
            typer.echo(f"error: {sym}: {err}", err=True)
    if result.failed:
        raise typer.Exit(1)
