"""Operator signals: SIGTERM/SIGINT stop, SIGUSR1 pause (REDUCING), SIGUSR2 kill switch,
SIGHUP reload the config."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

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
