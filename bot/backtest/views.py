"""Per-bar views over the simulator and the panel that the daemon's feed would provide.

The daemon hands each cycle every ticker, the symbols whose latest bar is missing and each
symbol's latest funding interval. These mappings give the same values lazily, so a bar costs
only what the cycle actually reads (ARCHITECTURE.md, "Speed by design").
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np

from bot.data.panel import F64, Panel
from bot.domain import Ticker
from bot.sim.engine import SimEngine


class LazyTickers(Mapping[str, Ticker]):
    """``engine.tickers()`` at the current sim time, each ticker built on first access."""

    __slots__ = ("_cache", "_engine")

    def __init__(self, engine: SimEngine) -> None:
        self._engine = engine
        self._cache: dict[str, Ticker] = {}

    def _trading(self, symbol: str) -> bool:
        eng = self._engine
        if symbol not in eng.market.index or not eng.is_listed(symbol):
            return False
        return math.isfinite(eng.price_float(symbol))

    def __getitem__(self, symbol: str) -> Ticker:
        t = self._cache.get(symbol)
        if t is None:
            if not self._trading(symbol):
                raise KeyError(symbol)
            t = self._cache[symbol] = self._engine.ticker(symbol)
        return t

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and (symbol in self._cache or self._trading(symbol))

    def __iter__(self) -> Iterator[str]:
        return (s for s in self._engine.market.symbols if self._trading(s))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:  # ``tickers or {}`` must not build every ticker
        eng = self._engine
        m, k = eng.market, eng._k
        return bool(np.any((m.first_idx <= k) & (m.last_idx + 1 >= k)))


def latest_interval_table(panel: Panel) -> F64:
    """[S, T] each symbol's most recent funding interval (hours) at every bar, NaN before any.

    Historical data carries no instrument listing, so the backtest reads the interval from the
    settlements; the daemon uses the venue's current interval (``Daemon.funding_intervals``),
    which the data's last interval equals once a settlement on the new grid has happened.
    """
    x = panel.funding_interval_h
    n_t = x.shape[1]
    idx = np.where(np.isnan(x), 0, np.arange(n_t))
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = np.take_along_axis(x, idx, axis=1)
    return np.asarray(out, dtype=np.float64)


class IntervalsAt(Mapping[str, float]):
    """``{symbol: latest funding interval}`` at bar ``j`` (absent where none is known yet)."""

    __slots__ = ("_index", "_j", "_table")

    def __init__(self, table: F64, index: Mapping[str, int], j: int) -> None:
        self._table = table
        self._index = index
        self._j = j

    def __getitem__(self, symbol: str) -> float:
        i = self._index.get(symbol)
        if i is None:
            raise KeyError(symbol)
        v = float(self._table[i, self._j])
        if v != v:
            raise KeyError(symbol)
        return v

    def __iter__(self) -> Iterator[str]:
        return (s for s in self._index if s in self)

    def __len__(self) -> int:
        return int(np.count_nonzero(~np.isnan(self._table[:, self._j])))
