"""The market-data half of the ccxt venue: client, call policy, instruments, tickers, bars.

See ``ccxt_venue`` for the full picture; this module holds what paper trading needs without
keys (``CcxtMarketData``), and the call policy every request goes through:

- ccxt's rate limiter is on and every HTTP request has ``exchange.timeout_ms``; each call is
  also bounded as a whole (a unified call can make several requests);
- reads are retried ``exchange.max_read_retries`` times with exponential backoff on
  ``TransientError`` only; cancels likewise (idempotent);
- ``create_order`` is never retried: a lost reply is ``UnknownOutcomeError``;
- a 429 slows the *whole client* down (RELIABILITY.md #11): every later request waits out a
  cool-down and is then spaced by an adaptive pace that doubles on each 429 and halves after
  ``PACE_RELAX_S`` quiet seconds, so the venue's budget is not exceeded again and again;
- a Bybit "timestamp outside recvWindow" refusal (retCode 10002, clock skew, #14) re-syncs the
  signing clock from the server time the refusal reports; the request is then retried like any
  transient read (a create is not: it ends Unknown and is resolved by a targeted query).

Bybit's bulk tickers and klines are read through ccxt's implicit endpoints so the reply's
``time`` (server time, simulated time against ``rotor sim serve``) decides which bar is closed.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Self, TypeVar

from bot.config import Settings
from bot.domain import (
    Bar,
    FundingRate,
    Instrument,
    OpenInterest,
    Ticker,
)
from bot.observability.logging import get_logger
from bot.venues.base import (
    FatalError,
    RateLimitedError,
    RejectedError,
    TransientError,
    VenueError,
)
from bot.venues.ccxt_client import ClientSpec, Endpoint, api_base_url, api_host, build_exchange
from bot.venues.ccxt_errors import Op, map_ccxt_error
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
MAX_BACKOFF_S = 8.0
# Client-wide 429 handling: cool-down after a 429, then requests spaced by an adaptive pace.
RATE_LIMIT_COOLDOWN_S = 1.0
PACE_MIN_S = 0.25
PACE_MAX_S = 2.0
PACE_RELAX_S = 30.0
# Bybit 10002: "req_timestamp[...],server_timestamp[...]" in the message gives the skew.
BYBIT_TIMESTAMP_ERROR = "10002"
_SKEW = re.compile(r"req_timestamp\[(\d+)\].*?server_timestamp\[(\d+)\]")
# Sign this far behind the server clock (Bybit accepts server − recvWindow ≤ ts < server + 1 s).
SKEW_MARGIN_MS = 250
MAX_RESYNCS_IN_A_ROW = 3


class ClockSkewError(FatalError):
    """Requests keep failing the venue's recvWindow check even after re-syncing the clock."""


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in one bar of ``timeframe``; ValueError names an unsupported one."""
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValueError(
            f"unsupported timeframe {timeframe!r} (use {sorted(TIMEFRAME_MS)})"
        ) from None


class CcxtMarketData:
    """Market data from a real (or ``rotor sim serve``) exchange through ccxt."""

    def __init__(
        self,
        spec: ClientSpec,
        *,
        exchange: Any | None = None,
        backoff_base_s: float = 0.25,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spec = spec
        self.name: str = spec.exchange
        self.ex: Any = exchange if exchange is not None else build_exchange(spec)
        self._backoff_base_s = backoff_base_s
        self._sleep = sleep
        self._instruments: dict[str, Instrument] = {}
        self._ccxt_symbol: dict[str, str] = {}  # BTCUSDT -> BTC/USDT:USDT
        self._server_offset_ms: int | None = None  # server clock - local clock
        self.calls: Counter[str] = Counter()  # unified calls made, per endpoint name
        self.errors: Counter[str] = Counter()
        # Client-wide rate-limit state (monotonic seconds).
        self._pace_lock = asyncio.Lock()
        self._cooldown_until = 0.0
        self._next_slot = 0.0
        self.pace_s = 0.0
        self._last_429 = 0.0
        self.rate_limited = 0  # 429s seen
        self.clock_resyncs = 0
        self._resyncs_in_a_row = 0

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> Self:
        """The venue for ``settings.mode`` and ``settings.exchange`` (see ``ccxt_client``)."""
        return cls(ClientSpec.from_settings(settings), **kw)

    @classmethod
    def public(cls, exchange: str = "bybit", api_url: str | None = None, **kw: Any) -> Self:
        """Keyless market-data venue (paper data source, ``rotor data download``)."""
        if exchange not in ("bybit", "binanceusdm"):
            raise ValueError(f"exchange: expected bybit or binanceusdm, got {exchange!r}")
        spec_kw = {
            k: kw.pop(k) for k in ("timeout_ms", "max_read_retries", "rate_limit_ms") if k in kw
        }
        return cls(ClientSpec.public(exchange, api_url, **spec_kw), **kw)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ live-safety hooks

    @property
    def endpoint(self) -> Endpoint:
        """mainnet, testnet, demo or custom (``exchange.api_url``)."""
        return self.spec.endpoint

    @property
    def api_host(self) -> str:
        """``host[:port]`` every request goes to, e.g. ``api.bybit.com``."""
        return api_host(self.ex)

    @property
    def api_base_url(self) -> str:
        """The effective REST base URL, e.g. ``https://api-testnet.bybit.com``; give this
        (not ``exchange.api_url``) to ``bot.runtime.safety.check_mode``."""
        return api_base_url(self.ex)

    @property
    def public_only(self) -> bool:
        return not self.spec.has_keys

    def describe(self) -> dict[str, Any]:
        """What this client talks to, for logs, ``/status`` and the start-up safety check."""
        return {
            "exchange": self.name,
            "endpoint": str(self.endpoint),
            "host": self.api_host,
            "base_url": self.api_base_url,
            "public_only": self.public_only,
        }

    # ------------------------------------------------------------------ call policy

    def _bound_s(self, factor: float = 3.0) -> float:
        return self.spec.timeout_ms / 1000 * factor + 1.0

    async def _call(
        self,
        op: Op,
        endpoint: str,
        fn: Callable[[], Awaitable[T]],
        bound: float = 3.0,
        quiet_codes: frozenset[str] = frozenset(),
    ) -> T:
        """One attempt: paced, timeout-bounded, ccxt errors mapped to rotor outcomes."""
        await self._pace()
        self.calls[endpoint] += 1
        try:
            result = await asyncio.wait_for(fn(), self._bound_s(bound))
        except VenueError:
            raise
        except Exception as exc:
            err = map_ccxt_error(exc, op, endpoint)
            self.errors[type(err).__name__] += 1
            if isinstance(err, RateLimitedError):
                self._on_rate_limited()
            elif err.code == BYBIT_TIMESTAMP_ERROR:
                err = self._resync_clock(str(exc), err)
            if err.code in quiet_codes:
                raise err from exc
            log.warning(
                "venue_error",
                venue=self.name,
                endpoint=endpoint,
                outcome=err.outcome,
                error=type(err).__name__,
                code=err.code,
                detail=str(exc)[:300],
            )
            raise err from exc
        self._resyncs_in_a_row = 0
        return result

    async def _pace(self) -> None:
        """Wait out a 429 cool-down and keep the adaptive spacing between requests."""
        if self.pace_s == 0.0 and self._cooldown_until == 0.0:
            return
        async with self._pace_lock:
            now = time.monotonic()
            if self.pace_s and now - self._last_429 > PACE_RELAX_S:
                # Quiet for a while: relax (halve) the pace, back to none eventually.
                self.pace_s = 0.0 if self.pace_s / 2 < PACE_MIN_S else self.pace_s / 2
                self._last_429 = now
            wait = max(self._cooldown_until, self._next_slot) - now
            if wait > 0:
                await self._sleep(wait)
            self._next_slot = time.monotonic() + self.pace_s
            if self._cooldown_until and time.monotonic() >= self._cooldown_until:
                self._cooldown_until = 0.0

    def _on_rate_limited(self) -> None:
        now = time.monotonic()
        self.rate_limited += 1
        self._last_429 = now
        self.pace_s = min(PACE_MAX_S, max(PACE_MIN_S, self.pace_s * 2))
        self._cooldown_until = max(self._cooldown_until, now + RATE_LIMIT_COOLDOWN_S)
        log.warning("venue_rate_limited", venue=self.name, pace_s=round(self.pace_s, 3))

    def _resync_clock(self, text: str, err: VenueError) -> VenueError:
        """Shift the signing clock by the skew a 10002 refusal reports (or give up, loudly)."""
        m = _SKEW.search(text)
        self._resyncs_in_a_row += 1
        if m is None or self._resyncs_in_a_row > MAX_RESYNCS_IN_A_ROW:
            return ClockSkewError(
                f"{err} (clock skew: the venue keeps refusing request timestamps after "
                f"{self._resyncs_in_a_row - 1} re-syncs; check the host clock / NTP)",
                code=err.code,
                endpoint=err.endpoint,
            )
        req_ts, server_ts = int(m.group(1)), int(m.group(2))
        old = int(self.ex.options.get("timeDifference") or 0)
        # ccxt signs with milliseconds() - timeDifference: move that onto the server clock.
        self.ex.options["timeDifference"] = old + (req_ts - server_ts) + SKEW_MARGIN_MS
        self.clock_resyncs += 1
        log.warning(
            "venue_clock_resynced",
            venue=self.name,
            skew_ms=req_ts - server_ts,
            time_difference_ms=self.ex.options["timeDifference"],
        )
        return err

    async def _retrying(
        self,
        op: Op,
        endpoint: str,
        fn: Callable[[], Awaitable[T]],
        bound: float = 3.0,
        quiet_codes: frozenset[str] = frozenset(),
    ) -> T:
        """Reads and cancels: retry on ``TransientError`` with exponential backoff."""
        attempts = 1 + self.spec.max_read_retries
        for attempt in range(attempts):
            try:
                return await self._call(op, endpoint, fn, bound, quiet_codes)
            except TransientError as exc:
                if attempt == attempts - 1:
                    raise
                delay = min(self._backoff_base_s * 2**attempt, MAX_BACKOFF_S)
                if isinstance(exc, RateLimitedError):
                    delay = min(delay * 4, MAX_BACKOFF_S)
                log.info("venue_retry", endpoint=endpoint, attempt=attempt + 1, delay_s=delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def _read(self, endpoint: str, fn: Callable[[], Awaitable[T]], bound: float = 3.0) -> T:
        return await self._retrying("read", endpoint, fn, bound)

    # ------------------------------------------------------------------ helpers

    def now_ms(self) -> int:
        """Best estimate of the venue's clock (simulated time against the simulator)."""
        local = int(time.time() * 1000)
        return local + (self._server_offset_ms or 0)

    def _saw_server_time(self, server_ms: Any) -> None:
        t = num(server_ms)
        if t == t and t > 0:  # not NaN
            self._server_offset_ms = int(t) - int(time.time() * 1000)

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
        markets = await self._read(
            "load_markets", lambda: self.ex.load_markets(reload=True), bound=10
        )
        tiers: dict[str, Any] = {}
        if self.name == "bybit" or self.spec.has_keys:
            try:
                tiers = await self._read(
                    "fetch_leverage_tiers", lambda: self.ex.fetch_leverage_tiers(), bound=10
                )
            except RejectedError as exc:
                log.warning("leverage_tiers_unavailable", venue=self.name, error=str(exc)[:200])
        out: dict[str, Instrument] = {}
        fallback = 0
        for m in markets.values():
            if not is_usdt_linear_perp(m):
                continue
            t = tiers.get(m["symbol"])
            fallback += 0 if t else 1
            inst = to_instrument(m, t, self.ex.precisionMode)
            out[inst.symbol] = inst
            self._ccxt_symbol[inst.symbol] = m["symbol"]
        if fallback:
            log.info("leverage_tiers_fallback", venue=self.name, symbols=fallback)
        self._instruments = out
        return dict(out)

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
        # Binance splits these: 24h tickers, premium index (mark/index/funding), book tops.
        tick, fund, book = await asyncio.gather(
            self._read("tickers", lambda: self.ex.fetch_tickers()),
            self._read("funding_rates", lambda: self.ex.fetch_funding_rates()),
            self._read("bids_asks", lambda: self.ex.fetch_bids_asks()),
        )
        now = self.now_ms()
        out: dict[str, Ticker] = {}
        for sym_id, inst in self._instruments.items():
            cs = self._ccxt_symbol[sym_id]
            if cs in tick:
                out[sym_id] = unified_ticker(inst.symbol, tick[cs], fund.get(cs), book.get(cs), now)
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
            if since_ms is not None:
                params["until"] = since_ms + limit * tf - 1
            ohlcv = await self._read(
                "kline", lambda: self.ex.fetch_ohlcv(cs, timeframe, since_ms, limit, params)
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

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.ex.close()
