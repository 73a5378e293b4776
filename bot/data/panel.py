"""The panel: numpy arrays of symbols × time on a regular 1h grid.

Timing convention (the basis of the no-look-ahead rule, STRATEGY.md):
- ``ts[j]`` is the *open* time of 1h bar j; the bar closes at ``ts[j] + HOUR_MS``.
- Every column at index j is information that is known at the close of bar j:
  OHLCV of bar j, funding settled in ``(ts[j], ts[j] + 1h]`` and open interest stamped in that
  same interval. A decision "at j" may read ``[..., : j + 1]`` and nothing later.
- Missing data is NaN. Funding is NaN where no settlement fell in the bar.

Arrays are C-ordered ``[S, T]`` so each symbol's series is contiguous (TA-Lib wants 1-D rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

HOUR_MS = 3_600_000

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class Panel:
    """Aligned market data for a universe of symbols."""

    symbols: list[str]
    sectors: list[str | None]
    ts: I64  # [T] bar open times, UTC ms, strictly increasing by HOUR_MS
    open: F64  # [S, T]
    high: F64
    low: F64
    close: F64
    volume: F64
    funding: F64  # [S, T] rate per settlement, NaN where none settled in the bar
    funding_interval_h: F64  # [S, T] hours of the settlement's interval (for F8h), NaN where none
    oi: F64  # [S, T] open interest in base units, NaN where unknown
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {s: i for i, s in enumerate(self.symbols)}
        n, t = len(self.symbols), len(self.ts)
        for name in (
            "open",
            "high",
            "low",
            "close",
            "volume",
            "funding",
            "funding_interval_h",
            "oi",
        ):
            arr = getattr(self, name)
            if arr.shape != (n, t):
                raise ValueError(f"panel.{name}: shape {arr.shape}, expected {(n, t)}")

    @property
    def n_symbols(self) -> int:
        return len(self.symbols)

    @property
    def n_bars(self) -> int:
        return len(self.ts)

    def close_time(self, j: int) -> int:
        """When bar j closes (and everything at index j becomes known)."""
        return int(self.ts[j]) + HOUR_MS

    def bar_at_or_before(self, t_ms: int) -> int:
        """Index of the last bar closed at or before ``t_ms`` (−1 if none)."""
        return int(np.searchsorted(self.ts, t_ms - HOUR_MS, side="right")) - 1

    def truncate(self, end: int) -> Panel:
        """A copy holding bars ``[0, end)`` only (for prefix-invariance tests)."""
        return self.window(0, end)

    def window(self, start: int, end: int) -> Panel:
        """A copy holding bars ``[start, end)``."""
        sl = slice(start, end)
        return Panel(
            symbols=list(self.symbols),
            sectors=list(self.sectors),
            ts=self.ts[sl].copy(),
            open=self.open[:, sl].copy(),
            high=self.high[:, sl].copy(),
            low=self.low[:, sl].copy(),
            close=self.close[:, sl].copy(),
            volume=self.volume[:, sl].copy(),
            funding=self.funding[:, sl].copy(),
            funding_interval_h=self.funding_interval_h[:, sl].copy(),
            oi=self.oi[:, sl].copy(),
        )

    @staticmethod
    def empty(symbols: list[str], sectors: list[str | None], ts: I64) -> Panel:
        """A panel of NaNs on the given grid."""
        shape = (len(symbols), len(ts))

        def nan() -> F64:
            return np.full(shape, np.nan, dtype=np.float64)

        return Panel(
            symbols,
            sectors,
            ts.astype(np.int64),
            nan(),
            nan(),
            nan(),
            nan(),
            nan(),
            nan(),
            nan(),
            nan(),
        )
