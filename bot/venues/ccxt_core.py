"""The market-data half of the ccxt venue: instruments, tickers, bars, funding, open interest.

See ``ccxt_venue`` for the full picture. ``CcxtMarketData`` is what paper trading needs
without keys; every request goes through the call policy of ``ccxt_calls.CcxtClient``.

Bybit's bulk tickers and klines are read through ccxt's implicit endpoints so the reply's
``time`` (server time, simulated time against ``rotor sim serve``) decides which bar is closed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from typing import Any, TypeVar

from bot.domain import (
    Bar,
    FundingRate,
    Instrument,
    OpenInterest,
    Ticker,
)
from bot.observability.logging import get_logger
from bot.venues.base import (
    RejectedError,
)
from bot.venues.ccxt_calls import CcxtClient
from bot.venues.ccxt_client import ClientSpec
from bot.venues.ccxt_map import (
    bybit_ticker,
    is_usdt_linear_perp,
    num,
    to_instrument,
    unified_ticker,
)

T = TypeVar("T")
log = get_logger("rotor.venues.ccxt")

TIMEFRAME_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}
TIMEFRAME_MS |= {"4h": 4 * 3_600_000, "1d": 24 * 3_600_000}
BYBIT_INTERVAL = {"1m": "1", "5m": "5", "15m": "15", "1h": "60", "4h": "240", "1d": "D"}
MAX_KLINE_LIMIT = 1000
MAX_FUNDING_LIMIT = 200
MAX_OI_LIMIT = 200
# Leverage tiers change by the venue's announcement, not by the bar: the instruments are
# re-read after every bar (RELIABILITY.md #43), their tiers at most this often (Bybit's
# risk-limit list is 13 pages for 300 symbols) or when a market is new since the last read.
TIERS_MAX_AGE_S = 4 * 3600.0


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in one bar of ``timeframe``; ValueError names an unsupported one."""
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValueError(
            f"unsupported timeframe {timeframe!r} (use {sorted(TIMEFRAME_MS)})"
        ) from None


class CcxtMarketData(CcxtClient):
    """Market data from a real (or ``rotor sim serve``) exchange through ccxt."""

    def __init__(self, spec: ClientSpec, **kw: Any) -> None:
        super().__init__(spec, **kw)
        self._instruments: dict[str, Instrument] = {}
        self._ccxt_symbol: dict[str, str] = {}  # BTCUSDT -> BTC/USDT:USDT
        self._tiers: dict[str, Any] = {}
        self._tiers_read: tuple[float, frozenset[str]] | None = None  # monotonic s, markets

    def symbol_of(self, symbol: str) -> str:
        """ccxt unified symbol for an exchange id (``BTCUSDT`` → ``BTC/USDT:USDT``)."""
        if symbol in self._ccxt_symbol:
            return self._ccxt_symbol[symbol]
        if "/" in symbol:
            return symbol
        if symbol.endswith("USDT"):
            base = symbol[: -len("USDT")]
            return f"{base}/USDT:USDT"
        raise RejectedError(f"{symbol}: not a USDT linear perpetual", endpoint="symbol")

    def instrument(self, symbol: str) -> Instrument | None:
        return self._instruments.get(symbol)

    @property
    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    async def _ensure_markets(self) -> None:
        if not self._instruments:
            await self.load_instruments()

    # ------------------------------------------------------------------ market data

    async def load_instruments(self) -> dict[str, Instrument]:
        """Every USDT linear perpetual, with tiers (Bybit: public risk-limit endpoint)."""
        known = dict(self.ex.markets or {})
        markets = await self._read(
            "load_markets", lambda: self.ex.load_markets(reload=True), bound=10
        )
        gone = {k: m for k, m in known.items() if k not in markets}
        if gone:
            # A delisted (settling) symbol drops out of the listing while rotor may still hold
            # its position, orders and fills: ccxt keeps its market so they still parse. It is
            # not returned as an instrument (RELIABILITY.md #43: the caller closes it).
            self.ex.set_markets({**markets, **gone})
        tiers = await self._leverage_tiers(markets)
        intervals = await self._binance_funding_intervals()
        out: dict[str, Instrument] = {}
        fallback = 0
        for m in markets.values():
            if not is_usdt_linear_perp(m):
                continue
            t = tiers.get(m["symbol"])
            fallback += 0 if t else 1
            inst = to_instrument(m, t, self.ex.precisionMode)
            if inst.symbol in intervals:
                inst = dataclasses.replace(inst, funding_interval_h=intervals[inst.symbol])
            out[inst.symbol] = inst
            self._ccxt_symbol[inst.symbol] = m["symbol"]
        if fallback:
            log.info("leverage_tiers_fallback", venue=self.name, symbols=fallback)
        self._instruments = out
        return dict(out)

    async def _leverage_tiers(self, markets: dict[str, Any]) -> dict[str, Any]:
        """The leverage tiers by ccxt symbol: read again when ``TIERS_MAX_AGE_S`` has passed
        or a perpetual is listed that the last read did not know (Binance's are signed, so
        none without keys)."""
        if not (self.name == "bybit" or self.spec.has_keys):
            return {}
        listed = frozenset(s for s, m in markets.items() if is_usdt_linear_perp(m))
        if self._tiers_read is not None:
            at, known = self._tiers_read
            if time.monotonic() - at < TIERS_MAX_AGE_S and listed <= known:
                return self._tiers
        try:
            self._tiers = await self._read(
                "fetch_leverage_tiers", lambda: self.ex.fetch_leverage_tiers(), bound=10
            )
            self._tiers_read = (time.monotonic(), listed)
        except RejectedError as exc:
            log.warning("leverage_tiers_unavailable", venue=self.name, error=str(exc)[:200])
        return self._tiers

    async def _binance_funding_intervals(self) -> dict[str, int]:
        """Binance's funding interval per symbol, in hours: its exchangeInfo has none, so
        ``/fapi/v1/fundingInfo`` (which lists the symbols whose interval is not the default
        8 h); empty on other venues (Bybit's instruments carry ``fundingInterval``)."""
        if self.name != "binanceusdm":
            return {}
        rows = await self._read(
            "funding_info", lambda: self.ex.fapiPublicGetFundingInfo({}), bound=10
        )
        return {
            str(r["symbol"]): max(int(r["fundingIntervalHours"]), 1)
            for r in rows or []
            if r.get("symbol") and r.get("fundingIntervalHours") is not None
        }

    async def server_time(self) -> int:
        t = int(await self._read("fetch_time", lambda: self.ex.fetch_time()))
        self._saw_server_time(t)
        return t

    async def fetch_tickers(self) -> dict[str, Ticker]:
        """One bulk request on Bybit (tickers carry mark, index, funding, next funding, OI)."""
        await self._ensure_markets()
        if self.name == "bybit":
            resp = await self._read(
                "tickers",
                lambda: self.ex.publicGetV5MarketTickers({"category": "linear"}),
            )
            ts = int(num(resp.get("time")))
            self._saw_server_time(ts)
            rows = (resp.get("result") or {}).get("list") or []
            return {
                r["symbol"]: bybit_ticker(r, ts)
                for r in rows
                if r.get("symbol") in self._instruments
            }
        # Binance splits these: last prices, premium index (mark/index/funding), book tops,
        # and none of them says what time the venue answered at (the premium index rows carry
        # their data's time, which a frozen feed freezes too): the server time is read beside
        # them (weight 1), so bars close and frozen tickers are seen on the venue's clock as on
        # Bybit. The last prices come from /fapi/v2/ticker/price (weight 2 for every symbol),
        # not the 24h statistics (weight 40), which rotor does not read.
        server, prices, fund, book = await asyncio.gather(
            self._read("fetch_time", lambda: self.ex.fetch_time()),
            self._read("tickers", lambda: self.ex.fetch_last_prices()),
            self._read("funding_rates", lambda: self.ex.fetch_funding_rates()),
            self._read("bids_asks", lambda: self.ex.fetch_bids_asks()),
        )
        self._saw_server_time(server)
        tick = {cs: {"last": p.get("price")} for cs, p in prices.items()}
        out: dict[str, Ticker] = {}
        for sym_id, inst in self._instruments.items():
            cs = self._ccxt_symbol[sym_id]
            if cs in tick:
                out[sym_id] = unified_ticker(
                    inst.symbol, tick[cs], fund.get(cs), book.get(cs), int(server)
                )
        return out

    async def fetch_bars(
        self, symbol: str, timeframe: str, since_ms: int | None, limit: int
    ) -> list[Bar]:
        """Closed candles, oldest first; never the candle still forming on the venue."""
        tf = timeframe_ms(timeframe)
        limit = max(1, min(limit, MAX_KLINE_LIMIT))
        await self._ensure_markets()
        if self.name == "bybit":
            req: dict[str, Any] = {
                "category": "linear",
                "symbol": symbol,
                "interval": BYBIT_INTERVAL[timeframe],
                "limit": limit,
            }
            if since_ms is not None:
                start = -(-since_ms // tf) * tf  # first bar open at or after since
                req["start"] = start
                req["end"] = start + limit * tf - 1  # at most `limit` bars in the window
            else:
                req["limit"] = min(limit + 1, MAX_KLINE_LIMIT)  # one of them is still open
            resp = await self._read("kline", lambda: self.ex.publicGetV5MarketKline(req))
            server_ms = int(num(resp.get("time")))
            self._saw_server_time(server_ms)
            rows = [
                (int(r[0]), num(r[1]), num(r[2]), num(r[3]), num(r[4]), num(r[5]))
                for r in ((resp.get("result") or {}).get("list") or [])
            ]
        else:
            cs = self.symbol_of(symbol)
            params: dict[str, Any] = {}
            ask = limit
            if since_ms is not None:
                params["until"] = since_ms + limit * tf - 1
            else:
                ask = min(limit + 1, MAX_KLINE_LIMIT)  # the newest one is still open
            ohlcv = await self._read(
                "kline", lambda: self.ex.fetch_ohlcv(cs, timeframe, since_ms, ask, params)
            )
            server_ms = self.now_ms()
            rows = [(int(r[0]), *(num(x) for x in r[1:6])) for r in ohlcv]  # type: ignore[misc]
        rows.sort(key=lambda r: r[0])
        bars = [
            Bar(symbol, ts, o, h, lo, c, v)
            for ts, o, h, lo, c, v in rows
            if ts + tf <= server_ms and (since_ms is None or ts >= since_ms)
        ]
        return bars[-limit:] if since_ms is None else bars[:limit]

    async def fetch_funding_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[FundingRate]:
        """Funding settlements, oldest first, from ``since_ms`` (window sized to the interval)."""
        limit = max(1, min(limit, MAX_FUNDING_LIMIT))
        await self._ensure_markets()
        cs = self.symbol_of(symbol)
        inst = self._instruments.get(symbol)
        span = limit * (inst.funding_interval_h if inst else 8) * 3_600_000
        for _ in range(8):
            params: dict[str, Any] = {}
            if since_ms is not None:
                params["until"] = since_ms + span - 1
            rows = await self._read(
                "funding_history",
                functools.partial(self.ex.fetch_funding_rate_history, cs, since_ms, limit, params),
            )
            # A full page may be the newest `limit` of a longer window (intervals shorter
            # than the instrument says): shrink the window so nothing in between is skipped.
            if since_ms is None or len(rows) < limit or span <= 3_600_000:
                break
            span //= 2
        out = [
            FundingRate(symbol, int(r["timestamp"]), num(r.get("fundingRate")))
            for r in rows
            if r.get("timestamp") is not None
        ]
        out.sort(key=lambda f: f.ts)
        return out

    async def fetch_open_interest_history(
        self, symbol: str, since_ms: int | None, limit: int
    ) -> list[OpenInterest]:
        """Hourly open interest in base units, oldest first."""
        limit = max(1, min(limit, MAX_OI_LIMIT))
        await self._ensure_markets()
        cs = self.symbol_of(symbol)
        params: dict[str, Any] = {}
        if since_ms is not None:
            params["until"] = since_ms + limit * 3_600_000 - 1
        rows = await self._read(
            "open_interest_history",
            lambda: self.ex.fetch_open_interest_history(cs, "1h", since_ms, limit, params),
        )
        out = [
            OpenInterest(symbol, int(r["timestamp"]), num(r.get("openInterestAmount")))
            for r in rows
            if r.get("timestamp") is not None
        ]
        out.sort(key=lambda o: o.ts)
        return out
