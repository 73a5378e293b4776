"""The venue's spot prices for paper trading (``bot.venues.paper``): a keyless ccxt client of
the venue's spot markets, read through the same call policy as the rest of the public data.

Bybit's spot markets are ``category=spot`` on the same API as its perpetuals, Binance's another
API (``/api/v3``); either way the client is a second one, its markets (the USDT spot markets)
loaded once, so the perpetuals' instruments read after every bar stays one listing. Prices
come from one bulk spot-tickers read (``SpotMarkets.fetch_spot_prices``), made by the paper
venue at most once per bar (``SpotPriceFeed``), never one per symbol. The same markets give the
paper engine the venue's spot precision (tick, step, minimum quantity and order value,
``SpotMarketData.spot_rules``), so a paper spot order the venue would refuse is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.data.panel import HOUR_MS
from bot.data.spotmap import spot_symbol_of
from bot.sim.live import LiveEngine
from bot.sim.spot import SpotRules
from bot.venues.ccxt_calls import CcxtClient
from bot.venues.ccxt_client import ClientSpec, build_binance_spot, build_exchange
from bot.venues.ccxt_map import dec
from bot.venues.ccxt_spot import SpotMarkets

MAX_NAMED_TICKERS = 100  # Binance: 1-20 symbols weigh 2, 21-100 weigh 40, more (or all) 80


def spot_client(spec: ClientSpec) -> Any:
    """A ccxt client that lists only the venue's spot markets (no keys are used)."""
    if spec.exchange == "binanceusdm":
        return build_binance_spot(spec)
    ex = build_exchange(spec)
    ex.options["fetchMarkets"] = {"types": ["spot"]}
    ex.options["defaultType"] = "spot"
    return ex


class SpotMarketData(SpotMarkets, CcxtClient):
    """The venue's USDT spot markets and their last prices, keyless."""

    def __init__(self, spec: ClientSpec, **kw: Any) -> None:
        public = replace(spec, api_key=None, api_secret=None)
        super().__init__(public, exchange=spot_client(public), **kw)
        self._spot = {}
        self._spot_ccxt = {}

    async def _spot_source(self) -> Any:
        if not self.ex.markets:
            await self._read("spot_markets", lambda: self.ex.load_markets(), bound=10)
        return self.ex

    def spot_rules(self, symbols: list[str]) -> dict[str, SpotRules]:
        """The precision of each of ``symbols`` (listed exchange ids) as ccxt loaded it from
        the venue's instruments (Bybit instruments-info, Binance exchangeInfo): tick, quantity
        step, minimum quantity, minimum order value. A market without a tick or a step is left
        out (it keeps the derived precision)."""
        out: dict[str, SpotRules] = {}
        for s in symbols:
            info, cs = self._spot.get(s), self._spot_ccxt.get(s)
            if info is None or cs is None:
                continue
            tick = dec(((self.ex.markets.get(cs) or {}).get("precision") or {}).get("price"))
            if tick is None or tick <= 0 or info.qty_step <= 0:
                continue
            out[s] = SpotRules(tick, info.qty_step, info.min_qty, info.min_notional)
        return out

    async def _spot_tickers(self, symbols: list[str]) -> Mapping[str, Any]:
        """One bulk read: the ``symbols`` named (Bybit reads its whole spot category either
        way), or every spot ticker when they are more than ``MAX_NAMED_TICKERS`` (Binance
        weighs both alike then, and a list of hundreds would make a very long URL)."""
        named = symbols if len(symbols) <= MAX_NAMED_TICKERS else None
        tickers: Mapping[str, Any] = await self._read(
            "spot_tickers", lambda: self.ex.fetch_tickers(named, {"type": "spot"})
        )
        return tickers


class SpotPriceFeed:
    """Feeds a ``LiveEngine`` the venue's spot prices: the spot markets of its perpetuals
    that the venue lists, one bulk tickers read when a spot price is needed and the venue's
    clock (the perpetual tickers' time) has entered a new bar since the last read; and their
    precision as the venue lists it (from the markets loaded once, no read of its own)."""

    def __init__(self, data: SpotMarketData, engine: LiveEngine, bar_ms: int = HOUR_MS) -> None:
        self.data = data
        self.engine = engine
        self.bar_ms = bar_ms
        self._bar: int | None = None  # the bar of the last read

    async def refresh(self) -> None:
        """Read the spot prices unless this bar's are already in the engine."""
        bar = self.engine.now_ms // self.bar_ms
        if bar == self._bar:
            return
        listed = await self.data.spot_markets()
        wanted = sorted({spot_symbol_of(p)[0] for p in self.engine.instruments} & set(listed))
        prices = await self.data.fetch_spot_prices(wanted) if wanted else {}
        self.engine.on_spot_rules(self.data.spot_rules(wanted))
        self.engine.on_spot_prices(listed, prices)
        self._bar = bar

    async def close(self) -> None:
        await self.data.close()
