"""Lazy per-cycle market views: a symbol's snapshot is built only when something reads it.

A cycle hands the risk manager and the signal engine the market of the whole universe, but
each only looks at the few symbols it has intents or positions for. Building every snapshot
up front made the per-bar cost grow with the universe (ARCHITECTURE.md, "Speed by design");
these mappings give the same values, computed on first access and cached for the cycle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from bot.domain import Ticker
from bot.risk import MarketSnapshot
from bot.runtime.account import snapshot


class MarketSnapshots(Mapping[str, MarketSnapshot]):
    """``{symbol: MarketSnapshot}`` over the cycle's tickers, each built on first access."""

    __slots__ = ("_cache", "_intervals", "_missing", "_received_ms", "_tickers")

    def __init__(
        self,
        tickers: Mapping[str, Ticker],
        missing: frozenset[str],
        intervals: Mapping[str, float],
        received_ms: int,
    ) -> None:
        self._tickers = tickers
        self._missing = missing
        self._intervals = intervals
        self._received_ms = received_ms
        self._cache: dict[str, MarketSnapshot] = {}

    def __getitem__(self, symbol: str) -> MarketSnapshot:
        snap = self._cache.get(symbol)
        if snap is None:
            snap = snapshot(
                self._tickers[symbol],
                received_ms=self._received_ms,
                interval_h=self._intervals.get(symbol, 8.0),
                missing_bar=symbol in self._missing,
            )
            self._cache[symbol] = snap
        return snap

    def __iter__(self) -> Iterator[str]:
        return iter(self._tickers)

    def __len__(self) -> int:
        return len(self._tickers)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._tickers


class PredictedFunding(Mapping[str, float]):
    """``{symbol: predicted F8h}`` for the symbols whose snapshot carries one."""

    __slots__ = ("_market",)

    def __init__(self, market: Mapping[str, MarketSnapshot]) -> None:
        self._market = market

    def __getitem__(self, symbol: str) -> float:
        f8h = self._market[symbol].funding_8h
        if f8h is None:
            raise KeyError(symbol)
        return float(f8h)

    def __iter__(self) -> Iterator[str]:
        return (s for s, m in self._market.items() if m.funding_8h is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)
