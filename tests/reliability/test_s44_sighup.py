"""#44: SIGHUP with a changed config file. Every reloadable setting takes effect at once (the
risk limits, the strategy, the stop trigger, the unknown-position policy, the data-quality
limits, ...); a change that cannot be applied live (the database, the exchange) is refused
with a message naming it and the old config stays in force. The daemon in-process (its own
``reload``, what the SIGHUP handler calls) and the real ``rotor run`` process."""

from __future__ import annotations

import json
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from bot.config import load_settings
from bot.domain.orders import TriggerBy
from bot.runtime.daemon import Daemon
from tests.integration.daemon.harness import rotor_process
from tests.reliability.daemon_rig import SYMBOLS, trading_sim
from tests.reliability.procs import env as process_env
from tests.reliability.procs import log_events, process_data, sim_process, wait_log


def _toml(sections: dict[str, dict[str, Any]]) -> str:
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def _config(sim: Any, db_url: str, **changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    base: dict[str, dict[str, Any]] = {
        "exchange": {
            "api_url": sim.url,
            "api_key": sim.api_key,
            "api_secret": sim.api_secret,
            "poll_interval_s": 0.05,
            "rate_limit_ms": 0,
            "timeout_ms": 2000,
        },
        "database": {"url": db_url},
        "control": {"enabled": False},
        "strategy": {"preset": "rsi-reversion"},
        "universe": {"symbols": list(SYMBOLS)},
        "risk": {"max_drawdown": 0.15},
        "data": {"max_jump": 1.0},
        "execution": {"stop_trigger_by": "mark", "unknown_position_policy": "adopt"},
    }
    for section, values in changes.items():
        base.setdefault(section, {}).update(values)
    return base


async def test_s44_reload_applies_every_reloadable_setting_and_refuses_the_rest(
    tmp_path: Path, db_url: str
) -> None:
    path = tmp_path / "rotor.toml"
    async with trading_sim(tmp_path) as sim:
        path.write_text('mode = "testnet"\n' + _toml(_config(sim, db_url)))
        d = Daemon(load_settings(path, environ={}), config_path=path, environ={})
        try:
            await d.start()
            assert d.services.core.stops.trigger_by is TriggerBy.MARK

            changed = _config(
                sim,
                db_url,
                risk={"max_drawdown": 0.2},
                data={"max_jump": 2.0},
                execution={"stop_trigger_by": "last", "unknown_position_policy": "refuse"},
                exchange={"poll_interval_s": 0.5},
            )
            path.write_text('mode = "testnet"\n' + _toml(changed))
            d.reload()  # (it reconfigures logging: checked by what it changed)
            assert d.services.core.risk.params.max_drawdown == Decimal("0.2")
            assert d.services.core.stops.trigger_by is TriggerBy.LAST
            assert d.services.reconciler.policy == "refuse"
            assert d.market.store.quality.limits.max_jump == 2.0
            assert d.settings.exchange.poll_interval_s == 0.5

            # The database (and a risk change with it): refused as a whole, nothing applied.
            other = tmp_path / "other.db"
            refused = _config(
                sim,
                f"sqlite+aiosqlite:///{other}",
                risk={"max_drawdown": 0.1},
                execution={"stop_trigger_by": "mark"},
            )
            path.write_text('mode = "testnet"\n' + _toml(refused))
            with capture_logs() as logs:
                d.reload()
            [no] = [e for e in logs if e["event"] == "config_reload_refused"]
            assert any(
                e.startswith("database.url: cannot change while running") for e in no["errors"]
            )
            assert not [e for e in logs if e["event"] == "config_reloaded"]
            assert d.settings.database.url == db_url
            assert d.services.core.risk.params.max_drawdown == Decimal("0.2")
            assert d.services.core.stops.trigger_by is TriggerBy.LAST
        finally:
            await d.shutdown()


async def test_s44_sighup_to_the_process_refuses_a_live_unchangeable_key_and_keeps_running(
    tmp_path: Path, db_url: str
) -> None:
    """The real ``rotor run`` (its settings from the environment and a config file): SIGHUP
    with a changed client id prefix is refused and the daemon trades on; SIGHUP with a
    changed risk limit is applied."""
    data = process_data(tmp_path / "data")
    log = tmp_path / "rotor.log"
    path = tmp_path / "rotor.toml"
    path.write_text(_toml({"risk": {"max_drawdown": 0.15}}))
    env = {"ROTOR_CONFIG": str(path), **process_env()}
    async with sim_process(data) as sim, rotor_process(sim, db_url, log, env) as rotor:
        path.write_text(
            _toml({"risk": {"max_drawdown": 0.15}, "execution": {"client_id_prefix": "zz"}})
        )
        rotor.signal(signal.SIGHUP)
        refused = await wait_log(rotor, "config_reload_refused")
        assert any("execution.client_id_prefix" in e for e in refused["errors"])
        assert (await rotor.status())["state"] == "ACTIVE" and rotor.proc.returncode is None

        path.write_text(_toml({"risk": {"max_drawdown": 0.12}}))
        rotor.signal(signal.SIGHUP)
        done = await wait_log(rotor, "config_reloaded")
        assert done["changed"] == ["risk.max_drawdown"]
        assert not log_events(rotor, "config_reload_rejected")
        rotor.signal(signal.SIGTERM)
        assert await rotor.wait_exit(30) == 0
