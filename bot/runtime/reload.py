"""SIGHUP: re-read the config and apply it live (RELIABILITY.md #44).

A setting is either applied at once by ``apply`` (each to the object that reads it), or is
listed in ``NOT_RELOADABLE``: a change to one of those is refused as a whole, with a message
naming the keys, and the old config stays in force. Settings read afresh on every use (the
poll and reconciliation intervals, the kill file, readiness) need nothing here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from bot.data.quality import QualityLimits
from bot.domain.orders import TriggerBy
from bot.observability.logging import configure_logging, get_logger
from bot.risk import RiskManager
from bot.runtime.services import Market, Services
from bot.signals.engine import SignalEngine

log = get_logger("rotor.daemon")

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


def reload(
    settings: Settings, config_path: Path | None, services: Services | None, market: Market | None
) -> Settings:
    """Re-read the config at ``config_path``; returns the settings in force afterwards. An
    invalid one, or one changing a setting that cannot be applied live (the exchange, the
    database, ...), is refused with a message and ``settings`` kept; otherwise every setting
    takes effect at once."""
    try:
        fresh = load_settings(config_path)
        from bot.risk import validate_risk

        problems = validate_risk(fresh)
        if problems:
            raise ConfigError(problems)
    except ConfigError as exc:
        log.error("config_reload_rejected", errors=exc.errors, alert=True)
        return settings
    changed = changed_keys(settings, fresh)
    refused = (
        ["rotor is still starting (send SIGHUP again once it runs)"]
        if services is None
        else refusals(services, fresh, changed)
    )
    if refused or services is None:
        log.error(
            "config_reload_refused",
            errors=refused,
            note="the old configuration stays in force",
            alert=True,
        )
        return settings
    apply(services, market, fresh)
    log.warning("config_reloaded", changed=changed)
    return fresh


def refusals(services: Services, new: Settings, changed: list[str]) -> list[str]:
    """Why ``new`` cannot be applied live (empty: it can)."""
    out = [
        f"{key}: cannot change while running (restart rotor to apply it)"
        for key in changed
        if any(key == p or key.startswith(p + ".") for p in NOT_RELOADABLE)
    ]
    window = SignalEngine.from_settings(new).window_hours
    loaded = services.core.signals.window_hours
    if window > loaded:
        out.append(
            f"strategy: needs {window} hours of bars, {loaded} were loaded "
            "at start-up (restart rotor to apply it)"
        )
    return out


def apply(services: Services, market: Market | None, new: Settings) -> None:
    """Put every reloadable setting into the object that uses it (the daemon keeps ``new``
    as its own settings)."""
    core = services.core
    core.settings = new
    core.risk = RiskManager.from_settings(new)
    core.signals = SignalEngine.from_settings(new)
    ex = new.execution
    core.stops.trigger_by = TriggerBy(ex.stop_trigger_by)
    services.reconciler.policy = ex.unknown_position_policy
    services.orders.unknown_grace_ms = int(ex.order_timeout_s * 2000)
    services.killswitch.max_backoff_s = ex.kill_retry_max_backoff_s
    if market is not None:
        market.store.quality.limits = QualityLimits.from_config(new.data)
    configure_logging(new.logging.level, new.logging.format, new.secrets(), alerts=new.alerts)
