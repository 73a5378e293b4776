"""The daemon as the control API sees it: ``ControlAdapter`` reads an ``Operated`` (what the
daemon exposes: its state, its start-up products, the operator's commands)."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Protocol

from bot.config import Settings
from bot.domain import TradingState
from bot.risk import Source, StateRequest, TradingStateMachine
from bot.runtime.degraded import Degradation, asyncio_tasks, rss_bytes
from bot.runtime.services import Market, Services


class Operated(Protocol):
    """What the control API reads and commands (``Daemon``). The products are None until
    start-up has built them; the state is there from the first answer."""

    settings: Settings
    run_id: str
    running: bool
    state: TradingStateMachine
    degraded: Degradation
    services: Services | None
    market: Market | None

    @property
    def tickers_stale(self) -> bool: ...

    async def change_state(self, request: StateRequest) -> None: ...

    async def resume(self, source: Source) -> None: ...

    def request_kill(self, source: Source, reason: str = ...) -> None: ...


class ControlAdapter:
    """Implements ``ControlTarget`` over a running daemon."""

    def __init__(self, daemon: Operated) -> None:
        self.d = daemon

    def status(self) -> dict[str, Any]:
        """The daemon's state. It answers from the moment the persisted trading state is
        restored, before the venue has answered anything: until the books are loaded from the
        database and reconciled, ``positions``, ``open_orders`` and ``equity`` are null."""
        d = self.d
        core = None if d.services is None else d.services.core
        report = None if core is None else core.last_report
        balance = None if core is None else core.balance
        return {
            "state": d.state.state.value,
            "phase": "running" if d.running else "starting",
            "mode": d.settings.mode,
            "run_id": d.run_id,
            "equity": None if balance is None else str(balance.equity),
            "positions": None if core is None else self.positions(),
            "open_orders": None if core is None else len(core.orders.open_orders()),
            "last_cycle": None if report is None else report.t,
            "data_age_s": self.data_age_s(),
            "data_stale": d.tickers_stale,
            "storage_ok": d.degraded.storage_ok,
            "asyncio_tasks": asyncio_tasks(),
            "rss_bytes": rss_bytes(),
        }

    def positions(self) -> list[dict[str, Any]]:
        d = self.d
        ticks = d.market.feed.tickers if d.market is not None else {}
        positions = []
        portfolio = d.services.portfolio if d.services is not None else None
        for p in () if portfolio is None else portfolio.positions.values():
            t = ticks.get(p.symbol)
            mark = t.mark if t is not None and math.isfinite(t.mark) else None
            upnl = (
                None if mark is None else float(p.side.sign * p.qty) * (mark - float(p.entry_price))
            )
            positions.append(
                {
                    "symbol": p.symbol,
                    "side": p.side.value,
                    "qty": str(p.qty),
                    "entry_price": str(p.entry_price),
                    "stop_price": None if p.stop_price is None else str(p.stop_price),
                    "liquidation_price": None
                    if p.liquidation_price is None
                    else str(p.liquidation_price),
                    "upnl": upnl,
                }
            )
        return positions

    def data_age_s(self) -> float | None:
        d = self.d
        if d.market is None or d.services is None:
            return None
        if d.services.bundle.drives_clock:
            return 0.0
        age = d.market.feed.stats.age_s("tickers", int(time.time() * 1000))
        return None if math.isinf(age) else round(age, 3)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        d = self.d
        age = self.data_age_s()
        limit = d.settings.exchange.poll_interval_s * d.settings.risk.stale_after_polls
        fresh = age is not None and age <= limit and not d.tickers_stale
        core = None if d.services is None else d.services.core
        synced = core is not None and core.balance is not None
        storage = d.degraded.storage_ok
        ready = fresh and synced and storage
        return ready, {
            "data_fresh": fresh,
            "data_age_s": age,
            "venue_synced": synced,
            "storage_ok": storage,
            "state": d.state.state.value,
        }

    async def pause(self, source: str) -> str:
        await self.d.change_state(
            StateRequest(TradingState.REDUCING, f"PAUSE: {source}", Source(source))
        )
        return self.d.state.state.value

    async def resume(self, source: str) -> str:
        await self.d.resume(Source(source))
        return self.d.state.state.value

    async def kill(self, source: str) -> str:
        self.d.request_kill(Source(source))
        await asyncio.sleep(0)
        return (
            "KILLING" if self.d.state.state is not TradingState.HALTED else self.d.state.state.value
        )
