"""The spot prices ``rotor allocate`` values coins and sizes spot orders at (issue #20), as the
daemon's rebalance does (``bot.portfolio.rebalance.spot_prices_of``): per perpetual unit, the
spot market's own price where one is known, else the perpetual's close stands in.

- ``--data DIR [--at ISO]``: the data directory's spot files (``spot/<SPOT>.parquet``), the
  last close at or before the panel's last bar (the price when that bar closed);
- ``--exchange``: the venue's spot markets (their precision) and one bulk spot-tickers read
  (keyless: ``bot.venues.paper_spot.SpotMarketData``).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.commands.common import EXIT_CONFIG, fail

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.portfolio.rebalance import SpotMarket


def spot_markets_from_data(
    root: Path | None, perps: list[str], bar_ms: int
) -> dict[str, SpotMarket]:
    """The perpetuals' spot markets that have a spot file, priced at the file's last close
    at or before the bar that opens at ``bar_ms`` (a bad file exits 1 naming it)."""
    from bot.commands.asof import default_data
    from bot.data.datadir import DataDir, DataFileError
    from bot.data.spotfiles import load_spot
    from bot.data.spotmap import spot_symbol_of
    from bot.portfolio.rebalance import default_spot_market

    try:
        loaded = load_spot(DataDir(root if root is not None else default_data()), perps)
    except (DataFileError, ValueError) as exc:
        fail(str(exc))
    out: dict[str, SpotMarket] = {}
    for perp, o in loaded.values():
        k = int(np.searchsorted(o.ts, bar_ms, side="right")) - 1
        if k < 0:
            continue  # the file starts later: no spot price yet, the perpetual's stands in
        unit = Decimal(repr(float(o.close[k]))) * spot_symbol_of(perp)[1]
        out[perp] = replace(default_spot_market(perp, unit), price=unit)
    return out


def spot_markets_from_exchange(
    settings: Settings, exchange: str, api_url: str | None, perps: list[str]
) -> dict[str, SpotMarket]:
    """The perpetuals' spot markets on the venue, at its spot tickers' last prices (exits 2
    when the venue cannot be read)."""
    import asyncio

    from bot.runtime.portfolio_holdings import legs_of
    from bot.venues.base import VenueError
    from bot.venues.ccxt_client import ClientConfigError, ClientSpec
    from bot.venues.paper_spot import SpotMarketData

    try:
        spec = ClientSpec.public(exchange, api_url, timeout_ms=settings.exchange.timeout_ms)  # type: ignore[arg-type]
        data = SpotMarketData(spec)
    except (ValueError, ClientConfigError) as exc:
        fail(f"--exchange: {exc}", EXIT_CONFIG)

    async def read() -> dict[str, SpotMarket]:
        try:
            legs = legs_of(perps, await data.spot_markets())
            coin = await data.fetch_spot_prices(sorted({g.market.symbol for g in legs.values()}))
        finally:
            await data.close()
        return {p: g.planner_market(p, coin.get(g.market.symbol)) for p, g in legs.items()}

    try:
        return asyncio.run(read())
    except VenueError as exc:
        fail(f"{exchange} spot tickers: {exc}", EXIT_CONFIG)
