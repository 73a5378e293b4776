"""The ccxt client and its call policy, which every request goes through:

- ccxt's rate limiter is on and every HTTP request has ``exchange.timeout_ms``; each call is
  also bounded as a whole (a unified call can make several requests);
- reads are retried ``exchange.max_read_retries`` times with exponential backoff on
  ``TransientError`` only; cancels likewise (idempotent);
- ``create_order`` is never retried: a lost reply is ``UnknownOutcomeError``;
- a rate-limit answer (Bybit 10006 in HTTP 200, a 403 per-IP limit, a 429) slows the *whole
  client* down until the venue's window resets and a Bybit recvWindow refusal (10002, clock skew)
  re-syncs the signing clock (``ccxt_guard``); the refused request is then retried like any
  transient read (a create is not: it ends Unknown and is resolved by a targeted query).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any, Self, TypeVar

from bot.config import Settings
from bot.observability.logging import get_logger
from bot.venues.base import (
    FatalError,
    RateLimitedError,
    RejectedError,
    TransientError,
    VenueError,
)
from bot.venues.ccxt_client import ClientSpec, Endpoint, api_base_url, api_host, build_exchange
from bot.venues.ccxt_errors import BINANCE_TIMESTAMP_ERROR, Op, is_ip_ban, map_ccxt_error
from bot.venues.ccxt_guard import BYBIT_TIMESTAMP_ERROR, ClockSync, RequestPacer, bybit_skew
from bot.venues.ccxt_map import num

T = TypeVar("T")
log = get_logger("rotor.venues.ccxt")

MAX_BACKOFF_S = 8.0


class CcxtClient:
    """A ccxt exchange client and the call policy every request goes through."""

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
        self._server_offset_ms: int | None = None  # server clock - local clock
        self.calls: Counter[str] = Counter()  # unified calls made, per endpoint name
        self.errors: Counter[str] = Counter()
        self.pacer = RequestPacer(sleep)
        self.clock_sync = ClockSync()

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
        await self.pacer.wait()
        self.calls[endpoint] += 1
        try:
            result = await asyncio.wait_for(fn(), self._bound_s(bound))
        except VenueError:
            raise
        except Exception as exc:
            err = map_ccxt_error(exc, op, endpoint)
            self.errors[type(err).__name__] += 1
            if isinstance(err, RateLimitedError):
                self.pacer.limited(self.name, self._limit_reset_in_s(), ban=is_ip_ban(exc))
            elif err.code == BYBIT_TIMESTAMP_ERROR:
                err = self.clock_sync.refused(self.ex, self.name, err, bybit_skew(str(exc)))
            elif err.code == BINANCE_TIMESTAMP_ERROR:
                err = self._binance_clock_refused(err)
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
        self.clock_sync.ok()
        return result

    def _limit_reset_in_s(self) -> float | None:
        """Seconds until the venue's limit window resets (Bybit's X-Bapi-Limit-Reset-Timestamp,
        Binance's Retry-After seconds, on the refusing reply), None when the reply did not say."""
        headers = {k.lower(): v for k, v in (self.ex.last_response_headers or {}).items()}
        try:
            if "x-bapi-limit-reset-timestamp" in headers:
                reset_ms = int(headers["x-bapi-limit-reset-timestamp"])
                return (reset_ms - time.time() * 1000) / 1000
            if "retry-after" in headers:
                return float(headers["retry-after"])
        except ValueError:
            return None
        return None

    def _binance_clock_refused(self, err: VenueError) -> VenueError:
        """Binance -1021 (timestamp outside recvWindow) does not quote the server's clock: the
        refusing reply's HTTP ``Date`` (1 s resolution, taken as mid-second) stands in for it,
        then the signing clock moves as for Bybit's 10002. ``/fapi/v1/time`` is not used: on
        the simulator it is simulated time, not the clock signatures are checked against."""
        headers = {k.lower(): v for k, v in (self.ex.last_response_headers or {}).items()}
        skew: tuple[int, int] | None = None
        with contextlib.suppress(TypeError, ValueError, IndexError):
            server_ms = int(parsedate_to_datetime(headers["date"]).timestamp() * 1000) + 500
            signed_ms = int(self.ex.milliseconds()) - int(
                self.ex.options.get("timeDifference") or 0
            )
            skew = (signed_ms, server_ms)
        return self.clock_sync.refused(self.ex, self.name, err, skew)

    @property
    def rate_limited(self) -> int:
        """429s seen by this client."""
        return self.pacer.hits

    @property
    def clock_resyncs(self) -> int:
        """Times the signing clock was moved onto the venue's."""
        return self.clock_sync.resyncs

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

    async def _set_mode(
        self,
        endpoint: str,
        fn: Callable[[], Awaitable[Any]],
        unchanged: str,
        refused: Callable[[RejectedError], str],
        error: type[VenueError] = FatalError,
    ) -> None:
        """An idempotent "set to X" (margin mode, position mode, margin type): retried like a
        cancel; the venue's "not modified" code ``unchanged`` is success; any other refusal
        raises ``error`` with the message ``refused(exc)``."""
        try:
            await self._retrying("cancel", endpoint, fn, quiet_codes=frozenset({unchanged}))
        except RejectedError as exc:
            if exc.code != unchanged:
                raise error(refused(exc), code=exc.code, endpoint=endpoint) from exc

    # ------------------------------------------------------------------ helpers

    def now_ms(self) -> int:
        """Best estimate of the venue's clock (simulated time against the simulator)."""
        local = int(time.time() * 1000)
        return local + (self._server_offset_ms or 0)

    def _saw_server_time(self, server_ms: Any) -> None:
        t = num(server_ms)
        if t == t and t > 0:  # not NaN
            self._server_offset_ms = int(t) - int(time.time() * 1000)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.ex.close()
