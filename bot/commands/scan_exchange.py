"""``rotor scan --exchange``: fetch just enough recent history from a venue into a Panel."""

from __future__ import annotations

import asyncio
import math
import tempfile
from pathlib import Path

import typer

from bot.commands.common import fail
from bot.config import Settings
from bot.data.panel import Panel
from bot.domain import Instrument


def panel_from_exchange(
    settings: Settings, history_hours: int, exchange: str, api_url: str | None
) -> tuple[Panel, dict[str, Instrument]]:
    """Download the mapped universe's recent 1h bars, funding and OI (public endpoints);
    returns the panel and the venue's perpetual instruments (specs and leverage tiers).

    Only ``history_hours`` (the engine's minimum) are fetched, so the funding-heat
    percentile sees that much history rather than a year; ``--data`` has no such limit.
    """
    from bot.data.build import load_panel
    from bot.data.datadir import DataFileError
    from bot.data.sectors import BENCHMARK, SectorMapError, load_sector_map
    from bot.venues.base import VenueError
    from bot.venues.ccxt_client import ClientConfigError
    from bot.venues.ccxt_venue import CcxtVenue
    from bot.venues.download import download

    try:
        venue = CcxtVenue.public(exchange, api_url, timeout_ms=settings.exchange.timeout_ms)
        smap = load_sector_map(settings.universe.sector_map)
    except (ValueError, ClientConfigError, SectorMapError) as exc:
        fail(str(exc), 2)
    days = math.ceil(history_hours / 24) + 1
    uni = settings.universe

    listed: dict[str, Instrument] = {}

    async def fetch(out: Path) -> tuple[list[str], dict[str, str]]:
        try:
            instruments = await venue.load_instruments()
            listed.update(instruments)
            res = smap.resolve(instruments, log=False)
            symbols = [
                s
                for s in res.universe
                if (not uni.symbols or s in uni.symbols or s == res.benchmark)
                and s not in uni.exclude
            ]
            if not symbols:
                raise ValueError(f"no mapped symbols on {exchange}")
            result = await download(venue, out, symbols, days, concurrency=4)
        finally:
            await venue.close()
        for bad in result.failed:
            typer.echo(f"warning: {bad.symbol} skipped ({bad.error})", err=True)
        # A symbol listed after the window has no candle file: nothing to scan.
        ok = [
            r.symbol
            for r in result.symbols
            if not r.error and (out / "ohlcv" / f"{r.symbol}.parquet").exists()
        ]
        sectors = dict(res.sectors)
        if res.benchmark is not None:
            sectors[res.benchmark] = BENCHMARK
        return ok, sectors

    with tempfile.TemporaryDirectory(prefix="rotor-scan-") as tmp:
        try:
            symbols, sectors = asyncio.run(fetch(Path(tmp)))
            if not symbols:
                fail(f"{exchange}: no symbol could be downloaded")
            return load_panel(Path(tmp), symbols=symbols, sectors=sectors), listed
        except VenueError as exc:
            fail(f"{exchange} ({venue.api_host}): {exc}", 2)
        except (ValueError, DataFileError) as exc:
            fail(str(exc), 2)
