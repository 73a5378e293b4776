"""The bar step: from the market data to one trading cycle per closed bar.

Each poll reads the feed (tickers, and the klines of a bar that may have closed), moves the
venue clock on, and, once a new bar has closed for the universe, runs the core's cycle on the
panel up to it, with each symbol's current funding interval (RELIABILITY.md #43) and the time
the tickers were last current (frozen tickers block entries, #13). After the cycle the
instruments are re-read, off the path from tickers to orders.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.data.panel import HOUR_MS
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics
from bot.runtime.instruments import refresh_instruments
from bot.runtime.services import Market, Services

log = get_logger("rotor.daemon")


class BarStep:
    """Polls the feed and runs a cycle when a bar has closed; knows whether tickers froze."""

    def __init__(
        self,
        services: Services,
        market: Market,
        metrics: Metrics,
        *,
        now: Callable[[], int],
        observe_venue_time: Callable[[int], None] | None,
    ) -> None:
        self.services = services
        self.market = market
        self.metrics = metrics
        self.now = now
        self.observe_venue_time = observe_venue_time  # None when rotor drives the clock
        self.last_bar_ts = max(market.feed.last_bar_ts.values(), default=0)
        self.tickers_stale = False

    async def cycle_if_new_bar(self) -> bool:
        """Poll the feed; run one cycle when a new bar has closed. Returns True if it did."""
        svc, market = self.services, self.market
        feed = market.feed
        await feed.poll()
        if self.observe_venue_time is not None:
            self.observe_venue_time(feed.venue_ms)
        newest = max(feed.last_bar_ts.values(), default=0)
        if newest:
            closed_age_s = (self.now() - (newest + HOUR_MS)) / 1000
            self.metrics.data_age.labels(feed="klines").set(max(0.0, closed_age_s))
        if newest <= self.last_bar_ts:
            return False
        panel = market.store.panel(end_ts=newest)
        if panel.n_bars == 0:
            self.last_bar_ts = newest
            return False
        j = panel.n_bars - 1
        missing = frozenset(s for s, ts in feed.last_bar_ts.items() if ts < newest)
        # The bar counts as done only once its cycle completed: a cycle that failed (venue or
        # database) is run again at the next poll. That is safe because every cycle starts by
        # reconciling, so what a failed attempt already did is known before it decides again.
        await svc.core.on_bar(
            panel,
            j,
            feed.tickers,
            missing_bars=missing,
            funding_interval_h=self.funding_intervals(),
            ticker_ms=self._ticker_time(newest + feed.tf_ms),
        )
        self.last_bar_ts = newest
        # After the cycle (off the path from tickers to orders): the next cycle trades on them.
        await refresh_instruments(svc)
        return True

    def funding_intervals(self) -> dict[str, float]:
        """Each symbol's funding interval as the venue lists it now (F8h normalisation uses the
        current interval, not the gap between the last two settlements: RELIABILITY.md #43)."""
        return {s: float(i.funding_interval_h) for s, i in self.services.instruments.items()}

    def _ticker_time(self, bar_close_ms: int) -> int:
        """When the market data was current: now, or when tickers froze (#13), so the risk
        manager's stale-data guard blocks entries while prices do not move."""
        feed = self.market.feed
        frozen = feed.tickers_frozen(bar_close_ms)
        if frozen != self.tickers_stale:
            self.tickers_stale = frozen
            self.metrics.data_stale.set(1 if frozen else 0)
            (log.error if frozen else log.warning)(
                "tickers_stale" if frozen else "tickers_fresh",
                last_change_ms=feed.content_changed_ms,
                bar_close_ms=bar_close_ms,
                alert=frozen,
            )
        age_s = max(0, bar_close_ms - feed.content_changed_ms) / 1000
        self.metrics.data_age.labels(feed="tickers").set(age_s if frozen else 0.0)
        return feed.content_changed_ms if frozen else self.now()
