"""SIGHUP: re-read the config and apply it live (RELIABILITY.md #44).

A setting is either applied at once by ``apply`` (each to the object that reads it), or is
listed in ``NOT_RELOADABLE``: a change to one of those is refused as a whole, with a message
naming the keys, and the old config stays in force. Settings read afresh on every use (the
poll and reconciliation intervals, the kill file, readiness) need nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.data.quality import QualityLimits
from bot.domain.orders import TriggerBy
from bot.observability.logging import configure_logging
from bot.risk import RiskManager
from bot.signals.engine import SignalEngine

if TYPE_CHECKING:
    from bot.runtime.daemon import Daemon

# Key prefixes (dotted) a running daemon cannot change: its venue client, database, control
# server, universe and account modes are built once at start-up.
NOT_RELOADABLE = (
    "mode",
    "exchange.name",
    "exchange.api_key",
    "exchange.api_secret",
    "exchange.api_url",
    "exchange.demo",
    "exchange.timeout_ms",
    "exchange.recv_window_ms",
    "exchange.max_read_retries",
    "exchange.rate_limit_ms",
    "universe",
    "database",
    "control",
    "execution.client_id_prefix",
    "execution.margin_mode",
    "execution.shutdown_timeout_s",
    "sim",
    "backtest",
)


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flat(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def changed_keys(old: Settings, new: Settings) -> list[str]:
    """Dotted keys whose value differs (secrets compared by value, never shown)."""
    a, b = dict(_flat(old.model_dump())), dict(_flat(new.model_dump()))
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def refusals(d: Daemon, new: Settings, changed: list[str]) -> list[str]:
    """Why ``new`` cannot be applied live (empty: it can)."""
    out = [
        f"{key}: cannot change while running (restart rotor to apply it)"
        for key in changed
        if any(key == p or key.startswith(p + ".") for p in NOT_RELOADABLE)
    ]
    window = SignalEngine.from_settings(new).window_hours
    if window > d.signals.window_hours:
        out.append(
            f"strategy: needs {window} hours of bars, {d.signals.window_hours} were loaded "
            "at start-up (restart rotor to apply it)"
        )
    return out


def apply(d: Daemon, new: Settings) -> None:
    """Put every reloadable setting into the object that uses it."""
    d.settings = new
    core = d.core
    core.settings = new
    d.risk = core.risk = RiskManager.from_settings(new)
    d.signals = core.signals = SignalEngine.from_settings(new)
    ex = new.execution
    core.stops.trigger_by = TriggerBy(ex.stop_trigger_by)
    d.reconciler.policy = ex.unknown_position_policy
    d.orders.unknown_grace_ms = int(ex.order_timeout_s * 2000)
    d.killswitch.max_backoff_s = ex.kill_retry_max_backoff_s
    store = getattr(d, "store", None)
    if store is not None:
        store.quality.limits = QualityLimits.from_config(new.data)
    configure_logging(new.logging.level, new.logging.format, new.secrets(), alerts=new.alerts)
