"""Real-time pacing of the simulated clock (SIM-VENUE.md, "Clock").

``speed`` is simulated seconds per wall second: 3600 replays one 1h bar per wall second;
``speed == 0`` is manual mode, where only ``POST /sim/advance`` moves time. Between bar
boundaries the reported simulated time moves continuously with the wall clock, but the engine
(and so prices, fills and funding) only steps at whole bars.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

from bot.data.panel import HOUR_MS


class Steppable(Protocol):
    """The part of the engine the clock drives."""

    @property
    def now_ms(self) -> int: ...

    @property
    def at_end(self) -> bool: ...

    def advance(self, bars: int = 1) -> object: ...


def wall_ms() -> int:
    """Wall-clock UTC milliseconds."""
    return time.time_ns() // 1_000_000


class SimClock:
    """Maps wall time onto simulated time and steps the engine bar by bar."""

    def __init__(self, engine: Steppable, speed: float = 0.0, bar_ms: int = HOUR_MS) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.engine = engine
        self.speed = float(speed)
        self.bar_ms = bar_ms
        self._carry_ms = 0.0  # simulated ms accumulated inside the current bar
        self._last_mono = time.monotonic()

    def _accrue(self) -> None:
        now = time.monotonic()
        if self.speed > 0 and not self.engine.at_end:
            self._carry_ms += (now - self._last_mono) * 1000.0 * self.speed
        self._last_mono = now

    def now_ms(self) -> int:
        """Current simulated time: the engine's bar time plus progress inside the bar."""
        self._accrue()
        inside = min(int(self._carry_ms), self.bar_ms - 1) if self.speed > 0 else 0
        return self.engine.now_ms + max(inside, 0)

    def step_due(self) -> int:
        """Advance the engine by every whole bar the wall clock has paid for; return how many."""
        self._accrue()
        n = 0
        while self._carry_ms >= self.bar_ms and not self.engine.at_end:
            self.engine.advance(1)
            self._carry_ms -= self.bar_ms
            n += 1
        if self.engine.at_end:
            self._carry_ms = 0.0
        return n

    def advance(self, bars: int) -> int:
        """Manual step (``POST /sim/advance``); returns the bars actually advanced."""
        done = 0
        for _ in range(bars):
            if self.engine.at_end:
                break
            self.engine.advance(1)
            done += 1
        self._accrue()
        self._carry_ms = 0.0
        return done

    def seconds_to_next_bar(self) -> float:
        """Wall seconds until the next bar boundary (inf in manual mode)."""
        if self.speed <= 0:
            return float("inf")
        return max(self.bar_ms - self._carry_ms, 0.0) / 1000.0 / self.speed

    async def run(self, stop: asyncio.Event) -> None:
        """Pace the engine until ``stop`` is set or the data ends (no-op when manual)."""
        if self.speed <= 0:
            await stop.wait()
            return
        self._last_mono = time.monotonic()
        while not stop.is_set():
            self.step_due()
            if self.engine.at_end:
                await stop.wait()
                return
            delay = min(max(self.seconds_to_next_bar(), 0.001), 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
