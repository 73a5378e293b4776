"""Precomputed signal tables and their lookup by 1h panel index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.data.panel import HOUR_MS, I64
from bot.signals.confirm import Confirm
from bot.signals.layers import Layers
from bot.signals.universe import Universe


@dataclass(frozen=True, slots=True)
class Tables:
    """Layers at some 1h points and confirmation bars, with their offsets in the panel.

    ``layers.at + base`` are panel indices; ``confirm.htf.end_index + ta_base`` are the panel
    indices where each entry-timeframe bar completes.
    """

    universe: Universe
    ts: I64  # panel bar open times covered by the layers window
    base: int
    layers: Layers
    confirm: Confirm
    ta_base: int
    tf_hours: int
    # Per-table lookups built on first use by the backtest's intents-only path.
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def lookup(self, key: str, build: Callable[[], Any]) -> Any:
        """``cache[key]``, built once by ``build()``."""
        v = self.cache.get(key)
        if v is None:
            v = self.cache[key] = build()
        return v

    def column(self, j: int) -> int:
        """Column of panel index ``j`` in the layer arrays (−1 when not computed)."""
        w = j - self.base
        at = self.layers.at
        if 0 <= w < len(at) and int(at[w]) == w:  # every point computed (the backtest)
            return w
        c = int(np.searchsorted(at, w))
        return c if c < len(at) and int(at[c]) == w else -1

    def htf_bar(self, j: int) -> int:
        """Entry-timeframe bar completed at or before panel index ``j`` (−1 if none)."""
        htf = self.confirm.htf
        w = j - self.ta_base
        if 0 <= w < len(htf.last_complete):  # the same search, done once per window
            return int(htf.last_complete.item(w))
        return int(np.searchsorted(htf.end_index, w, side="right")) - 1

    def close_time(self, j: int) -> int:
        return int(self.ts[j - self.base]) + HOUR_MS

    # Whole-window forms of ``column`` and ``htf_bar``, for the vectorised "may act" tests
    # (``bot.signals.select.entry_bars``, ``bot.signals.rules.exit_bars``): entry ``w`` is
    # panel index ``base + w``.

    def columns(self) -> np.ndarray:
        """[W] int: ``column(base + w)`` for every ``w`` of the window."""

        def build() -> np.ndarray:
            out = np.full(len(self.ts), -1, dtype=np.int64)
            at = self.layers.at
            out[at] = np.arange(len(at), dtype=np.int64)
            return out

        return self.lookup("columns", build)  # type: ignore[no-any-return]

    def htf_bars(self) -> np.ndarray:
        """[W] int: ``htf_bar(base + w)`` for every ``w`` of the window."""

        def build() -> np.ndarray:
            w = np.arange(len(self.ts), dtype=np.int64) + (self.base - self.ta_base)
            end = self.confirm.htf.end_index
            return np.searchsorted(end, w, side="right").astype(np.int64) - 1

        return self.lookup("htf_bars", build)  # type: ignore[no-any-return]


def eval_points(close_ms: int, n: int, tf_hours: int) -> list[int]:
    """Close times (UTC ms) of the last ``n`` entry-timeframe bars completed by ``close_ms``."""
    step = tf_hours * HOUR_MS
    last = (close_ms // step) * step
    return [last - r * step for r in range(n)]
