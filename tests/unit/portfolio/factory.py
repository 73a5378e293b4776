"""Builders for portfolio tests: signal rows and evaluations as the signal engine returns
them (its public types), market statistics and holdings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal as D
from typing import Any

from bot.portfolio.config import PortfolioConfig
from bot.portfolio.selection import MarketStats
from bot.signals.evaluation import Evaluation, RegimeRow, SectorRow, SymbolRow

T0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z


def sector(name: str, **kw: Any) -> SectorRow:
    """A scored, neutral sector unless overridden."""
    base: dict[str, Any] = {
        "sector": name,
        "members": 5,
        "eligible_members": 5,
        "return_7d": 0.01,
        "return_30d": -0.02,
        "rs_7d": 0.01,
        "rs_30d": 0.0,
        "accel": 0.01,
        "oi_flow": 0.0,
        "oi_missing": True,
        "funding_heat": 0.00005,
        "heat_threshold": 0.0005,
        "overheated": False,
        "score": 0.5,
        "leader": False,
        "rotated_out": False,
    }
    base.update(kw)
    return SectorRow(**base)


def accumulating(name: str, score: float = 1.0, **kw: Any) -> SectorRow:
    """OI and price rising, funding low and stable (with members' funding at 0.00005)."""
    base: dict[str, Any] = {"oi_flow": 0.05, "oi_missing": False, "return_7d": 0.04, "rs_7d": 0.03}
    return sector(name, score=score, **(base | kw))


def symbol(name: str, sect: str | None, close: float = 10.0, **kw: Any) -> SymbolRow:
    base: dict[str, Any] = {
        "symbol": name,
        "sector": sect,
        "eligible": True,
        "timeframe": "4h",
        "bar_time": T0 - 4 * 3_600_000,
        "close": close,
        "gap": 0.0,
        "zgap": 0.0,
        "rsi": 50.0,
        "adx": 20.0,
        "atr": close * 0.02,
        "funding_8h": 0.00005,
        "oi_flow": None,
        "candidate": False,
        "confirmed": False,
        "action": "none",
        "reasons": (),
    }
    base.update(kw)
    return SymbolRow(**base)


def members(sect: str, n: int, prefix: str | None = None, close: float = 10.0) -> list[SymbolRow]:
    """``n`` members of ``sect`` named ``<PREFIX><i>USDT``."""
    p = (prefix or sect[:3]).upper()
    return [symbol(f"{p}{i}USDT", sect, close) for i in range(n)]


def core_rows() -> list[SymbolRow]:
    return [
        symbol("BTCUSDT", "benchmark", 90_000.0),
        symbol("ETHUSDT", "l1", 3_000.0),
        symbol("SOLUSDT", "l1", 150.0),
    ]


def evaluation(
    sectors: Iterable[SectorRow],
    symbols: Iterable[SymbolRow],
    *,
    risk_on: bool = False,
    breadth: float | None = 0.5,
) -> Evaluation:
    return Evaluation(
        t=T0,
        index=0,
        preset="rotation-reversion",
        regime=RegimeRow(risk_on, 0.01 if risk_on else -0.01, breadth),
        sectors=list(sectors),
        symbols=list(symbols),
        decisions=[],
        entries=[],
        exits=[],
    )


def stats(
    rows: Iterable[SymbolRow],
    momentum: Mapping[str, float] | None = None,
    volume: Mapping[str, float] | None = None,
) -> MarketStats:
    """Every symbol equally liquid with zero momentum unless given."""
    names = [r.symbol for r in rows]
    mom = {s: 0.0 for s in names} | dict(momentum or {})
    qv = {s: 1e6 for s in names} | dict(volume or {})
    return MarketStats(qv, mom)


def config(**sections: dict[str, Any]) -> PortfolioConfig:
    return PortfolioConfig.model_validate(sections)


def dec(x: str | int) -> D:
    return D(x)
