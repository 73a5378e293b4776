"""Client-wide protections for the ccxt venue (RELIABILITY.md #11 and #14).

- ``RequestPacer``: a rate-limit answer (Bybit 10006 in an HTTP 200 body, an HTTP 403 per-IP
  limit, an HTTP 429) slows the *whole client*. Every later request first waits out a
  cool-down, then requests are spaced by an adaptive pace that doubles on each 429 (from
  ``PACE_MIN_S`` up to ``PACE_MAX_S``) and halves after ``PACE_RELAX_S`` quiet seconds, so the
  venue's budget is not exceeded again and again.
- ``ClockSync``: a Bybit "timestamp outside recvWindow" refusal (retCode 10002) quotes both the
  request's and the server's timestamps (a Binance -1021 does not: the server time is read);
  the signing clock (ccxt's ``timeDifference``) is moved onto the server's. After ``MAX_RESYNCS_IN_A_ROW`` refusals without a success in between the
  error turns into a ``ClockSkewError`` (fatal): the daemon goes REDUCING instead of looping.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.observability.logging import get_logger
from bot.venues.base import FatalError, VenueError

log = get_logger("rotor.venues.ccxt")

RATE_LIMIT_COOLDOWN_S = 1.0
MAX_COOLDOWN_S = 10.0
# Binance's IP ban (HTTP 418) lasts ``Retry-After`` seconds (2 minutes to 3 days, growing with
# every request sent during it): wait it out, up to this long, before the next request.
MAX_BAN_COOLDOWN_S = 300.0
PACE_MIN_S = 0.25
PACE_MAX_S = 2.0
PACE_RELAX_S = 30.0

BYBIT_TIMESTAMP_ERROR = "10002"
_SKEW = re.compile(r"req_timestamp\[(\d+)\].*?server_timestamp\[(\d+)\]")
# Sign this far behind the server clock (Bybit accepts server − recvWindow ≤ ts < server + 1 s).
SKEW_MARGIN_MS = 250
MAX_RESYNCS_IN_A_ROW = 3


class ClockSkewError(FatalError):
    """Requests keep failing the venue's recvWindow check even after re-syncing the clock."""


class RequestPacer:
    """The client-wide 429 back-off: a cool-down, then an adaptive spacing."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._cooldown_until = 0.0
        self._next_slot = 0.0
        self._last_429 = 0.0
        self.pace_s = 0.0
        self.hits = 0  # 429s seen

    async def wait(self) -> None:
        """Before each request: wait out a cool-down and keep the current spacing."""
        if self.pace_s == 0.0 and self._cooldown_until == 0.0:
            return
        async with self._lock:
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

    def limited(self, venue: str, reset_in_s: float | None = None, *, ban: bool = False) -> None:
        """The venue said "slow down" (Bybit 10006, an HTTP 403 IP limit, an HTTP 429, a
        Binance 418 ban): cool down until the venue's limit window resets (Bybit's
        ``X-Bapi-Limit-Reset-Timestamp``, Binance's ``Retry-After``; at most
        ``MAX_COOLDOWN_S``, ``MAX_BAN_COOLDOWN_S`` for a ban; ``RATE_LIMIT_COOLDOWN_S``
        without it) and slow down."""
        now = time.monotonic()
        self.hits += 1
        self._last_429 = now
        if now >= self._cooldown_until:
            # Requests already in flight when the first refusal came back (Binance polls four
            # at once) are refused in the same window: one event, one doubling of the pace.
            self.pace_s = min(PACE_MAX_S, max(PACE_MIN_S, self.pace_s * 2))
        cool = RATE_LIMIT_COOLDOWN_S if reset_in_s is None else reset_in_s
        cool = min(max(cool, 0.0), MAX_BAN_COOLDOWN_S if ban else MAX_COOLDOWN_S)
        self._cooldown_until = max(self._cooldown_until, now + cool)
        log.warning(
            "venue_rate_limited", venue=venue, pace_s=round(self.pace_s, 3), cooldown_s=cool
        )


def bybit_skew(text: str) -> tuple[int, int] | None:
    """The request and server timestamps a Bybit 10002 refusal quotes."""
    m = _SKEW.search(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


class ClockSync:
    """Keeps ccxt's signing clock on the venue's after recvWindow refusals."""

    def __init__(self) -> None:
        self.resyncs = 0
        self._in_a_row = 0

    def ok(self) -> None:
        """A request went through."""
        self._in_a_row = 0

    def refused(
        self, ex: Any, venue: str, err: VenueError, skew: tuple[int, int] | None
    ) -> VenueError:
        """Shift the signing clock by the ``(request, server)`` timestamps of a recvWindow
        refusal (or give up, loudly, when they are unknown or re-syncs keep failing)."""
        self._in_a_row += 1
        if skew is None or self._in_a_row > MAX_RESYNCS_IN_A_ROW:
            return ClockSkewError(
                f"{err} (clock skew: the venue keeps refusing request timestamps after "
                f"{self._in_a_row - 1} re-syncs; check the host clock / NTP)",
                code=err.code,
                endpoint=err.endpoint,
            )
        req_ts, server_ts = skew
        old = int(ex.options.get("timeDifference") or 0)
        # ccxt signs with milliseconds() - timeDifference: move that onto the server clock.
        ex.options["timeDifference"] = old + (req_ts - server_ts) + SKEW_MARGIN_MS
        self.resyncs += 1
        log.warning(
            "venue_clock_resynced",
            venue=venue,
            skew_ms=req_ts - server_ts,
            time_difference_ms=ex.options["timeDifference"],
        )
        return err
