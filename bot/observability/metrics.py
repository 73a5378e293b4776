"""Prometheus metrics (prefix ``rotor_``), one registry per daemon so tests stay isolated.

The Grafana dashboard and the Prometheus config reference exactly these names; a test
cross-checks them against what ``/metrics`` really exposes.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.domain import Position, TradingState
from bot.observability.alerts import ALERTS, DROP_REASONS

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import CounterMetricFamily

CYCLE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric rotor exposes.

    prometheus_client is imported when a daemon builds its metrics, not when a module that
    names this type is imported: a backtest has no metrics and does not load it.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        r = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.registry = r
        self.cycle_latency = Histogram(
            "rotor_cycle_latency_seconds",
            "Bar-close cycle duration.",
            registry=r,
            buckets=CYCLE_BUCKETS,
        )
        self.orders = Counter(
            "rotor_orders_total", "Order status transitions by new status.", ["status"], registry=r
        )
        self.fills = Counter("rotor_fills_total", "Executions applied (once each).", registry=r)
        self.risk_rejections = Counter(
            "rotor_risk_rejections_total",
            "Risk manager rejections by reason code.",
            ["reason"],
            registry=r,
        )
        self.equity = Gauge("rotor_equity_usdt", "Account equity (wallet + uPnL).", registry=r)
        self.drawdown = Gauge(
            "rotor_drawdown_ratio", "Drawdown from peak equity (0..1).", registry=r
        )
        self.exposure = Gauge(
            "rotor_exposure_usdt", "Gross notional by sector.", ["sector"], registry=r
        )
        self.open_risk = Gauge(
            "rotor_open_risk_usdt", "Sum of |entry-stop|*qty by sector.", ["sector"], registry=r
        )
        self.positions_open = Gauge("rotor_positions_open", "Open positions.", registry=r)
        self.data_age = Gauge(
            "rotor_data_age_seconds", "Age of the newest data per feed.", ["feed"], registry=r
        )
        self.venue_requests = Counter(
            "rotor_venue_requests_total", "Venue requests by call.", ["call"], registry=r
        )
        self.venue_errors = Counter(
            "rotor_venue_errors_total", "Venue errors by outcome type.", ["type"], registry=r
        )
        self.trading_state = Gauge(
            "rotor_trading_state", "1 for the current trading state.", ["state"], registry=r
        )
        self.reconcile_discrepancies = Counter(
            "rotor_reconciliation_discrepancies_total",
            "Differences found by reconciliation.",
            ["kind"],
            registry=r,
        )
        self.alerts = Counter("rotor_alerts_total", "Operator alerts raised.", ["kind"], registry=r)
        self.last_cycle = Gauge(
            "rotor_last_cycle_timestamp_seconds",
            "Close time of the last processed bar.",
            registry=r,
        )
        self.asyncio_tasks = Gauge(
            "rotor_asyncio_tasks", "Tasks alive in the daemon's event loop.", registry=r
        )
        self.resident_memory = Gauge(
            "rotor_resident_memory_bytes", "Resident memory of the daemon process.", registry=r
        )
        self.data_stale = Gauge(
            "rotor_data_stale",
            "1 while the market data is stale (tickers frozen or missing): no new entries.",
            registry=r,
        )
        # Read from the alert dispatcher (it lives in the logging chain, not in the daemon).
        r.register(_AlertDeliveries())
        self.set_state(TradingState.ACTIVE)

    def set_state(self, state: TradingState) -> None:
        for s in TradingState:
            self.trading_state.labels(state=s.value).set(1 if s is state else 0)

    def publish_account(
        self, equity: Decimal, peak: Decimal, positions: Iterable[Position], state: TradingState
    ) -> None:
        """The account gauges after a cycle: equity, drawdown, positions, and exposure and open
        risk per sector."""
        self.equity.set(float(equity))
        self.drawdown.set(float(1 - equity / peak) if peak > 0 else 0.0)
        by_sector: dict[str, tuple[Decimal, Decimal]] = {}
        count = 0
        for p in positions:
            count += 1
            sector = p.sector or "unmapped"
            e, r = by_sector.get(sector, (Decimal(0), Decimal(0)))
            risk = abs(p.entry_price - p.stop_price) * p.qty if p.stop_price else Decimal(0)
            by_sector[sector] = (e + p.qty * p.entry_price, r + risk)
        self.positions_open.set(count)
        self.exposure.clear()
        self.open_risk.clear()
        for sector, (e, r) in by_sector.items():
            self.exposure.labels(sector=sector).set(float(e))
            self.open_risk.labels(sector=sector).set(float(r))
        self.set_state(state)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _AlertDeliveries:
    """``rotor_alerts_sent_total`` and ``rotor_alerts_dropped_total{reason}`` (a prometheus
    collector: the registry only calls ``collect``)."""

    def collect(self) -> Iterable[CounterMetricFamily]:
        from prometheus_client.core import CounterMetricFamily

        sent = CounterMetricFamily(
            "rotor_alerts_sent", "Notifications delivered to the operator's channels."
        )
        sent.add_metric([], ALERTS.sent)
        dropped = CounterMetricFamily(
            "rotor_alerts_dropped",
            "Notifications not delivered: queue full, rate limited or the send failed.",
            labels=["reason"],
        )
        for reason in DROP_REASONS:
            dropped.add_metric([reason], ALERTS.dropped[reason])
        return [sent, dropped]
