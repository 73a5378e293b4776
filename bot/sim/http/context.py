"""Everything the HTTP handlers share: the engine, its clock, faults, credentials, counters."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sim.clock import SimClock, wall_ms
from bot.sim.engine import SimEngine
from bot.sim.faults import FaultInjector
from bot.sim.http.face import Face
from bot.sim.market import SimMarket

PARAMS: web.RequestKey[dict[str, Any]] = web.RequestKey("venue_params", dict)


@dataclass
class SimContext:
    """State behind one HTTP face."""

    engine: SimEngine
    market: SimMarket
    clock: SimClock
    api_key: str
    api_secret: str
    face: Face
    faults: FaultInjector
    requests: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)  # by "METHOD /path"
    # The venue's request weight served, by "METHOD /path" (Binance's IP weight; Bybit has none).
    weights: Counter[str] = field(default_factory=Counter)
    # Static instrument rows by symbol (they change only with an instrument event).
    instrument_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every ticker endpoint's payload frozen while a stale_tickers fault is active.
    stale_snapshot: dict[str, Any] | None = None
    # Wall time at which each account event (by list) was first visible: consistency_lag.
    walls: dict[str, list[int]] = field(default_factory=dict)
    _stamped: int = 0

    def _event_lists(self) -> dict[str, Sequence[object]]:
        eng = self.engine
        return {
            "exec": eng.executions,
            "funding": eng.funding_payments,
            "order": eng.orders,
            "tx": eng.account.transactions,
        }

    def stamp(self) -> None:
        """Note the wall time at which new account events became visible."""
        eng = self.engine
        n = len(eng.executions) + len(eng.orders) + len(eng.account.transactions)
        if n == self._stamped:
            return  # nothing new (funding always comes with a transaction)
        self._stamped = n
        now = wall_ms()
        for name, seq in self._event_lists().items():
            lst = self.walls.setdefault(name, [])
            if len(lst) < len(seq):
                lst.extend([now] * (len(seq) - len(lst)))

    def visible(self, path: str, name: str) -> int:
        """How many of the account's ``name`` events ``path`` shows: all of them, or under a
        consistency_lag fault only those visible for at least its delay (events are listed
        in the order they happened, so this is a prefix)."""
        seq = self._event_lists()[name]
        lag = self.faults.lag_ms(path)
        if lag <= 0:
            return len(seq)
        self.stamp()
        # No list yet: the account had no event at all when it was last stamped.
        return bisect_right(self.walls.get(name, []), wall_ms() - lag)

    def freeze_tickers_if_stale(self) -> None:
        """Take the stale_tickers snapshot now if such a fault is in effect."""
        if self.stale_snapshot is None and self.faults.tickers_stale(wall_ms()):
            self.stale_snapshot = self.face.ticker_snapshot(self)

    def tickers_for(self, path: str, build: Callable[[], Any]) -> Any:
        """The payload of the ticker endpoint ``path``: fresh, or the snapshot taken when a
        stale_tickers fault began (each stale answer is counted)."""
        now = wall_ms()
        if not self.faults.tickers_stale(now, path):
            if self.stale_snapshot is not None and not self.faults.tickers_stale(now):
                self.stale_snapshot = None
            return build()
        if self.stale_snapshot is None:
            self.stale_snapshot = self.face.ticker_snapshot(self)
        else:
            self.faults.count_stale(path)
        return self.stale_snapshot[path]

    def skew_ms(self, path: str = "*") -> int:
        """The clock_skew offset in effect for ``path``."""
        return self.faults.clock_offset_ms(path)

    def server_wall_ms(self, path: str) -> int:
        """The server's (possibly skewed) wall clock: what recvWindow is checked against."""
        return wall_ms() + self.skew_ms(path)

    def sim_ms(self, path: str = "*") -> int:
        """Simulated time as every reply reports it (skew included)."""
        return self.clock.now_ms() + self.skew_ms(path)


CTX: web.AppKey[SimContext] = web.AppKey("sim_ctx", SimContext)


def ctx_of(request: web.Request) -> SimContext:
    """The context of the app serving ``request``."""
    return request.app[CTX]


def params_of(request: web.Request) -> dict[str, Any]:
    """The parsed (and authenticated) parameters of an API request."""
    return request[PARAMS]
