"""Alerts that reach a person: log events that need an operator, and a daily summary, sent to
the operator's channels (Telegram, Discord, Slack, e-mail, ntfy, any webhook) through apprise.

The dispatcher is a structlog processor at the end of the logging chain, after redaction, so it
sees every event exactly as it is logged and never a secret. What it selects is one rule,
:func:`needs_operator`. Sending never blocks or breaks the trading loop: the processor only puts
a message on a bounded queue (a full queue or the rate limit drops it, counted in
``rotor_alerts_dropped_total``); one worker thread sends with a network timeout per channel.
apprise's own logging is silenced because it can print the channel URLs, which are secrets;
rotor logs the outcome with the URLs' privacy form instead.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from structlog.typing import EventDict, WrappedLogger

if TYPE_CHECKING:
    from bot.config.models import AlertsConfig

log = logging.getLogger("rotor.alerts")

# Trading-state moves an operator must hear about: a breaker, a limit, stale data, a pause or
# the kill switch (REDUCING while it flattens, HALTED once flat) all arrive as this event.
_STATE_EVENT = "trading_state"
_ALERT_STATES = frozenset({"REDUCING", "HALTED"})
# Fields every line carries; they go to the title, not the body.
_ENVELOPE = frozenset({"event", "level", "timestamp", "run_id", "mode", "alert", "logger"})
DROP_REASONS = ("queue_full", "rate_limited", "send_failed")


def needs_operator(event: Mapping[str, Any]) -> bool:
    """The one rule for what reaches a person: ``alert=True``, or a move to REDUCING/HALTED."""
    if event.get("alert") is True:
        return True
    return event.get("event") == _STATE_EVENT and event.get("new") in _ALERT_STATES


@dataclass(frozen=True)
class Message:
    """One notification: title, body and apprise's type (info, warning, failure)."""

    title: str
    body: str
    kind: str


def format_event(event: Mapping[str, Any]) -> Message:
    """An alert event as a short title and a ``key: value`` body."""
    level = str(event.get("level", "warning"))
    title = f"rotor {event.get('mode', '-')}: {event.get('event', '?')}"
    lines = [f"{k}: {v}" for k, v in event.items() if k not in _ENVELOPE]
    lines.append(f"at {event.get('timestamp', '-')} (run {event.get('run_id', '-')})")
    kind = "failure" if level in {"error", "critical"} else "warning"
    return Message(title, "\n".join(lines), kind)


@dataclass
class DailyTally:
    """What the daily summary reports, gathered from the log events of the day."""

    cycles: int = 0
    entries: int = 0
    exits: int = 0
    fills: int = 0
    first_equity: str | None = None
    last_equity: str | None = None
    state: str | None = None
    mode: str = "-"
    alerts: Counter[str] = field(default_factory=Counter)

    def observe(self, event: Mapping[str, Any]) -> None:
        name = event.get("event")
        self.mode = str(event.get("mode", self.mode))
        if name == "cycle_done":
            self.cycles += 1
            self.entries += _count(event.get("entries"))
            self.exits += _count(event.get("exits"))
            equity = event.get("equity")
            if equity is not None:
                self.first_equity = self.first_equity or str(equity)
                self.last_equity = str(equity)
            self.state = str(event.get("state", self.state))
        elif name == "fill_applied":
            self.fills += 1
        elif name == _STATE_EVENT:
            self.state = str(event.get("new", self.state))

    def message(self, day_end: datetime) -> Message:
        alerts = ", ".join(f"{k} {n}" for k, n in self.alerts.most_common()) or "none"
        body = [
            f"24 h to {day_end:%Y-%m-%d %H:%M} UTC",
            f"state: {self.state or 'unknown'}",
            f"equity: {self.last_equity or 'unknown'} (24 h ago: {self.first_equity or 'unknown'})",
            f"cycles: {self.cycles}, entries: {self.entries}, exits: {self.exits}, "
            f"fills: {self.fills}",
            f"alerts: {alerts}",
        ]
        return Message(f"rotor {self.mode}: daily summary", "\n".join(body), "info")


def _count(value: Any) -> int:
    if isinstance(value, int):
        return value
    return len(value) if isinstance(value, list | tuple | dict) else 0


class AlertDispatcher:
    """The logging processor and its sender thread; idle until :meth:`configure` gives URLs."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._urls: list[str] = []
        self._timeout_s = 5.0
        self._per_minute = 20
        self._tokens = 0.0
        self._refilled = 0.0
        self._summary_hour: int | None = None
        self._next_summary: datetime | None = None
        self._tally = DailyTally()
        self.dropped: Counter[str] = Counter()
        self.sent = 0

    # ------------------------------------------------------------------ set-up

    @property
    def enabled(self) -> bool:
        return bool(self._urls)

    def configure(self, cfg: AlertsConfig) -> None:
        """Start sending to ``cfg.urls`` (restarts the sender; no URLs = off)."""
        self.close()
        urls = [u.get_secret_value() for u in cfg.urls if u.get_secret_value()]
        with self._lock:
            self._urls = urls
            self._timeout_s = cfg.timeout_s
            self._per_minute = cfg.max_per_minute
            self._tokens = float(cfg.max_per_minute)
            self._refilled = self._clock()
            self._queue = queue.Queue(maxsize=cfg.queue_size)
            self._summary_hour = cfg.daily_summary_hour
            self._next_summary = self._summary_after(self._now())
            self._tally = DailyTally()
        if urls:
            self._thread = threading.Thread(target=self._run, name="rotor-alerts", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def close(self, timeout_s: float = 3.0) -> None:
        """Send what is queued (within ``timeout_s``), then stop the sender."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout_s)
        thread.join(timeout_s)
        atexit.unregister(self.close)

    def reset(self) -> None:
        """Stop sending and forget URLs and counts (tests; a process configures it once)."""
        self.close()
        with self._lock:
            self._urls = []
            self.dropped.clear()
            self.sent = 0

    # ------------------------------------------------------------------ the processor

    def __call__(self, _logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        if not self._urls:
            return event
        try:
            alert = needs_operator(event)
            with self._lock:
                self._tally.observe(event)
                if alert:
                    self._tally.alerts[str(event.get("event"))] += 1
            if alert:
                self.submit(format_event(event))
        except Exception:  # an alert must never break the line being logged
            self._drop("send_failed")
        return event

    def submit(self, message: Message) -> bool:
        """Queue ``message`` without waiting; False (and counted) when dropped."""
        if not self._take_token():
            self._drop("rate_limited")
            return False
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self._drop("queue_full")
            return False
        return True

    def _take_token(self) -> bool:
        with self._lock:
            now = self._clock()
            rate = self._per_minute / 60.0
            self._tokens = min(self._per_minute, self._tokens + (now - self._refilled) * rate)
            self._refilled = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True

    def _drop(self, reason: str) -> None:
        with self._lock:
            self.dropped[reason] += 1

    # ------------------------------------------------------------------ the sender thread

    def _run(self) -> None:
        notifier = self._notifier()
        while True:
            self._maybe_summarise()
            try:
                message = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            if message is None:
                return
            self._send(notifier, message)

    def _notifier(self) -> Any:
        """An apprise object for the URLs, each channel with the configured timeouts."""
        import apprise

        logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)  # it can print the URLs
        notifier = apprise.Apprise()
        for url in self._urls:
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                log.warning("alert channel not understood by apprise (URL withheld)")
                continue
            plugin.socket_connect_timeout = self._timeout_s
            plugin.socket_read_timeout = self._timeout_s
            notifier.add(plugin)
        return notifier

    def _send(self, notifier: Any, message: Message) -> None:
        try:
            ok = bool(
                notifier.notify(body=message.body, title=message.title, notify_type=message.kind)
            )
        except Exception:
            ok = False
        if ok:
            with self._lock:
                self.sent += 1
            return
        self._drop("send_failed")
        where = ", ".join(str(p.url(privacy=True)) for p in notifier)
        log.warning("alert not delivered to every channel (%s): %s", where, message.title)

    def _maybe_summarise(self) -> None:
        now = self._now()
        with self._lock:
            due = self._next_summary is not None and now >= self._next_summary
            if not due or self._next_summary is None:
                return
            message = self._tally.message(self._next_summary)
            self._next_summary = self._summary_after(now)
            self._tally = DailyTally(
                first_equity=self._tally.last_equity,
                last_equity=self._tally.last_equity,
                state=self._tally.state,
                mode=self._tally.mode,
            )
        self.submit(message)

    def _summary_after(self, now: datetime) -> datetime | None:
        if self._summary_hour is None:
            return None
        at = now.replace(hour=self._summary_hour, minute=0, second=0, microsecond=0)
        return at if at > now else at + timedelta(days=1)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)


ALERTS = AlertDispatcher()
