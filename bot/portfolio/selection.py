"""Which tokens represent a sector: its leaders among its most-traded members.

A leader is an eligible member with a price, among the sector's ``pool`` most-traded members
(quote volume over the liquidity window, so an illiquid pump is never a "leader"), ranked by
its own return over the momentum window (21 days by default), highest first. Inside one
sector this is the order of the signal's ``gap`` (the return minus the rest of the sector's
mean is increasing in the return), and it is also defined for a sector of one.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.data.panel import Panel
from bot.signals.evaluation import SymbolRow


@dataclass(frozen=True, slots=True)
class Pick:
    """One token chosen for a sector, with what it was ranked on."""

    symbol: str
    sector: str
    momentum: float  # log return over the momentum window
    quote_volume: float  # USDT over the liquidity window
    liquidity_rank: int  # 1 = the sector's most traded


@dataclass(frozen=True, slots=True)
class MarketStats:
    """Per symbol at one bar: USDT traded over the liquidity window and the log return over
    the momentum window (NaN when the window's first or last close is missing)."""

    quote_volume: Mapping[str, float]
    momentum: Mapping[str, float]


def market_stats(panel: Panel, j: int, liquidity_h: int, momentum_h: int) -> MarketStats:
    """Both tables at bar ``j``, from bars ``<= j`` only."""
    lo = max(0, j + 1 - liquidity_h)
    qv = np.nan_to_num(panel.close[:, lo : j + 1] * panel.volume[:, lo : j + 1], nan=0.0)
    then = panel.close[:, j - momentum_h] if j >= momentum_h else np.full(panel.n_symbols, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mom = np.log(panel.close[:, j] / then)
    return MarketStats(
        dict(zip(panel.symbols, qv.sum(axis=1).tolist(), strict=True)),
        dict(zip(panel.symbols, mom.tolist(), strict=True)),
    )


def _usable(r: SymbolRow, stats: MarketStats) -> bool:
    return (
        r.eligible
        and r.close is not None
        and math.isfinite(r.close)
        and r.close > 0
        and math.isfinite(stats.momentum.get(r.symbol, math.nan))
    )


def leaders(
    symbols: Iterable[SymbolRow],
    sector: str,
    stats: MarketStats,
    pool: int,
    n: int,
    exclude: Collection[str] = (),
) -> list[Pick]:
    """The sector's top ``n`` by momentum among its ``pool`` most-traded usable members
    (``exclude``: tokens another bucket already holds)."""
    qv = stats.quote_volume
    members = [
        r for r in symbols if r.sector == sector and r.symbol not in exclude and _usable(r, stats)
    ]
    members.sort(key=lambda r: (-qv.get(r.symbol, 0.0), r.symbol))
    ranked = [
        Pick(r.symbol, sector, stats.momentum[r.symbol], qv.get(r.symbol, 0.0), i + 1)
        for i, r in enumerate(members[:pool])
    ]
    return best_of(ranked, n)


def best_of(picks: Sequence[Pick], n: int) -> list[Pick]:
    """The ``n`` strongest picks by momentum (ties by symbol)."""
    return sorted(picks, key=lambda p: (-p.momentum, p.symbol))[:n]
