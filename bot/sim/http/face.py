"""A venue face: what one real API looks like on top of the shared engine and middleware.

The shared request pipeline (``bot.sim.http.app``) counts requests, rolls the faults, reads and
authenticates the parameters, runs the handler and answers errors; everything that differs
between Bybit v5 and Binance USDⓈ-M is a method here: which paths it guards, how it signs,
how an error, a maintenance window or a rate limit looks on the wire, its rate-limit headers,
its ticker snapshot (``stale_tickers``) and its fault profile.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sim.faults import Decision, FaultProfile
from bot.sim.rules import VenueRules

if TYPE_CHECKING:
    from bot.sim.http.context import SimContext


class Face(ABC):
    """One venue's HTTP API over the shared engine."""

    name: str
    rules: VenueRules
    faults: FaultProfile
    prefixes: tuple[str, ...]  # the API paths this face serves (faulted, counted, signed)

    def guards(self, path: str) -> bool:
        """Whether ``path`` is one of this face's API paths (admin paths are not)."""
        return path.startswith(self.prefixes)

    @abstractmethod
    def register(self, app: web.Application) -> None:
        """Add the face's routes."""

    @abstractmethod
    async def params(self, request: web.Request, ctx: SimContext) -> dict[str, Any]:
        """The request's parameters, authenticated where the path is private (raises the
        face's own errors, answered by ``error``)."""

    @abstractmethod
    def error(self, ctx: SimContext, path: str, exc: Exception) -> web.Response:
        """The venue's answer to a refused request (any exception: the venue never drops
        the connection on a bug, it answers with its system error)."""

    @abstractmethod
    def injected_error(self, ctx: SimContext, path: str, code: int) -> web.Response:
        """An ``error_rate`` fault's venue error ``code`` in the venue's error body."""

    @abstractmethod
    def limited(self, ctx: SimContext, path: str, d: Decision) -> web.Response:
        """A request refused by a ``rate_limit`` fault of scope ``d.rate_limited``."""

    def maintenance(self, ctx: SimContext, path: str) -> web.Response:
        """A request during a maintenance window."""
        return web.Response(status=503, text="Service Unavailable: venue maintenance (simulated)")

    @abstractmethod
    def headers(
        self, ctx: SimContext, request: web.Request, response: web.StreamResponse, d: Decision
    ) -> web.StreamResponse:
        """Add the venue's rate-limit headers to a reply."""

    @abstractmethod
    def ticker_snapshot(self, ctx: SimContext) -> dict[str, Any]:
        """Every ticker endpoint's full payload now, by path (frozen by ``stale_tickers``)."""
