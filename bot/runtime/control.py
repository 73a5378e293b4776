"""The local control API (aiohttp): health, readiness, metrics, status, pause/resume/kill.

``/healthz`` and ``/readyz`` need no token; ``/metrics`` neither (Prometheus scrapes it).
Everything else needs ``Authorization: Bearer <control.token>``, compared in constant time.
Binding anywhere but loopback without a token is refused at config validation and again here.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.config import ControlConfig, is_loopback
from bot.observability.logging import get_logger
from bot.observability.metrics import Metrics

log = get_logger("rotor.control")


class ControlTarget(Protocol):
    """What the control API drives (the daemon)."""

    def status(self) -> dict[str, Any]: ...

    def readiness(self) -> tuple[bool, dict[str, Any]]: ...

    async def pause(self, source: str) -> str: ...

    async def resume(self, source: str) -> str: ...

    async def kill(self, source: str) -> str: ...


class ControlServer:
    """Runs the control API on ``control.host:control.port``."""

    def __init__(self, cfg: ControlConfig, target: ControlTarget, metrics: Metrics) -> None:
        token = cfg.token.get_secret_value() if cfg.token else ""
        if not is_loopback(cfg.host) and not token:
            raise ValueError(f"control.host={cfg.host}: a non-loopback bind needs control.token")
        self._cfg = cfg
        self._token = token.encode()
        self._target = target
        self._metrics = metrics
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_handler)
        app.router.add_get("/status", self._status)
        app.router.add_post("/pause", self._command(self._target.pause))
        app.router.add_post("/resume", self._command(self._target.resume))
        app.router.add_post("/kill", self._command(self._target.kill))
        return app

    async def start(self) -> int:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._cfg.host, self._cfg.port)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._cfg.port
        log.info("control_listening", host=self._cfg.host, port=self.port)
        return int(self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ handlers

    _OPEN = frozenset({"/healthz", "/readyz", "/metrics"})

    @web.middleware
    async def _auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path in self._OPEN:
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        ok = (
            bool(self._token)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(presented.strip().encode(), self._token)
        )
        if not ok:
            log.warning("control_unauthorized", path=request.path, remote=request.remote)
            return web.json_response({"error": "unauthorized"}, status=401)
        return await handler(request)

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        ready, detail = self._target.readiness()
        return web.json_response({"ready": ready, **detail}, status=200 if ready else 503)

    async def _metrics_handler(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _status(self, _request: web.Request) -> web.Response:
        return web.json_response(self._target.status())

    def _command(
        self, action: Callable[[str], Awaitable[str]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_request: web.Request) -> web.Response:
            state = await action("api")
            return web.json_response({"ok": True, "state": state})

        return handler
