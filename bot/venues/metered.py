"""A ``Venue`` wrapper that counts every call and every failure for Prometheus.

``rotor_venue_requests_total{call}`` counts calls by method (``fetch_tickers``, ``create_order``,
…) and ``rotor_venue_errors_total{type}`` counts failures by outcome (transient, rejected,
unknown, fatal). Everything else is forwarded untouched, so the wrapper is invisible to callers.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from bot.observability.metrics import Metrics
from bot.venues.base import VenueError

_CALLS = frozenset(
    {
        "load_instruments",
        "server_time",
        "fetch_tickers",
        "fetch_bars",
        "fetch_funding_history",
        "fetch_open_interest_history",
        "set_leverage",
        "create_order",
        "cancel_order",
        "fetch_order",
        "cancel_order_by_venue_id",
        "fetch_order_by_venue_id",
        "fetch_open_orders",
        "fetch_executions",
        "fetch_order_executions",
        "fetch_positions",
        "fetch_balance",
        "fetch_funding_payments",
        "fetch_cash_flows",
    }
)


class MeteredVenue:
    """Counts calls and failures of the wrapped venue."""

    def __init__(self, venue: Any, metrics: Metrics) -> None:
        self._venue = venue
        self._metrics = metrics
        self.name: str = getattr(venue, "name", "venue")

    @property
    def inner(self) -> Any:
        return self._venue

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._venue, attr)
        if attr not in _CALLS or not callable(value):
            return value
        return self._wrap(attr, value)

    def _wrap(self, call: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        requests = self._metrics.venue_requests.labels(call=call)
        errors = self._metrics.venue_errors

        @functools.wraps(fn)
        async def metered(*args: Any, **kwargs: Any) -> Any:
            requests.inc()
            try:
                return await fn(*args, **kwargs)
            except VenueError as exc:
                errors.labels(type=exc.outcome).inc()
                raise
            except (TimeoutError, OSError):
                errors.labels(type="transient").inc()
                raise

        return metered

    async def close(self) -> None:
        await self._venue.close()
