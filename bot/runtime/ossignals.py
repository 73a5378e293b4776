"""Operator signals: SIGTERM/SIGINT stop, SIGUSR1 pause (REDUCING), SIGUSR2 kill switch,
SIGHUP reload the config; and the kill file (``execution.kill_file``), whose presence requests
the kill switch."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

from bot.observability.logging import get_logger

log = get_logger("rotor.signals")


def install(
    loop: asyncio.AbstractEventLoop,
    *,
    stop: Callable[[], None],
    pause: Callable[[], None],
    kill: Callable[[], None],
    reload: Callable[[], None],
) -> list[signal.Signals]:
    """Route signals to callbacks on the event loop; returns the signals installed."""
    routes: dict[signal.Signals, tuple[str, Callable[[], None]]] = {
        signal.SIGTERM: ("stop", stop),
        signal.SIGINT: ("stop", stop),
        signal.SIGUSR1: ("pause", pause),
        signal.SIGUSR2: ("kill", kill),
        signal.SIGHUP: ("reload", reload),
    }
    installed = []
    for sig, (name, callback) in routes.items():

        def handler(
            sig: signal.Signals = sig, name: str = name, cb: Callable[[], None] = callback
        ) -> None:
            log.warning("signal_received", signal=sig.name, action=name)
            cb()

        loop.add_signal_handler(sig, handler)
        installed.append(sig)
    return installed


def uninstall(loop: asyncio.AbstractEventLoop, sigs: list[signal.Signals]) -> None:
    for sig in sigs:
        loop.remove_signal_handler(sig)


class KillFile:
    """Requests the kill switch when the kill file exists and a kill can start."""

    def __init__(
        self,
        path: Callable[[], Path | str | None],
        armed: Callable[[], bool],
        request: Callable[[], None],
    ) -> None:
        self.path = path  # read at each check: a reload may change it
        self.armed = armed  # no kill requested yet and the account is not HALTED
        self.request = request

    async def check(self) -> None:
        """Request the kill switch when the kill file exists (and the account is not HALTED)."""
        kill_file = self.path()
        if (
            kill_file is not None
            and self.armed()
            and await asyncio.to_thread(Path(kill_file).exists)
        ):
            log.warning("kill_file_found", path=str(kill_file))
            self.request()

    async def watch(self, every_s: float) -> None:
        """Look for the kill file between polls, so it acts within a second (#46)."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.check()
            except OSError as exc:  # an unreadable directory: the loop's own check reports
                log.warning("kill_file_unreadable", error=str(exc))
