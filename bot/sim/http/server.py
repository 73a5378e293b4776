"""Running an HTTP face: build the engine from a data directory, serve, pace, stop.

``venue`` picks the face: ``bybit`` (Bybit v5, ``bot.sim.http.bybit``) or ``binanceusdm``
(Binance USDⓈ-M, ``bot.sim.http.binance``); both serve the same engine, with the venue's
account rules (``bot.sim.rules``).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.sim.clock import SimClock, wall_ms
from bot.sim.engine import SimEngine
from bot.sim.faults import FaultInjector
from bot.sim.http.app import build_app
from bot.sim.http.context import SimContext
from bot.sim.http.face import Face
from bot.sim.http.routes_admin import served_paths
from bot.sim.market import SimMarket

VENUES = ("bybit", "binanceusdm")


def face_for(venue: str) -> Face:
    """The face of ``venue`` (``bybit`` or ``binanceusdm``)."""
    if venue == "bybit":
        from bot.sim.http.bybit.face import BybitFace

        return BybitFace()
    if venue == "binanceusdm":
        from bot.sim.http.binance.face import BinanceFace

        return BinanceFace()
    raise ValueError(f"venue: one of {', '.join(VENUES)} (got {venue!r})")


@dataclass
class SimServerConfig:
    """Everything ``rotor sim serve`` takes."""

    data_dir: Path
    api_key: str
    api_secret: str
    host: str = "127.0.0.1"
    port: int = 0
    speed: float = 0.0
    start_ms: int | None = None
    equity: Decimal = Decimal(10000)
    faults: dict[str, Any] | None = None
    symbols: list[str] | None = None
    engine_kwargs: dict[str, Any] = field(default_factory=dict)
    venue: str = "bybit"


def build_context(cfg: SimServerConfig, market: SimMarket | None = None) -> SimContext:
    """Load the data (unless given), build the engine, clock and fault set."""
    if not cfg.api_key or not cfg.api_secret:
        raise ValueError("the simulator needs an API key and secret (clients must sign)")
    face = face_for(cfg.venue)
    mkt = market if market is not None else SimMarket.load(cfg.data_dir, cfg.symbols)
    if cfg.start_ms is not None and not int(mkt.ts[0]) <= cfg.start_ms <= int(mkt.ts[-1]):
        raise ValueError(
            f"start {cfg.start_ms} is outside the data ({int(mkt.ts[0])} .. {int(mkt.ts[-1])})"
        )
    engine = SimEngine(
        mkt, equity=cfg.equity, start_ms=cfg.start_ms, rules=face.rules, **cfg.engine_kwargs
    )
    faults = FaultInjector(face.faults)
    if cfg.faults is not None:
        faults.install(cfg.faults, wall_ms())
    ctx = SimContext(
        engine=engine,
        market=mkt,
        clock=SimClock(engine, cfg.speed),
        api_key=cfg.api_key,
        api_secret=cfg.api_secret,
        face=face,
        faults=faults,
    )
    ctx.freeze_tickers_if_stale()
    return ctx


class SimServer:
    """One running HTTP face (use ``async with`` or ``start``/``stop``)."""

    def __init__(self, ctx: SimContext, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self._pacer: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Bind (port 0 picks a free one), start pacing, return the base URL."""
        app = build_app(self.ctx)
        faults = self.ctx.faults
        if faults.faults:  # re-check the startup set now that the served paths are known
            faults.install(faults.describe(), faults.installed_wall_ms, served_paths(app))
        # Short shutdown so a held (timeout-fault) request cannot delay stopping for long.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._pacer = asyncio.create_task(self.ctx.clock.run(self._stop), name="sim-clock")
        return self.url

    async def stop(self) -> None:
        """Stop pacing and close every connection."""
        self._stop.set()
        if self._pacer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._pacer
            self._pacer = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
